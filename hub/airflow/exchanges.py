"""One Airflow DAG per exchange declared in the hub's exchanges file.

The DAG file ``hub_exchanges.py`` of a DAG folder (:mod:`hub.airflow`) calls
:func:`exchange_dags`. This is a thin layer over the hub core: at parse time it reads one
YAML file and builds the DAGs, nothing else (no plugin import, no store, no network). Each
DAG has three tasks, ``check`` → ``extract`` → ``deliver``, that call the hub engine with the
DAG run's id, so the three tasks of one DAG run share one run record in the hub store. Data
passes through the hub store, never through XCom.

An exchange that is not valid (an unknown setting, a schedule Airflow refuses) does not take
the others with it. Airflow 3 marks every DAG of a file that has an import error stale (not
scheduled), so the invalid ones are reported from a DAG file of their own,
``hub_exchange_errors.py`` (:func:`report_invalid_exchanges`), as one import error naming
each invalid exchange and the exchanges file, while ``hub_exchanges.py`` builds the valid
ones. A mistake in the file as a whole (YAML, duplicate keys, ``systems``) leaves nothing to
build: ``hub_exchanges.py`` itself then fails to import, with the message.

Secrets and the store come from the environment or Airflow's connections
(:mod:`hub.airflow.secrets`), the same way for every task, the dashboard and the CLI.
"""

from __future__ import annotations

import datetime as dt
import logging

from airflow.sdk import DAG, task

from hub.errors import ConfigError
from hub.exchanges import Exchange, HubConfig, load_exchanges
from hub.ops.notifiers import failure_notifiers
from hub.settings import Settings

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PHASES = ("check", "extract", "deliver")
log = logging.getLogger(__name__)


class InvalidExchanges(ConfigError):
    """Exchanges of the exchanges file that cannot become DAGs: the import error of
    ``hub_exchange_errors.py``, one line per exchange."""


def _run_phase(exchange: str, phase: str, run_id: str) -> None:
    from hub.airflow.secrets import open_hub
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
        # only the DAGs a DAG file hands over count: one refused below is not bagged
        auto_register=False,
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


def built_dags(config: HubConfig) -> tuple[dict[str, DAG], dict[str, str]]:
    """The DAG of each exchange of ``config`` that Airflow takes, by DAG id, and why each
    other exchange cannot be one, by name: its problem in the file (``config.invalid``) or
    what Airflow's own checks of a DAG (its timetable, as the DagBag validates it) refuse."""
    dags, invalid = {}, dict(config.invalid)
    for exchange in config.exchanges.values():
        try:
            dag = build_dag(exchange)
            dag.validate()
            dag.check_cycle()
        except Exception as exc:  # whatever Airflow refuses, it refuses this DAG only
            where = f"{config.path}: exchanges/{exchange.name}"
            invalid[exchange.name] = f"{where}: Airflow refuses its DAG: {exc}"
            continue
        dags[f"hub_{exchange.name}"] = dag
    return dags, invalid


def exchange_dags() -> dict[str, DAG]:
    """A new DAG per valid exchange of the configured exchanges file, by its DAG id
    (``hub_<exchange>``), for a DAG file's globals. Built afresh at every call, so every
    parse of the DAG file reads the exchanges file as it is now. The invalid ones are
    logged here and reported by :func:`report_invalid_exchanges`."""
    config = load_exchanges(Settings.from_env().exchanges_file, partial=True)
    dags, invalid = built_dags(config)
    for message in invalid.values():
        log.error("left out: %s", message)
    return dags


def report_invalid_exchanges() -> None:
    """Raise :class:`InvalidExchanges` naming each exchange of the configured file that
    cannot become a DAG (nothing when all can, or when the file as a whole is wrong: the
    import error of ``hub_exchanges.py`` says so)."""
    try:
        config = load_exchanges(Settings.from_env().exchanges_file, partial=True)
    except ConfigError:
        return
    _, invalid = built_dags(config)
    if invalid:
        raise InvalidExchanges(
            f"{len(invalid)} exchange(s) of {config.path} left out, the others are "
            "scheduled:\n" + "\n".join(f"- {name}: {invalid[name]}" for name in sorted(invalid))
        )
