"""Sending a batch to the target with retries: a transient failure of the whole call, or of
single items, is retried with the same idempotency keys; a batch the target refuses as
invalid is sent again record by record, so that only the bad ones fail."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hub.adapter import Outcome, Stream, WriteItem, WriteOutcome
from hub.engine.retry import retrying
from hub.errors import PermanentError, TransientError
from hub.exchanges import Exchange

log = logging.getLogger(__name__)


def send(
    stream: Stream, writes: Sequence[WriteItem], exchange: Exchange
) -> dict[str, WriteOutcome]:
    """Send with retries. A transient failure of the whole call, or of single items, is
    retried (same keys) with backoff honouring Retry-After; what remains transient after the
    last attempt is returned as transient. When the target refuses the whole batch as
    invalid, the records are sent one by one, so that only the bad ones fail."""
    try:
        return _send_batch(stream, writes, exchange)
    except PermanentError as exc:
        if len(writes) == 1:
            key = writes[0].idempotency_key
            return {key: WriteOutcome.permanent(key, str(exc))}
        log.warning("%s: batch refused (%s); sending its records one by one", exchange.name, exc)
    results: dict[str, WriteOutcome] = {}
    for w in writes:
        results.update(send(stream, [w], exchange))
    return results


def _send_batch(
    stream: Stream, writes: Sequence[WriteItem], exchange: Exchange
) -> dict[str, WriteOutcome]:
    waiting = {w.idempotency_key: w for w in writes}
    results: dict[str, WriteOutcome] = {}
    try:
        for attempt in retrying(exchange.max_attempts, exchange.max_wait_seconds):
            with attempt:
                outcomes = stream.write(list(waiting.values()))
                by_key = {o.idempotency_key: o for o in outcomes}
                missing = set(waiting) - set(by_key)
                if missing:
                    raise TransientError(
                        f"{stream.system}/{stream.name} returned no outcome for {len(missing)} "
                        "records"
                    )
                retry_after = None
                for key in list(waiting):
                    outcome = by_key[key]
                    results[key] = outcome
                    if outcome.outcome != Outcome.TRANSIENT:
                        del waiting[key]
                    elif outcome.retry_after is not None:
                        retry_after = max(retry_after or 0, outcome.retry_after)
                if waiting:
                    raise TransientError(
                        f"{len(waiting)} records failed transiently: "
                        f"{results[next(iter(waiting))].reason}",
                        retry_after=retry_after,
                    )
    except TransientError as exc:
        for key in waiting:
            if key not in results or results[key].outcome != Outcome.TRANSIENT:
                results[key] = WriteOutcome.transient(key, str(exc))
    return results
