"""A run of an exchange: check, extract, deliver, with a run record in the store.

The Airflow DAG calls :func:`run_phase` once per task with the DAG run's id, so the tasks of
one DAG run share one run record; ``hub exchanges run`` calls :func:`run_exchange`.

A store held by someone else past its time limits (:class:`hub.errors.StoreBusy`) may keep
the run record from being opened or from recording the failure: the run then ends in that
error, raised as it is, so Airflow's task retry (or the operator) runs it again later.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select

from hub.engine.context import Hub
from hub.engine.deliver import deliver
from hub.engine.extract import extract
from hub.engine.lease import holding, note_run
from hub.errors import ConfigError, HubError, describe
from hub.exchanges import check_against_adapters
from hub.privacy import redact
from hub.store import deadletters, runs
from hub.store import schema as t
from hub.store.leases import ExchangeBusy

log = logging.getLogger(__name__)
PHASES = ("check", "extract", "deliver")


class CheckFailed(HubError):
    """A system of the exchange does not answer as expected."""


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    exchange: str
    state: str
    read: int
    upserted: int
    unchanged: int
    delivered: int
    skipped: int
    failed: int
    #: records and parts of records the legal basis did not cover (never sent)
    held_back: int
    open_dead_letters: int
    error: str | None


def check(hub: Hub, exchange_name: str) -> None:
    exchange = hub.config.exchange(exchange_name)
    problems = check_against_adapters(hub.config)
    if problems:
        raise ConfigError("; ".join(problems))
    for system in dict.fromkeys((exchange.source, exchange.target)):
        with hub.adapter(system, exchange) as adapter:
            result = adapter.check()
        if not result.ok:
            raise CheckFailed(f"{exchange_name}: {system} is not reachable: {result.detail}")
        log.info("%s: %s answers: %s", exchange_name, system, result.detail)


def run_phase(hub: Hub, exchange_name: str, phase: str, external_id: str, *, last: bool) -> str:
    """Run one phase within the run of ``external_id``; ``last`` closes the run. The phase
    holds the exchange's lease (:mod:`hub.engine.lease`): when another run holds it, this
    one ends with :class:`ExchangeBusy` before it opens a run record."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}")
    exchange = hub.config.exchange(exchange_name)
    with holding(hub, exchange.name, holder=f"run {external_id}"):
        with hub.store.transaction() as conn:  # a busy store raises StoreBusy: no run to record
            run_id = runs.open_run(conn, exchange.name, external_id)
        note_run(hub, run_id)
        try:
            if phase == "check":
                check(hub, exchange_name)
            elif phase == "extract":
                extract(hub, exchange, run_id)
            else:
                deliver(hub, exchange, run_id)
        except Exception as exc:
            _record_failure(hub, exchange_name, run_id, f"{phase}: {describe(exc)}")
            raise
        if last:  # success, or success_with_failures when records failed (dead letters)
            with hub.store.transaction() as conn:
                runs.complete_run(conn, run_id)
    return run_id


def _record_failure(hub: Hub, exchange_name: str, run_id: str, error: str) -> None:
    """Mark the run failed, if the store lets us: when it is still locked, the error that
    ended the run matters more than its record, so that error is what the caller sees (a
    run left "running" is marked failed by the next run of the exchange)."""
    try:
        with hub.store.transaction() as conn:
            runs.finish_run(conn, run_id, "failed", error)
    except Exception as exc:
        log.warning(
            "%s: could not record the failure of run %s: %s", exchange_name, run_id, redact(exc)
        )


def run_exchange(
    hub: Hub,
    exchange_name: str,
    *,
    external_id: str | None = None,
    phases: tuple[str, ...] = PHASES,
    wait: float | None = None,
) -> RunSummary:
    """Run ``phases`` of an exchange in this process and summarise the run.

    Another run of the exchange holding its lease past ``wait`` seconds (default
    ``HUB_LEASE_WAIT``) ends this one before it starts: :class:`ExchangeBusy`.

    A run whose phases all ran ends ``success``, or ``success_with_failures`` when records
    failed (they wait as dead letters). A failure the run records is in the summary (state
    ``failed``, with the error). One the store could not record, because the store itself
    was busy (the run could not be opened, or its failure not written, or the run not read
    back), is raised as it is."""
    hub.config.exchange(exchange_name)  # an unknown name is a ConfigError, not a failed run
    external_id = external_id or f"manual__{dt.datetime.now(dt.UTC).isoformat()}"
    failure: Exception | None = None
    try:
        with holding(hub, exchange_name, holder=f"run {external_id}", wait=wait):
            for i, phase in enumerate(phases):
                run_phase(hub, exchange_name, phase, external_id, last=i == len(phases) - 1)
    except ExchangeBusy:
        raise  # not this run's failure: it never started
    except Exception as exc:
        failure = exc
    try:
        summary = _find_summary(hub, exchange_name, external_id)
    except Exception as exc:
        if failure is None:
            raise
        log.warning("%s: could not read the run back: %s", exchange_name, redact(exc))
        summary = None
    if failure is not None:
        if summary is None or summary.state != "failed":
            raise failure  # the store did not record it: the error itself says what happened
        log.error("%s failed: %s", exchange_name, redact(failure))
    if summary is None:
        raise HubError(f"{exchange_name}: no run {external_id} (no phase ran)")
    return summary


def summarise(hub: Hub, exchange_name: str, external_id: str) -> RunSummary:
    summary = _find_summary(hub, exchange_name, external_id)
    if summary is None:
        raise HubError(f"{exchange_name}: no run {external_id}")
    return summary


def _find_summary(hub: Hub, exchange_name: str, external_id: str) -> RunSummary | None:
    """The summary of the run of ``external_id``; None when there is no such run."""
    with hub.store.transaction() as conn:
        row = conn.execute(
            select(t.runs).where(
                t.runs.c.exchange == exchange_name, t.runs.c.external_id == external_id
            )
        ).first()
        if row is None:
            return None
        open_letters = deadletters.open_count(conn, exchange_name)
    return RunSummary(
        run_id=row.id,
        exchange=exchange_name,
        state=row.state,
        read=row.read,
        upserted=row.upserted,
        unchanged=row.unchanged,
        delivered=row.delivered,
        skipped=row.skipped,
        failed=row.failed,
        held_back=row.held_back,
        open_dead_letters=open_letters,
        error=row.error,
    )
