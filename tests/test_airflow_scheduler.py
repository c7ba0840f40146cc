"""Airflow as production runs it, in miniature: scheduler, dag-processor and api-server as
separate processes on a PostgreSQL metadata database (psycopg 3, sync and async URLs), the
hub store on PostgreSQL, the master key and the store in Airflow connections; one exchange
DAG triggered from the command line runs to its end under LocalExecutor, and under
CeleryExecutor with two workers on the machine's Redis where there is one.

``dag.test()`` (tests/test_airflow.py) runs a DAG inside the test process; only this test
shows that the processes a deployment starts (docs/deployment.md) find each other, the DAG
folder, the hub's secrets and the sandboxes.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.airflow import write_dag_folder
from hub.sandbox import free_port
from hub.settings import DEFAULT_EXCHANGES
from hub.testing.fixtures import pg_base_url

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.postgres]

EXCHANGE = "employment_authority_to_county"
DAG_ID = f"hub_{EXCHANGE}"
#: from the processes' start to the DAG run's end, migrations included
RUN_TIMEOUT = 240
AIRFLOW = [sys.executable, "-m", "airflow"]


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def celery_installed() -> bool:
    """The ``celery`` extra is installed (asked of the metadata: importing Airflow here would
    configure it for this process before any test has set its environment)."""
    try:
        for name in ("apache-airflow-providers-celery", "celery", "redis"):
            metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


EXECUTORS = [
    "LocalExecutor",
    pytest.param(
        "CeleryExecutor",
        marks=pytest.mark.skipif(
            not (redis_reachable() and celery_installed()),
            reason="CeleryExecutor needs Redis at 127.0.0.1:6379 and the 'celery' extra",
        ),
    ),
]


@pytest.fixture
def airflow_db() -> Iterator[str]:
    """A fresh database for Airflow's metadata on the test server, dropped afterwards."""
    base = make_url(pg_base_url())
    name = f"airflow_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name, query={}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Deployment:
    """Airflow's processes, each started as a deployment's unit file would, with its output
    in a log file under ``home`` (shown when the run does not end as it should)."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home, self.env = home, env
        self.processes: dict[str, subprocess.Popen] = {}

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [*AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"airflow {' '.join(args)}:\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        with open(self.home / f"{name}.log", "wb") as log:  # the process keeps its own copy
            self.processes[name] = subprocess.Popen(
                [*AIRFLOW, *args],
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with its children
            )

    def check_running(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} exited {process.returncode}\n{self.logs()}"

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(errors="replace")

    def logs(self, tail: int = 2500) -> str:
        return "\n".join(f"--- {name} ---\n{self.log(name)[-tail:]}" for name in self.processes)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # whatever of its group is left (task processes, pool workers)
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def deployment_env(
    home: Path, airflow_url: str, executor: str, api_port: int, queue: str
) -> dict[str, str]:
    """What every Airflow process of the deployment shares: the environment docs/deployment.md
    describes. The key and the store come from Airflow connections, not HUB_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    key = env.pop("HUB_MASTER_KEY")
    store = env.pop("HUB_STORE_URL")
    async_url = make_url(airflow_url).set(drivername="postgresql+psycopg")
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "HUB_EXCHANGES": str(manual_exchanges(home)),
            "AIRFLOW__CORE__DAGS_FOLDER": str(write_dag_folder(home / "dags")),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_url,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": async_url.render_as_string(
                hide_password=False
            ),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(64),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__CELERY__BROKER_URL": "redis://127.0.0.1:6379/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + airflow_url,
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
            "AIRFLOW_CONN_HUB_MASTER_KEY": json.dumps({"conn_type": "generic", "password": key}),
            "AIRFLOW_CONN_HUB_STORE": json.dumps({"conn_type": "generic", "extra": {"url": store}}),
        }
    )
    return env


def manual_exchanges(folder: Path) -> Path:
    """The shipped exchanges file with the tested exchange's schedule removed: unpausing a
    DAG with a cron schedule starts a run for the latest interval at once, which would read
    the sandbox's records before the triggered run does."""
    config = yaml.safe_load(DEFAULT_EXCHANGES.path().read_text(encoding="utf-8"))
    config["exchanges"][EXCHANGE]["schedule"] = None
    path = folder / "exchanges.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def wait_for(what: str, deployment: Deployment, deadline: float, probe):
    """Poll ``probe`` until it returns something, the processes still running."""
    while time.monotonic() < deadline:
        deployment.check_running()
        found = probe()
        if found:
            return found
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}\n{deployment.logs()}")


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_scheduler_runs_an_exchange_dag(executor, airflow_db, hub_env, tmp_path):
    """Migrate Airflow's database, start its processes, unpause and trigger one exchange DAG
    from the command line, wait for the run to end; the hub store holds the run and the
    target the records it delivered."""
    from hub.engine import Hub
    from hub.engine.run import summarise

    deadline = time.monotonic() + RUN_TIMEOUT
    home = tmp_path / "airflow"
    home.mkdir()
    queue = f"hub_test_{uuid.uuid4().hex[:8]}"
    env = deployment_env(home, airflow_db, executor, free_port(), queue)
    deployment = Deployment(home, env)
    meta_db = create_engine(airflow_db)
    run_id = f"test__{uuid.uuid4().hex[:8]}"
    try:
        deployment.run("db", "migrate")
        deployment.start("api-server", "api-server")
        deployment.start("dag-processor", "dag-processor")
        deployment.start("scheduler", "scheduler")
        if executor == "CeleryExecutor":
            for n in (1, 2):
                deployment.start(
                    f"worker{n}",
                    *("celery", "worker", "--concurrency", "2", "--queues", queue),
                    *("--celery-hostname", f"{queue}_{n}@%h", "--without-mingle"),
                    env={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())},
                )

        def parsed():
            with meta_db.connect() as conn:
                return conn.execute(
                    text("SELECT 1 FROM serialized_dag WHERE dag_id = :d"), {"d": DAG_ID}
                ).first()

        wait_for(f"{DAG_ID} to be parsed", deployment, deadline, parsed)
        deployment.run("dags", "unpause", DAG_ID)
        deployment.run("dags", "trigger", DAG_ID, "--run-id", run_id)

        def finished():
            with meta_db.connect() as conn:
                state = conn.execute(
                    text("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r"),
                    {"d": DAG_ID, "r": run_id},
                ).scalar()
            return state if state in ("success", "failed") else None

        state = wait_for(f"run {run_id} to end", deployment, deadline, finished)
        with meta_db.connect() as conn:
            tasks = dict(
                conn.execute(
                    text(
                        "SELECT task_id, state FROM task_instance WHERE dag_id = :d AND run_id = :r"
                    ),
                    {"d": DAG_ID, "r": run_id},
                ).all()
            )
        assert state == "success", f"{tasks}\n{deployment.logs()}"
    finally:
        meta_db.dispose()
        deployment.stop()
        if executor == "CeleryExecutor":
            _forget_queue(queue)

    # a run with failed records has its report task skipped; the run itself is a success
    assert tasks["check"] == tasks["extract"] == tasks["deliver"] == "success", tasks
    assert tasks["report"] in ("success", "skipped"), tasks
    if executor == "CeleryExecutor":  # the workers ran the tasks, not the scheduler
        received = sum(deployment.log(f"worker{n}").count("] received") for n in (1, 2))
        assert received >= 3, deployment.logs()
    hub = Hub.open()
    try:
        summary = summarise(hub, EXCHANGE, run_id)
    finally:
        hub.close()
    assert summary.state in ("success", "success_with_failures")
    # Airflow shows the hub's state: failed records as the report task skipped
    assert (tasks["report"] == "skipped") == (summary.state == "success_with_failures"), tasks
    assert summary.read > 0 and summary.delivered > 0
    assert len(hub_env.received("county_case_system")) == summary.delivered


def _forget_queue(queue: str) -> None:
    """Remove this test's queue from Redis: its list and kombu's bindings of it."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=0)
    name = queue.encode()
    try:
        client.delete(queue)
        for key in client.scan_iter(match="_kombu.binding*"):
            if client.type(key) != b"set":
                continue
            if key.endswith(b"." + name):
                client.delete(key)
            elif ours := [m for m in client.smembers(key) if name in m]:
                client.srem(key, *ours)
    finally:
        client.close()
