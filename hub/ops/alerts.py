"""Alerts: a run failed, dead letters above a threshold, an exchange stale for more than a
multiple of its schedule — by e-mail (SMTP) and to a webhook (JSON).

No Airflow here: :mod:`hub.ops.notifiers` wraps the senders as Airflow notifiers (a failed
DAG run alerts at once), and the ``hub_health`` DAG calls :func:`check_and_send` every
15 minutes for the conditions only the store can tell.

Alerts carry exchange names, counts and times, never client data. To avoid a storm, a
condition alerts once when it begins (a new failed run, the threshold crossed, the exchange
going stale) and again only after it has cleared. What was sent is remembered in the store
(``alert_state``), where each occurrence is claimed atomically by one process: with any
number of Airflow workers running ``hub_health``, every alert is sent once
(:mod:`hub.store.alert_state`).

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


# --- once per occurrence, whatever the number of workers ----------------------------------

#: where releases before the store kept what was sent (one file per worker's HUB_HOME)
LEGACY_STATE_FILE = "alerts-sent.json"


def import_legacy_state(hub) -> int:
    """Carry ``$HUB_HOME/alerts-sent.json`` of an earlier release into the store once, so an
    upgrade does not repeat what was sent; the file is then renamed ``.imported`` (kept to
    look at, never read again). The conditions taken over."""
    path = hub.settings.home / LEGACY_STATE_FILE
    try:
        sent = json.loads(path.read_text(encoding="utf-8"))
        at = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except FileNotFoundError:
        return 0
    except (OSError, ValueError) as exc:
        log.warning("alerts: %s is not readable and is not taken over: %s", path, exc)
        return 0
    if not isinstance(sent, dict):
        log.warning("alerts: %s holds no object of sent alerts; not taken over", path)
        return 0
    from hub.store import alert_state  # the store: not at DAG parse time

    with hub.store.transaction() as conn:
        added = alert_state.import_sent(conn, {str(k): str(v) for k, v in sent.items()}, at)
    try:
        path.rename(path.with_name(path.name + ".imported"))
    except FileNotFoundError:
        pass  # another process of this HUB_HOME took it over at the same time
    log.info("alerts: took over %d sent alert(s) from %s", added, path)
    return added


def claim_new(conn: Connection, current: Sequence[Alert], evaluated_at: dt.datetime):
    """Claim, in the store, the alerts not sent before for the same occurrence, and forget
    the conditions that cleared (so they alert again when they come back). Each alert is
    claimed by one caller only, whatever the number of processes (:mod:`hub.store.alert_state`):
    the alerts and their claims, to send after the commit."""
    from hub.store import alert_state

    claimed = []
    for a in current:
        c = alert_state.claim(conn, a.key, a.occurrence)
        if c is not None:
            claimed.append((a, c))
    alert_state.forget_cleared(conn, {a.key for a in current}, evaluated_at)
    return claimed


def check_and_send(hub, settings: AlertSettings | None = None) -> list[Alert]:
    """Evaluate every condition and send what is new: once, by whichever of the processes
    calling this at the same time claims it. Returns the alerts this call sent. When every
    configured channel failed, the claims are given back, so the next check tries again."""
    settings = settings or AlertSettings.from_env()
    import_legacy_state(hub)
    evaluated_at = dt.datetime.now(dt.UTC)
    with hub.store.transaction() as conn:
        current = evaluate(
            conn,
            hub.config,
            dead_letter_threshold=settings.dead_letter_threshold,
            stale_factor=settings.stale_factor,
            at=evaluated_at,
        )
    with hub.store.transaction() as conn:
        claimed = claim_new(conn, current, evaluated_at)
    fresh = [a for a, _ in claimed]
    channels = dispatch(fresh, settings)
    if fresh and not channels and (settings.email_on or settings.webhook_on):
        from hub.store import alert_state

        with hub.store.transaction() as conn:
            for _, c in claimed:
                alert_state.unclaim(conn, c)
        log.error("alerts: no channel could send %d alert(s); the next check retries", len(fresh))
        return []
    for a in fresh:
        log.warning(
            "alert %s%s: %s",
            a.subject,
            f" (sent by {', '.join(channels)})" if channels else " (no alert channel configured)",
            a.message,
        )
    return fresh
