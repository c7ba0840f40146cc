"""The DAG ``hub_health``: every 15 minutes, alert on exchanges whose dead letters exceed
the threshold or that have not succeeded for more than a multiple of their schedule (and on
failed runs a notifier missed). A thin layer over :func:`hub.ops.alerts.check_and_send`,
built by :func:`health_dag` for the DAG file ``hub_health.py`` of a DAG folder
(:mod:`hub.airflow`)."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, task


@task(task_id="check_and_alert")
def check_and_alert() -> int:
    """Evaluate the alert conditions and send what is new; the number of alerts sent."""
    from hub.engine import Hub
    from hub.ops.alerts import check_and_send
    from hub.privacy import install_log_redaction
    from hub.settings import Settings

    install_log_redaction()
    hub = Hub.open(Settings.from_env())
    try:
        return len(check_and_send(hub))
    finally:
        hub.close()


def health_dag() -> DAG:
    """A new ``hub_health`` DAG."""
    with DAG(
        dag_id="hub_health",
        description="Alerts: failed records above the threshold, stale exchanges",
        schedule="*/15 * * * *",
        start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,
        tags=["hub", "alerts"],
    ) as dag:
        check_and_alert()
    return dag
