"""The daily verification of the access and disclosure logs, for the ``hub_health`` DAG: once
a day it runs :func:`hub.audit.verify.verify_store` (which seals a checkpoint when all is
intact and a seal key is configured); when the logs fail, it alerts through every configured
channel (:mod:`hub.ops.alerts`) and raises :class:`LogsTampered`, so that the Airflow task
fails.

When the last verification was is kept in ``$HUB_HOME/audit-verified.json`` (the DAG runs
every 15 minutes; the verification reads every log row, so once a day is enough). Alerts name
tables, row ids and chain entries, never client data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from hub.errors import HubError
from hub.ops.alerts import LOGS_TAMPERED, Alert, AlertSettings, dispatch

log = logging.getLogger(__name__)
#: how often the logs are verified
EVERY = dt.timedelta(days=1)
STATE_FILE = "audit-verified.json"
#: problems an alert lists (the rest: ``hub audit verify``)
ALERT_PROBLEMS = 10


class LogsTampered(HubError):
    """The access or disclosure logs do not verify: something was altered unseen."""


def _state(hub) -> Path:
    return hub.settings.home / STATE_FILE


def due(hub, at: dt.datetime | None = None) -> bool:
    """Whether a day has passed since the last verification (or there was none)."""
    at = at or dt.datetime.now(dt.UTC)
    try:
        last = dt.datetime.fromisoformat(json.loads(_state(hub).read_text())["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return at - last >= EVERY


def verify_and_alert(hub, settings: AlertSettings | None = None, at: dt.datetime | None = None):
    """Verify the logs now; the report. Alerts and raises LogsTampered when they fail."""
    from hub.audit.verify import verify_store

    report = verify_store(hub.store, hub.settings.seal_key())
    path = _state(hub)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "at": (at or dt.datetime.now(dt.UTC)).isoformat(),
                "intact": report.intact,
                "head_seq": report.head_seq,
            }
        ),
        encoding="utf-8",
    )
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
