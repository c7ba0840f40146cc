"""One Airflow DAG per exchange declared in the hub's exchanges file.

The DAG file ``hub_exchanges.py`` of a DAG folder (:mod:`hub.airflow`) calls
:func:`exchange_dags`. This is a thin layer over the hub core: at parse time it reads one
YAML file and builds the DAGs, nothing else (no plugin import, no store, no network). Each
DAG has three tasks, ``check`` → ``extract`` → ``deliver``, that call the hub engine with the
DAG run's id, so the three tasks of one DAG run share one run record in the hub store. Data
passes through the hub store, never through XCom.

The master key comes from ``HUB_MASTER_KEY``/``HUB_MASTER_KEY_FILE`` or, if neither is
set, from the password of the Airflow connection ``hub_master_key`` (during a key rotation,
its extra's ``previous`` lists the keys old data still needs).
"""

from __future__ import annotations

import datetime as dt
import os

from airflow.sdk import DAG, Connection, task

from hub.exchanges import Exchange, load_exchanges
from hub.ops.notifiers import failure_notifiers
from hub.settings import Settings

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PHASES = ("check", "extract", "deliver")


def _master_key(settings: Settings) -> str | None:
    """The keys from the connection ``hub_master_key`` (its password the current key, its
    extra's ``previous`` the keys a rotation still needs), unless the environment or the key
    file gives them."""
    from hub.privacy.crypto import connection_keys

    if os.environ.get("HUB_MASTER_KEY") or settings.key_file.exists():
        return None  # the hub finds it itself
    connection = Connection.get("hub_master_key")
    return connection_keys(connection.password, connection.extra_dejson)


def open_hub():
    """The hub of a task: settings from the environment, keys as :func:`_master_key` finds
    them (the exchange DAGs and ``hub_health`` alike)."""
    from hub.engine import Hub
    from hub.privacy import install_log_redaction

    install_log_redaction()
    settings = Settings.from_env()
    return Hub.open(settings, key=_master_key(settings))


def _run_phase(exchange: str, phase: str, run_id: str) -> None:
    from hub.engine import run_phase

    hub = open_hub()
    try:
        run_phase(hub, exchange, phase, run_id, last=phase == PHASES[-1])
    finally:
        hub.close()


def _phase_task(exchange: Exchange, phase: str):
    @task(task_id=phase)
    def run(run_id: str | None = None) -> None:
        """Run this phase of the exchange through the hub engine."""
        _run_phase(exchange.name, phase, run_id)

    return run()


def build_dag(exchange: Exchange) -> DAG:
    with DAG(
        dag_id=f"hub_{exchange.name}",
        description=exchange.description.strip()[:200] or None,
        schedule=exchange.schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,  # two runs of one exchange must not interleave batches
        on_failure_callback=failure_notifiers(),  # e-mail / webhook, as configured
        tags=["hub", exchange.source, exchange.target],
        default_args={
            "retries": exchange.retries,
            "retry_delay": dt.timedelta(seconds=exchange.retry_delay_seconds),
            "retry_exponential_backoff": True,
        },
        doc_md=(
            f"**{exchange.source} → {exchange.target}**: "
            f"{', '.join(f.entity for f in exchange.entities)}\n\n"
            f"{exchange.description}\n\n**Legal basis:** {exchange.legal_basis}"
        ),
    ) as dag:
        tasks = [_phase_task(exchange, phase) for phase in PHASES]
        tasks[0] >> tasks[1] >> tasks[2]
    return dag


def exchange_dags() -> dict[str, DAG]:
    """A new DAG per exchange of the configured exchanges file, by its DAG id
    (``hub_<exchange>``), for a DAG file's globals. Built afresh at every call, so every
    parse of the DAG file reads the exchanges file as it is now."""
    exchanges = load_exchanges(Settings.from_env().exchanges_file).exchanges.values()
    return {f"hub_{exchange.name}": build_dag(exchange) for exchange in exchanges}
