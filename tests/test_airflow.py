"""The Airflow layer: the DAG folder imports cleanly, one DAG per declared exchange with its
schedule and retries, no heavy work at parse time, and a real DAG run with dag.test()."""

import os
import subprocess
import sys

import pytest

from hub.exchanges import load_exchanges
from hub.settings import DEFAULT_EXCHANGES, PROJECT_ROOT

pytestmark = pytest.mark.airflow
DAGS = PROJECT_ROOT / "dags"


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow")
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return home


@pytest.fixture(scope="module")
def dagbag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    # a DAG per shipped exchange, and the health checks
    config = load_exchanges(DEFAULT_EXCHANGES.path())
    assert set(dagbag.dag_ids) == {f"hub_{name}" for name in config.exchanges} | {"hub_health"}


def test_dags_follow_the_declared_exchanges(dagbag):
    from hub.exchanges import load_exchanges
    from hub.settings import Settings

    config = load_exchanges(Settings.from_env().exchanges_file)
    for name, exchange in config.exchanges.items():
        dag = dagbag.dags[f"hub_{name}"]
        order = [t.task_id for t in dag.topological_sort()]
        assert order == ["check", "extract", "deliver", "report"]
        for t in dag.tasks:
            assert t.retries == (0 if t.task_id == "report" else exchange.retries)
        assert dag.max_active_runs == 1 and not dag.catchup
        # deliver updates the exchange's asset; the others wait on the assets they name
        assert [a.uri for a in dag.get_task("deliver").outlets] == [f"hub://exchanges/{name}"]
        if exchange.after:
            assert exchange.schedule is None
            wanted = {f"hub://exchanges/{other}" for other in exchange.after}
            condition = dag.timetable.asset_condition  # AssetAll: every one of them
            assert type(condition).__name__ == "AssetAll"
            assert {a.uri for a in condition.objects} == wanted
        else:
            assert dag.timetable.expression == exchange.schedule
    # the shipped configuration runs in data order: the derived exchanges wait for their data
    assert config.exchanges["hub_to_seinajoki"].after == (
        "employment_authority_to_county",
        "kela_to_seinajoki",
    )


def test_parse_time_does_no_heavy_work():
    """Parsing the DAG file loads no plugin, opens no store and makes no connection."""
    code = (
        "import runpy, sys, socket\n"
        "def refuse(*a, **k): raise AssertionError('network at parse time')\n"
        "socket.socket.connect = refuse\n"
        f"runpy.run_path({str(DAGS / 'hub_exchanges.py')!r})\n"
        "loaded = [m for m in ('hub.store', 'hub.engine', 'hub.plugins', 'hub_te_office',"
        " 'hub_municipal') if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LOADED []" in done.stdout


def test_dag_run_end_to_end(airflow_home, dagbag, hub_env):
    from hub.engine import Hub
    from hub.engine.run import summarise

    dag_run = dagbag.dags["hub_employment_authority_to_county"].test()
    assert str(dag_run.state) == "success"
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    hub = Hub.open()
    summary = summarise(hub, "employment_authority_to_county", dag_run.run_id)
    hub.close()
    # the sandbox's rule breakers fail: the run completed with failures, which Airflow
    # shows as the report task skipped (the DAG run itself is a success)
    assert summary.state == "success_with_failures" and summary.failed > 0
    assert states == {
        "check": "success",
        "extract": "success",
        "deliver": "success",
        "report": "skipped",
    }
    assert summary.read > 0 and summary.delivered > 0
    received = hub_env.received("county_case_system")
    assert len(received) == summary.delivered


def test_key_from_airflow_connection_and_clean_task_logs(
    airflow_home, dagbag, hub_env, monkeypatch, capfd, caplog
):
    """With no key in the environment or on disk, the tasks take the master key from the
    Airflow connection ``hub_master_key``; Airflow's task logs hold no identity code."""
    import json

    from hub.privacy import HETU_PATTERN

    key = os.environ["HUB_MASTER_KEY"]
    monkeypatch.delenv("HUB_MASTER_KEY")
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUB_MASTER_KEY", json.dumps({"conn_type": "generic", "password": key})
    )
    hub_env.faults("employment_authority", malformed_every=7)  # failures get logged too
    dag_run = dagbag.dags["hub_employment_authority_to_county"].test()
    assert str(dag_run.state) == "success"
    hub_env.control("county_case_system", "nightly", "POST")
    dag_run = dagbag.dags["hub_county_to_employment_authority"].test()
    assert str(dag_run.state) == "success"
    assert hub_env.received("employment_authority")

    # under dag.test() the task logs go to this process's logging and output
    out, err = capfd.readouterr()
    text = caplog.text + out + err
    assert "employment_authority_to_county: employment_authority/service_periods batch" in text
    assert "failed" in text
    assert not HETU_PATTERN.search(text)


def test_an_invalid_exchange_is_an_import_error_and_the_others_stay_scheduled(
    airflow_home, tmp_path
):
    """One unknown setting in one exchange and a schedule Airflow refuses in another: the
    DAG folder builds every other exchange, and the two are one import error of
    ``hub_exchange_errors.py`` naming each and the exchanges file. Parsed as the
    dag-processor stores it (``airflow dags reserialize``): no valid DAG is stale."""
    import json
    import shutil

    import yaml

    from hub.airflow import write_dag_folder

    data = yaml.safe_load(DEFAULT_EXCHANGES.path().read_text())
    data["exchanges"]["county_to_kela"]["shedule"] = "0 6 * * *"
    data["exchanges"]["kela_to_county"]["schedule"] = "15 6 * * 1-8"
    exchanges = tmp_path / "exchanges.yaml"
    exchanges.write_text(yaml.safe_dump(data), encoding="utf-8")
    home = tmp_path / "airflow"
    home.mkdir()
    shutil.copy(airflow_home / "airflow.db", home / "airflow.db")  # migrated once
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(write_dag_folder(tmp_path / "dags")),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "HUB_EXCHANGES": str(exchanges),
    }

    def airflow(*args: str, status: int = 0) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == status, done.stdout[-2000:] + done.stderr[-2000:]
        return done.stdout

    airflow("dags", "reserialize")
    # the command lists the stored import errors, and exits 1 when there are some
    out = airflow("dags", "list-import-errors", "-o", "json", status=1)
    [listed] = [line for line in out.splitlines() if line.startswith("[")]
    errors = json.loads(listed)
    assert [e["filepath"] for e in errors] == ["hub_exchange_errors.py"]
    error = errors[0]["error"]
    assert f"- county_to_kela: {exchanges}: does not match" in error
    assert "'shedule' was unexpected" in error
    assert f"- kela_to_county: {exchanges}: exchanges/kela_to_county/schedule" in error
    assert "day of week 8 is out of range 0-7" in error

    query = (
        "import json\n"
        "from sqlalchemy import select\n"
        "from airflow.models.dag import DagModel\n"
        "from airflow.utils.session import create_session\n"
        "with create_session() as s:\n"
        "    rows = s.execute(select(DagModel.dag_id, DagModel.is_stale)).all()\n"
        "print('DAGS', json.dumps({d: stale for d, stale in rows}))\n"
    )
    done = subprocess.run([sys.executable, "-c", query], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("DAGS ")]
    dags = json.loads(line.removeprefix("DAGS "))
    valid = {f"hub_{n}" for n in data["exchanges"]} - {"hub_county_to_kela", "hub_kela_to_county"}
    assert {d for d, stale in dags.items() if not stale} == valid | {"hub_health"}


def test_systems_take_their_url_and_credentials_from_airflow_connections(
    airflow_home, monkeypatch
):
    """A connection per system: the URL and options (credentials in the extra, masked by
    Airflow) over the exchanges file's; HUB_SYSTEM_<NAME>_URL still wins for the URL."""
    import json

    from hub.airflow.secrets import with_connections
    from hub.exchanges import load_exchanges
    from hub.settings import Settings

    monkeypatch.setenv(
        "AIRFLOW_CONN_HUB_SYSTEM_INNOKYLA",
        json.dumps(
            {
                "conn_type": "http",
                "host": "api.innokyla.example",
                "schema": "https",
                "port": 8443,
                "extra": {"api_key": "from-airflow"},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUB_SYSTEM_LAPUA",
        json.dumps({"conn_type": "http", "extra": {"base_url": "https://lapua.example/api/"}}),
    )
    monkeypatch.delenv("HUB_SYSTEM_INNOKYLA_URL", raising=False)
    monkeypatch.delenv("HUB_SYSTEM_LAPUA_URL", raising=False)
    config = with_connections(load_exchanges(Settings.from_env().exchanges_file))
    innokyla = config.systems["innokyla"]
    assert innokyla.base_url == "https://api.innokyla.example:8443"
    assert innokyla.options["api_key"] == "from-airflow"
    assert config.systems["lapua"].base_url == "https://lapua.example/api"
    assert config.exchanges  # the rest of the file as it was
    monkeypatch.setenv("HUB_SYSTEM_INNOKYLA_URL", "http://127.0.0.1:1")
    config = with_connections(load_exchanges(Settings.from_env().exchanges_file))
    assert config.systems["innokyla"].base_url == "http://127.0.0.1:1"
    assert config.systems["innokyla"].options["api_key"] == "from-airflow"
