"""Alerts: a run failed, dead letters above a threshold, an exchange stale for more than a
multiple of its schedule — by e-mail (SMTP) and to a webhook (JSON).

No Airflow here: :mod:`hub.ops.notifiers` wraps the senders as Airflow notifiers (a failed
DAG run alerts at once), and the ``hub_health`` DAG calls :func:`check_and_send` every
15 minutes for the conditions only the store can tell.

Alerts carry exchange names, counts and times, never client data. To avoid a storm, a
condition alerts once when it begins (a new failed run, the threshold crossed, the exchange
going stale) and again only after it has cleared; what was sent is remembered in
``$HUB_HOME/alerts-sent.json``.

Settings (environment): ``HUB_ALERT_EMAIL_TO`` (comma-separated), ``HUB_ALERT_EMAIL_FROM``,
``HUB_SMTP_HOST``, ``HUB_SMTP_PORT`` (25), ``HUB_SMTP_STARTTLS`` (1/0), ``HUB_SMTP_USER``,
``HUB_SMTP_PASSWORD``, ``HUB_ALERT_WEBHOOK_URL``, ``HUB_ALERT_DEAD_LETTERS`` (threshold,
default 100), ``HUB_ALERT_STALE_FACTOR`` (default 2). A channel without settings is off.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path

import httpx
from sqlalchemy import Connection
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from hub.exchanges import HubConfig
from hub.ops import DEFAULT_STALE_FACTOR
from hub.privacy import redact

log = logging.getLogger(__name__)
RUN_FAILED, DEAD_LETTERS, STALE = "run_failed", "dead_letters", "stale"
#: the access or disclosure logs fail verification (hub.ops.auditlog); "exchange": "logs"
LOGS_TAMPERED = "logs_tampered"


@dataclass(frozen=True)
class Alert:
    kind: str
    exchange: str
    message: str
    #: what makes this occurrence new (a run id, a threshold crossing, a staleness)
    occurrence: str = ""
    at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.exchange}"

    @property
    def subject(self) -> str:
        what = {
            RUN_FAILED: "run failed",
            DEAD_LETTERS: "failed records",
            STALE: "stale",
            LOGS_TAMPERED: "TAMPERING DETECTED",
        }
        return f"[hub] {self.exchange}: {what.get(self.kind, self.kind)}"


@dataclass(frozen=True)
class AlertSettings:
    email_to: tuple[str, ...] = ()
    email_from: str = "integration-hub@localhost"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    webhook_url: str | None = None
    dead_letter_threshold: int = 100
    stale_factor: float = DEFAULT_STALE_FACTOR

    @classmethod
    def from_env(cls) -> AlertSettings:
        env = os.environ.get
        to = tuple(a.strip() for a in (env("HUB_ALERT_EMAIL_TO") or "").split(",") if a.strip())
        return cls(
            email_to=to,
            email_from=env("HUB_ALERT_EMAIL_FROM") or cls.email_from,
            smtp_host=env("HUB_SMTP_HOST") or None,
            smtp_port=int(env("HUB_SMTP_PORT") or 25),
            smtp_starttls=(env("HUB_SMTP_STARTTLS") or "0").lower() in ("1", "true", "yes"),
            smtp_user=env("HUB_SMTP_USER") or None,
            smtp_password=env("HUB_SMTP_PASSWORD") or None,
            webhook_url=env("HUB_ALERT_WEBHOOK_URL") or None,
            dead_letter_threshold=int(env("HUB_ALERT_DEAD_LETTERS") or 100),
            stale_factor=float(env("HUB_ALERT_STALE_FACTOR") or DEFAULT_STALE_FACTOR),
        )

    @property
    def email_on(self) -> bool:
        return bool(self.email_to and self.smtp_host)

    @property
    def webhook_on(self) -> bool:
        return bool(self.webhook_url)


def evaluate(
    conn: Connection,
    config: HubConfig,
    *,
    dead_letter_threshold: int,
    stale_factor: float = DEFAULT_STALE_FACTOR,
    at: dt.datetime | None = None,
) -> list[Alert]:
    """The alert conditions true now (or ``at``), from the store."""
    from hub.ops.health import all_health  # the store: not at DAG parse time

    alerts = []
    for h in all_health(conn, config, stale_factor=stale_factor, at=at):
        if h.last_state == "failed":
            alerts.append(
                Alert(
                    RUN_FAILED,
                    h.name,
                    f"the last run of {h.name} ({h.source} → {h.target}) "
                    f"failed; started {h.last_started:%Y-%m-%d %H:%M} UTC",
                    h.last_run_id or "",
                )
            )
        if h.open_dead_letters > dead_letter_threshold:
            alerts.append(
                Alert(
                    DEAD_LETTERS,
                    h.name,
                    f"{h.open_dead_letters} failed records of {h.name} "
                    f"are waiting (threshold {dead_letter_threshold})",
                    "over",
                )
            )
        if h.stale:
            since = f"{h.last_success:%Y-%m-%d %H:%M} UTC" if h.last_success else "never"
            alerts.append(
                Alert(
                    STALE,
                    h.name,
                    f"{h.name} has not succeeded for more than {stale_factor:g} "
                    f"times its schedule ({h.schedule}); last success: {since}",
                    "stale",
                )
            )
    return alerts


# --- sending ------------------------------------------------------------------------------


def _body(alerts: Sequence[Alert]) -> str:
    lines = [f"- {a.subject[6:]}: {a.message}" for a in alerts]
    return (
        "The integration hub reports:\n\n"
        + "\n".join(lines)
        + ("\n\nSee the dashboard (hub web, or Integration hub in Airflow) for the details.\n")
    )


def send_email(alerts: Sequence[Alert], settings: AlertSettings) -> None:
    message = EmailMessage()
    message["Subject"] = alerts[0].subject if len(alerts) == 1 else f"[hub] {len(alerts)} alerts"
    message["From"] = settings.email_from
    message["To"] = ", ".join(settings.email_to)
    message.set_content(redact(_body(alerts)))
    assert settings.smtp_host
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code >= 500


@retry(
    retry=retry_if_exception(_retryable),
    stop=stop_after_attempt(4),
    wait=wait_exponential(multiplier=0.5, max=5),
    reraise=True,
)
def send_webhook(alerts: Sequence[Alert], url: str) -> None:
    payload = {"source": "integration-hub", "alerts": [asdict(a) for a in alerts]}
    body = json.loads(redact(json.dumps(payload, ensure_ascii=False)))
    with httpx.Client(trust_env=False, follow_redirects=False, timeout=15) as client:
        client.post(url, json=body).raise_for_status()


def dispatch(alerts: Sequence[Alert], settings: AlertSettings) -> list[str]:
    """Send ``alerts`` through every configured channel; the channels that worked. A channel
    that fails is logged and does not stop the other."""
    if not alerts:
        return []
    sent = []
    for name, on, send in (
        ("email", settings.email_on, lambda: send_email(alerts, settings)),
        ("webhook", settings.webhook_on, lambda: send_webhook(alerts, settings.webhook_url)),
    ):
        if not on:
            continue
        try:
            send()
            sent.append(name)
        except Exception as exc:  # an alert channel down must not hide the other
            log.error("alerts: sending by %s failed: %s", name, redact(str(exc)))
    return sent


# --- once per occurrence --------------------------------------------------------------------


def _load_state(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def new_alerts(current: Sequence[Alert], state_file: Path) -> list[Alert]:
    """The alerts not sent before for the same occurrence; the state is updated (cleared
    conditions are forgotten, so they alert again when they come back)."""
    sent = _load_state(state_file)
    fresh = [a for a in current if sent.get(a.key) != a.occurrence]
    state = {a.key: a.occurrence for a in current}
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(state, indent=1), encoding="utf-8")
    return fresh


def check_and_send(hub, settings: AlertSettings | None = None) -> list[Alert]:
    """Evaluate every condition and send what is new. Returns the alerts sent."""
    settings = settings or AlertSettings.from_env()
    with hub.store.transaction() as conn:
        current = evaluate(
            conn,
            hub.config,
            dead_letter_threshold=settings.dead_letter_threshold,
            stale_factor=settings.stale_factor,
        )
    fresh = new_alerts(current, hub.settings.home / "alerts-sent.json")
    channels = dispatch(fresh, settings)
    for a in fresh:
        log.warning(
            "alert %s%s: %s",
            a.subject,
            f" (sent by {', '.join(channels)})" if channels else " (no alert channel configured)",
            a.message,
        )
    return fresh
