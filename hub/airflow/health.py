"""The DAG ``hub_health``: every 15 minutes, alert on exchanges whose dead letters exceed
the threshold or that have not succeeded for more than a multiple of their schedule (and on
failed runs a notifier missed); once a day, verify the access and disclosure logs
(:mod:`hub.ops.auditlog`) and purge what the retention periods let go (:mod:`hub.retention`);
and go on with a key rotation begun (:mod:`hub.privacy.rotation`). A thin layer over the
core, built by :func:`health_dag` for the DAG file ``hub_health.py`` of a DAG folder
(:mod:`hub.airflow`).

The job that alerts must not fail unseen: its tasks retry with exponential backoff (a store
or an alert channel down for a few minutes), and a run that still fails is reported through
the same notifiers as a failed exchange (:func:`hub.ops.notifiers.failure_notifiers`).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, task

from hub.ops.notifiers import failure_notifiers

#: task retries of ``hub_health`` and the first wait (doubling up to MAX_RETRY_DELAY): three
#: tries within about ten minutes, before the next run is due
RETRIES = 3
RETRY_DELAY = dt.timedelta(minutes=1)
MAX_RETRY_DELAY = dt.timedelta(minutes=5)


@task(task_id="check_and_alert")
def check_and_alert() -> int:
    """Evaluate the alert conditions and send what is new; the number of alerts sent."""
    from hub.airflow.secrets import alert_settings, open_hub
    from hub.ops.alerts import check_and_send

    hub = open_hub()
    try:
        return len(check_and_send(hub, alert_settings()))
    finally:
        hub.close()


@task(task_id="purge")
def purge() -> dict[str, int]:
    """Once a day (the DAG runs every 15 minutes): remove what the retention periods let go
    (:mod:`hub.retention`); the rows removed per kind, empty when no purge was due."""
    from hub.airflow.secrets import open_hub
    from hub.retention.purge import due
    from hub.retention.purge import purge as run_purge

    hub = open_hub()
    try:
        if not due(hub):
            return {}
        return run_purge(hub, actor="airflow:hub_health").totals()
    finally:
        hub.close()


@task(task_id="verify_logs")
def verify_logs() -> dict | None:
    """Once a day (the DAG runs every 15 minutes): verify the access and disclosure logs
    and seal a checkpoint (:mod:`hub.ops.auditlog`); fails, after alerting, when they were
    altered, without retries (tampering is no passing fault). The verification's summary,
    None when none was due."""
    from airflow.sdk.exceptions import AirflowFailException

    from hub.airflow.secrets import alert_settings, open_hub
    from hub.ops.auditlog import LogsTampered, due, verify_and_alert

    hub = open_hub()
    try:
        if not due(hub):
            return None
        try:
            report = verify_and_alert(hub, alert_settings())
        except LogsTampered as exc:  # found, recorded and alerted: a retry would not undo it
            raise AirflowFailException(str(exc)) from exc
        return {"entries": report.entries, "head_seq": report.head_seq, "sealed": report.sealed}
    finally:
        hub.close()


@task(task_id="rotate_keys")
def rotate_keys() -> str | None:
    """Go on with a key rotation the store has begun (``hub keys rotate``), ten minutes at a
    time: re-encrypt and re-key what the retiring key still holds, and retire it when nothing
    needs it (:func:`hub.privacy.rotation.continue_rotation`); None when none is under way."""
    from hub.airflow.secrets import open_hub
    from hub.privacy.rotation import continue_rotation

    hub = open_hub()
    try:
        return continue_rotation(hub, batch_size=500, max_seconds=600)
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
        on_failure_callback=failure_notifiers(),  # e-mail / webhook, as configured
        default_args={
            "retries": RETRIES,
            "retry_delay": RETRY_DELAY,
            "retry_exponential_backoff": True,
            "max_retry_delay": MAX_RETRY_DELAY,
        },
    ) as dag:
        check_and_alert()
        purge()
        verify_logs()
        rotate_keys()
    return dag
