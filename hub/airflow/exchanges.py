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


def asset_of(exchange: str):
    """The Airflow asset an exchange's ``deliver`` task updates when it has stored and
    delivered its records: what exchanges run ``after`` it are scheduled on."""
    from airflow.sdk import Asset

    return Asset(name=f"hub_{exchange}", uri=f"hub://exchanges/{exchange}", group="hub")


def schedule_of(exchange: Exchange):
    """The exchange's cron schedule, or — run ``after`` others — their assets: the DAG
    runs when every one of them has been updated since its last run."""
    if exchange.after:
        return [asset_of(name) for name in exchange.after]
    return exchange.schedule


def _phase_task(exchange: Exchange, phase: str):
    outlets = [asset_of(exchange.name)] if phase == PHASES[-1] else []

    @task(task_id=phase, outlets=outlets)
    def run(run_id: str | None = None) -> None:
        """Run this phase of the exchange through the hub engine."""
        _run_phase(exchange.name, phase, run_id)

    return run()


def _report_task(exchange: Exchange):
    @task(task_id="report", retries=0)
    def report(run_id: str | None = None) -> dict:
        """What the run did. A run with failed records is shown as this task *skipped*, its
        message the count and where to look: the DAG run stays a success (the failures are
        dead letters an operator fixes and replays, not a reason to run again)."""
        from airflow.sdk.exceptions import AirflowSkipException

        from hub.airflow.secrets import open_hub
        from hub.engine.run import summarise
        from hub.store.runs import SUCCESS_WITH_FAILURES

        hub = open_hub()
        try:
            summary = summarise(hub, exchange.name, run_id)
        finally:
            hub.close()
        if summary.state == SUCCESS_WITH_FAILURES:
            raise AirflowSkipException(
                f"success with failures: {summary.failed} record(s) failed and wait as dead "
                f"letters ({summary.open_dead_letters} open): hub failures list "
                f"--exchange {exchange.name}"
            )
        return {"state": summary.state, "read": summary.read, "delivered": summary.delivered}

    return report()


def build_dag(exchange: Exchange) -> DAG:
    with DAG(
        dag_id=f"hub_{exchange.name}",
        description=exchange.description.strip()[:200] or None,
        schedule=schedule_of(exchange),
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
        tasks[0] >> tasks[1] >> tasks[2] >> _report_task(exchange)
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
