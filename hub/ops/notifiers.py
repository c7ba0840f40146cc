"""The hub's alerts as Airflow notifiers (``on_failure_callback``): a failed run of an
exchange's DAG is reported at once by e-mail and/or webhook, per :class:`AlertSettings`.

This module imports Airflow; the core (:mod:`hub.ops.alerts`) does not.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

from hub.ops.alerts import RUN_FAILED, Alert, AlertSettings, send_email, send_webhook
from hub.privacy import redact

DAG_PREFIX = "hub_"


def alert_from_context(context: dict[str, Any]) -> Alert:
    """A run_failed alert from an Airflow callback context (no client data in it)."""
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or str(context.get("dag_id") or "unknown")
    exchange = dag_id.removeprefix(DAG_PREFIX)
    run = context.get("dag_run")
    run_id = getattr(run, "run_id", None) or str(context.get("run_id") or "")
    ti = context.get("task_instance") or context.get("ti")
    task = getattr(ti, "task_id", None)
    error = context.get("exception") or context.get("reason")
    message = f"the DAG run {run_id} of {exchange} failed" + (f" in task {task}" if task else "")
    if error:
        message += f": {redact(str(error))[:500]}"
    return Alert(RUN_FAILED, exchange, message, run_id)


class _HubNotifier(BaseNotifier):
    """Sends a failed run of an exchange through one alert channel, if it is configured."""

    def __init__(self, settings: AlertSettings | None = None):
        super().__init__()
        self.settings = settings

    def notify(self, context: dict[str, Any]) -> None:
        from hub.airflow.secrets import alert_settings

        settings = self.settings or alert_settings()
        if self.configured(settings):
            self.send(alert_from_context(context), settings)

    @staticmethod
    def configured(settings: AlertSettings) -> bool:
        raise NotImplementedError

    @staticmethod
    def send(alert: Alert, settings: AlertSettings) -> None:
        raise NotImplementedError


class HubEmailNotifier(_HubNotifier):
    """E-mails a failed run of an exchange (SMTP settings from the environment)."""

    @staticmethod
    def configured(settings: AlertSettings) -> bool:
        return settings.email_on

    @staticmethod
    def send(alert: Alert, settings: AlertSettings) -> None:
        send_email([alert], settings)


class HubWebhookNotifier(_HubNotifier):
    """Posts a failed run of an exchange to the alert webhook as JSON."""

    @staticmethod
    def configured(settings: AlertSettings) -> bool:
        return settings.webhook_on

    @staticmethod
    def send(alert: Alert, settings: AlertSettings) -> None:
        send_webhook([alert], str(settings.webhook_url))


NOTIFIERS = (HubEmailNotifier, HubWebhookNotifier)


def failure_notifiers() -> list[BaseNotifier]:
    """A notifier per channel; each sends only if its channel is configured when a run
    fails (the environment or Airflow's connections: :func:`hub.airflow.secrets.alert_settings`),
    so DAG parsing reads no connection and stays light."""
    return [cls() for cls in NOTIFIERS]
