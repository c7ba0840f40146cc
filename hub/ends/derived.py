"""Records the hub derives from its store: indicators per practice model.

The indicators (:mod:`hub.indicators`) are computed from the service episodes, attendance,
assessments, follow-ups and feedback the hub holds; reading those records is logged in the
access log, person by person, with the exchange's purpose. People enter the computation
only as their subject ids. Disclosure control decides which families of figures are
released; the releases are kept in the store (:mod:`hub.store.indicator_releases`), so that
a revision is checked against every earlier one. The released figures then take the path of
any read record — validation, versioned upsert, outbox — so a figure whose value did not
change is not published again. The stream is read whole on every run (``FULL``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterator

from pydantic import ValidationError

from hub import indicators
from hub.adapter import FULL, Batch, NativeRecord, RunContext, Stream
from hub.errors import ConfigError, HubError
from hub.indicators.periods import period_of
from hub.model import (
    Assessment,
    Attendance,
    CanonicalEntity,
    Feedback,
    FollowUp,
    Indicator,
    ServiceEpisode,
)
from hub.store import audit, records
from hub.store import indicator_releases as ledger
from hub.store.records import now

log = logging.getLogger(__name__)


class IndicatorsStream(Stream):
    name = "indicators"
    entity = Indicator
    description = "indicators per practice model, period and municipality, under disclosure control"
    replication = FULL

    def read(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        run = self.adapter.run
        hub, exchange = run.hub, run.exchange
        publication = compute(run, today=dt.date.today())
        with hub.store.transaction() as conn:
            before = ledger.load(conn, hub.keys, exchange.name)
            stored = ledger.save_new(
                conn, hub.keys, exchange.name, before, publication.released, now()
            )
        if stored:
            log.info("%s: %d indicator families released", exchange.name, stored)
        derived = [
            NativeRecord(indicators.native_id(i), i.model_dump(mode="json"))
            for i in sorted(publication.indicators, key=indicators.native_id)
        ]
        for start in range(0, len(derived), batch_size):
            yield Batch(derived[start : start + batch_size], next_cursor=None)

    def to_canonical(self, record: NativeRecord) -> Indicator:
        return Indicator.model_validate(record.data)


#: what the indicators are computed from
SOURCES: tuple[type[CanonicalEntity], ...] = (
    ServiceEpisode,
    Attendance,
    Assessment,
    FollowUp,
    Feedback,
)


def compute(
    run: RunContext, *, today: dt.date, actor: str | None = None, purpose: str | None = None
) -> indicators.Publication:
    """The publication of ``run``'s exchange as of ``today``: its inputs read from the store
    (the reading logged under ``actor`` and ``purpose``, by default the exchange's), checked
    against the exchange's earlier releases, which are not changed here."""
    hub, exchange = run.hub, run.exchange
    purpose = purpose or (
        f"aggregate indicators for {exchange.target} under: {exchange.legal_basis}"
    )
    tokens: dict[str, str] = {}
    loaded = {
        entity: load_logged(
            run, entity, action="aggregate", purpose=purpose, actor=actor, tokens=tokens
        )
        for entity in SOURCES
    }
    with hub.store.transaction() as conn:
        released = ledger.load(conn, hub.keys, exchange.name)
    _check_periods(exchange.name, released, hub.config.indicators)
    inputs = indicators.Inputs(*(loaded[entity] for entity in SOURCES))
    return indicators.publish(
        inputs,
        policy=hub.config.indicators,
        today=today,
        released=released,
        person=functools.partial(_token, tokens),
    )


def _token(tokens: dict[str, str], hetu: str) -> str:
    """The person's subject id; never the identity code, not even in an error."""
    try:
        return tokens[hetu]
    except KeyError:
        raise HubError("a record about a person has no subject id in the store") from None


def _check_periods(exchange: str, released: dict, policy: indicators.Policy) -> None:
    """Refuse a period length other than the one the exchange released under: quarters and
    half-years published side by side could be differenced."""
    for model, start, end, _group in released:
        period = period_of(dt.date.fromisoformat(start), policy)
        if (period.start.isoformat(), period.end.isoformat()) != (start, end):
            raise ConfigError(
                f"indicators: period: {policy.period} does not fit the periods {exchange} "
                f"has released (e.g. {model} {start}–{end}); overlapping periods could be "
                "differenced to single people — keep the period the releases were made with"
            )


def load_logged(
    run: RunContext,
    entity: type[CanonicalEntity],
    *,
    action: str,
    purpose: str,
    actor: str | None = None,
    tokens: dict[str, str] | None = None,
) -> list:
    """Every stored record of ``entity`` as a model, its reading written to the access log
    (``action``, ``purpose``: the exchange's; ``actor``, by default the exchange) person by
    person, for a stream that derives records from the store. ``tokens`` collects each
    person's subject id by identity code."""
    hub, exchange = run.hub, run.exchange
    out, seen = [], []
    with hub.store.transaction() as conn:
        for rec in records.iter_entity(conn, hub.keys, entity.entity_name):
            try:
                out.append(entity.model_validate(rec.data))
            except ValidationError:  # stored under an older model: left out, not fatal
                log.warning(
                    "%s: record %s is not a valid %s today; left out",
                    exchange.name,
                    rec.id,
                    entity.entity_name,
                )
                continue
            if rec.subject_id:
                seen.append(audit.Access(rec.subject_id, rec.id))
                if tokens is not None and (hetu := out[-1].subject()):
                    tokens[str(hetu)] = str(rec.subject_id)
        audit.log_access(
            conn,
            actor=actor or f"exchange:{exchange.name}",
            action=action,
            purpose=purpose,
            items=seen,
            exchange=exchange.name,
        )
    return out
