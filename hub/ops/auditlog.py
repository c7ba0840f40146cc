"""The daily verification of the access and disclosure logs, for the ``hub_health`` DAG: once
a day it runs :func:`hub.audit.verify.verify_store` (which seals a checkpoint when all is
intact and a seal key is configured); when the logs fail, it alerts through every configured
channel (:mod:`hub.ops.alerts`) and raises :class:`LogsTampered`, so that the Airflow task
fails.

Each verification is recorded in the store (``log_verifications``), which every worker
shares: the DAG runs every 15 minutes, on whichever worker, and the verification reads every
log row, so once a day is enough. Alerts name tables, row ids and chain entries, never client
data.
"""

from __future__ import annotations

import datetime as dt
import logging

from hub.errors import HubError
from hub.ops.alerts import LOGS_TAMPERED, Alert, AlertSettings, dispatch

log = logging.getLogger(__name__)
#: how often the logs are verified
EVERY = dt.timedelta(days=1)
#: problems an alert lists (the rest: ``hub audit verify``)
ALERT_PROBLEMS = 10


class LogsTampered(HubError):
    """The access or disclosure logs do not verify: something was altered unseen."""


def due(hub, at: dt.datetime | None = None) -> bool:
    """Whether a day has passed since the last verification (or there was none)."""
    from sqlalchemy import func, select

    from hub.store import schema as t

    at = at or dt.datetime.now(dt.UTC)
    with hub.store.transaction() as conn:
        last = conn.execute(select(func.max(t.log_verifications.c.at))).scalar()
    if last is None:
        return True
    if last.tzinfo is None:  # SQLite gives naive UTC back
        last = last.replace(tzinfo=dt.UTC)
    return at - last >= EVERY


def _record(hub, report, at: dt.datetime) -> None:
    from hub.store import schema as t

    with hub.store.transaction() as conn:
        conn.execute(
            t.log_verifications.insert().values(
                at=at,
                intact=int(report.intact),
                head_seq=report.head_seq,
                problems=len(report.problems),
            )
        )


def verify_and_alert(hub, settings: AlertSettings | None = None, at: dt.datetime | None = None):
    """Verify the logs now; the report. Alerts and raises LogsTampered when they fail."""
    from hub.audit.verify import verify_store

    report = verify_store(hub.store, hub.settings.seal_key())
    _record(hub, report, at or dt.datetime.now(dt.UTC))
    if report.intact:
        log.info("audit: %s", report.summary().replace("\n", "; "))
        return report
    shown = [str(p) for p in report.problems[:ALERT_PROBLEMS]]
    more = len(report.problems) - len(shown)
    message = (
        f"the access and disclosure logs fail verification: {len(report.problems)} problem(s): "
        + "; ".join(shown)
        + (f"; and {more} more (hub audit verify)" if more > 0 else "")
    )
    alert = Alert(LOGS_TAMPERED, "logs", message, f"seq {report.head_seq}")
    channels = dispatch([alert], settings or AlertSettings.from_env())
    log.error(
        "alert %s%s: %s",
        alert.subject,
        f" (sent by {', '.join(channels)})" if channels else " (no alert channel configured)",
        message,
    )
    raise LogsTampered(message)
