"""``hub demo``: real exchanges through Airflow, on the embedded SQLite store and sandboxes.

1. makes a fresh data folder (default ``.demo/``) with a generated master key;
2. starts a sandbox per system declared in the exchanges file in use, with the system's
   options (:mod:`hub.sandbox_plan`; systems whose sandboxes would be the same share one),
   each on a free local port, with the same synthetic people, and points
   ``HUB_SYSTEM_<SYSTEM>_URL`` of every system at its sandbox;
3. prepares an Airflow home on SQLite and runs each exchange's DAG with ``dag.test()``, in
   the order data flows (:data:`ORDER`): the employment authority's referrals to the
   wellbeing services county, the county case system's nightly export, the county's
   assessments, prohibitions and income-support months, its notices back, the attendance
   report to Kela, Kela's notices to the county and its bills to Seinäjoki and Lapua, the
   employment services and statements, the obligations and bill disputes the hub derives,
   Innokylä's practice models, and last the indicators the hub publishes on Innokylä;
4. prints per exchange how its run ended (``success``, or ``success_with_failures`` when the
   sandboxes' rule breakers left dead letters: the demo still exits 0, naming those), what
   was read, delivered (or kept in the hub), held back and failed, and what each rule held
   back and why.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from hub.airflow import write_dag_folder
from hub.privacy.crypto import ensure_key_file

#: the default data folder, in the working directory
DEFAULT_HOME = Path(".demo")
#: the environment variable that gives Airflow its DAG folder
DAGS_FOLDER_ENV = "AIRFLOW__CORE__DAGS_FOLDER"

ORDER = [
    "employment_authority_to_county",
    "county_to_hub",  # the assessments and the clients' disclosure prohibitions, first
    "county_to_employment_authority",
    "county_to_kela",
    "kela_to_county",
    "kela_to_seinajoki",
    "kela_to_lapua",
    "employment_authority_to_hub",
    "employment_authority_to_kela",
    "hub_to_employment_authority",
    "hub_to_county",
    "hub_to_seinajoki",
    "hub_to_lapua",
    "innokyla_to_hub",
    "hub_to_innokyla",
]
#: the exchange after which the case system's nightly job runs, and that case system: what
#: the employment authority sent shows in its next export
NIGHTLY_AFTER, CASE_SYSTEM = "employment_authority_to_county", "county_case_system"


def _prepare_env(home: Path) -> None:
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    key_file = ensure_key_file(home / "master.key")
    airflow_home = home / "airflow"
    os.environ.update(
        {
            "HUB_HOME": str(home),
            "HUB_MASTER_KEY_FILE": str(key_file),
            "HUB_STORE_URL": f"sqlite:///{home / 'hub.db'}",
            "AIRFLOW_HOME": str(airflow_home),
            # the DAG files import the DAGs from the installed hub package (hub.airflow)
            DAGS_FOLDER_ENV: str(write_dag_folder(airflow_home / "dags")),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        }
    )
    os.environ.pop("HUB_MASTER_KEY", None)


def _airflow_db_migrate(home: Path) -> None:
    log = home / "airflow-db-migrate.log"
    with open(log, "w") as fh:
        done = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], stdout=fh, stderr=subprocess.STDOUT
        )
    if done.returncode:
        raise SystemExit(f"airflow db migrate failed; see {log}")


def send_output_to(log_file: Path) -> None:
    """Send Airflow's and the hub's output to ``log_file`` (identity codes redacted) from now
    on. Airflow binds ``sys.stdout`` when it first logs, so the file stays open until the
    demo process ends; the demo itself prints to the terminal it saved."""
    from hub.privacy import install_log_redaction

    fh = open(log_file, "a", buffering=1)
    handler = logging.StreamHandler(fh)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    install_log_redaction()
    sys.stdout = sys.stderr = fh


def run_dag(dag_id: str):
    """Run one DAG of the dags folder with dag.test()."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ[DAGS_FOLDER_ENV])
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    return bag.dags[dag_id].test()


def _say_held_back(hub, say) -> None:
    """What each exchange's legal basis did not cover, per rule, and why (never sent)."""
    from hub.store import heldback

    with hub.store.transaction() as conn:
        held = heldback.summary(conn)
    if not held:
        return
    say()
    say("held back (not covered by the exchange's legal basis; never sent):")
    for h in held:
        parts = f", {h.parts} sent without {h.items} item(s)" if h.parts else ""
        say(f"  {h.exchange} / {h.rule}: {h.records} record(s) held back{parts}")
        say(f"      e.g. {h.reason}")


#: the figures the demo shows per practice model and quarter (all municipalities)
SHOWN = (
    ("participants", None, "people"),
    ("ended", None, "ended"),
    ("transitions", "employment", "to work"),
    ("moved_on_share", None, "moved on %"),
    ("interruption_rate", None, "interr. %"),
    ("waiting_days_mean", None, "wait d"),
    ("feedback_mean", None, "feedback"),
    ("kykyviisari_change_work_ability", None, "work ab. +"),
    ("follow_up_3m_moved_on_share", None, "3 mo %"),
)


def _say_indicators(hub, home: Path, say) -> None:
    """What Innokylä holds now: per practice model and quarter, the main figures as
    published ("x": withheld — a small count, too few people, or so that no other
    figure can be worked out)."""
    from hub.model import Indicator
    from hub.store import records

    with hub.store.transaction() as conn:
        held = [
            Indicator.model_validate(r.data)
            for r in records.iter_entity(conn, hub.keys, Indicator.entity_name)
        ]
    if not held:
        return
    suppressed = sum(1 for i in held if i.suppressed)
    table: dict[tuple, dict] = {}
    for i in held:
        if not i.municipality_codes:
            row = table.setdefault((i.practice_model, i.period_start, i.period_end), {})
            row[(str(i.code), i.category)] = i.published_value()
    say()
    say(
        f"indicators on Innokylä: {len(held)} figures ({suppressed} withheld as x), "
        f"{len(table)} model-periods, {sum(1 for i in held if i.municipality_codes)} "
        "of them per municipality:"
    )
    say(f"  {'practice model':<38}{'period':<9}" + "".join(f"{h:>11}" for *_, h in SHOWN))
    for (model, start, end), row in sorted(table.items()):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        label = {3: f"Q{(start.month - 1) // 3 + 1}", 6: f"H{(start.month - 1) // 6 + 1}"}
        period = f"{start.year}-{label[months]}" if months in label else str(start.year)
        cells = "".join(f"{row.get((c, k), '-'):>11}" for c, k, _ in SHOWN)
        say(f"  {model[:37]:<38}{period:<9}{cells}")
    say(f"what the next release would publish: HUB_HOME={home} uv run hub indicators preview")


def _say_logs(hub, home: Path, say) -> bool:
    """Verify the access and disclosure logs against their hash chain, as ``hub audit
    verify`` does, and say how to read them (True: intact)."""
    from hub.audit.verify import verify_store

    report = verify_store(hub.store, hub.settings.seal_key(), checkpoint=False)
    state = "intact" if report.intact else f"ALTERED: {len(report.problems)} problem(s)"
    say()
    say(f"access and disclosure logs: {report.entries} chain entries, {state}")
    say(f"verify them:           HUB_HOME={home} uv run hub audit verify")
    say(
        f"a client's log extract: HUB_HOME={home} HUB_CONTROLLER='Demo county' "
        "uv run hub audit person --auditor auditor"
    )
    return report.intact


def main(size: int = 60, home: Path | None = None) -> int:
    home = (home or DEFAULT_HOME).resolve()
    _prepare_env(home)
    print(f"hub demo: data folder {home}")
    from hub import sandbox_plan as plan
    from hub.plugins import sandbox_registry

    servers = plan.plan(plan.in_use(), sandbox_registry())
    running = plan.start(servers, seed=1, size=size)  # each on any free port
    for system, served in running.items():
        os.environ[f"HUB_SYSTEM_{system.upper()}_URL"] = served.base_url
        print(f"  sandbox {system:<22} {served.base_url}")
    from hub.engine import Hub

    print("  preparing the hub's store (hub db upgrade) ...", flush=True)
    Hub.open(upgrade=True).close()  # the explicit first step, as in production
    print("  preparing Airflow (SQLite metadata database) ...", flush=True)
    _airflow_db_migrate(home)

    from hub.engine.run import summarise
    from hub.exchanges import target_stream
    from hub.store import runs, users

    airflow_log = home / "airflow-runs.log"
    terminal = sys.stdout
    say = functools.partial(print, file=terminal, flush=True)
    send_output_to(airflow_log)
    summaries = []
    try:
        for name in ORDER:
            say(f"  running DAG hub_{name} ...")
            dag_run = run_dag(f"hub_{name}")
            hub = Hub.open()
            exchange = hub.config.exchange(name)
            kept = not any(target_stream(exchange, f).delivers for f in exchange.entities)
            summaries.append((summarise(hub, name, dag_run.run_id), kept))
            hub.close()
            if name == NIGHTLY_AFTER and CASE_SYSTEM in running:
                # the case system's nightly job: what was imported shows in the next export
                httpx.post(f"{running[CASE_SYSTEM].url}/_sandbox/nightly", trust_env=False)
    finally:
        plan.stop(running)

    say()
    say(
        f"{'exchange':<32}{'run':<22}{'read':>6}{'new/chg':>9}{'delivered':>11}"
        f"{'skipped':>9}{'held back':>11}{'failed':>8}{'open dead letters':>19}"
    )
    for s, kept in summaries:
        delivered = f"{s.upserted} kept" if kept else str(s.delivered)
        say(
            f"{s.exchange:<32}{s.state:<22}{s.read:>6}{s.upserted:>9}{delivered:>11}"
            f"{s.skipped:>9}{s.held_back:>11}{s.failed:>8}{s.open_dead_letters:>19}"
        )
    with_failures = [s.exchange for s, _ in summaries if s.state == runs.SUCCESS_WITH_FAILURES]
    if with_failures:
        say(f"completed with failed records (dead letters): {', '.join(with_failures)}")
    hub = Hub.open()
    _say_held_back(hub, say)
    _say_indicators(hub, home, say)
    say()
    say(f"store:        {hub.store.display_url}")
    say(f"airflow log:  {airflow_log}")
    say(f"inspect the failures:  HUB_HOME={home} uv run hub failures list")
    say(f"what was held back:    HUB_HOME={home} uv run hub exchanges held-back NAME")
    say("('kept': read into the hub's store for the indicators, not sent anywhere)")
    logs_intact = _say_logs(hub, home, say)
    password, auditing = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    with hub.store.transaction() as conn:
        users.set_user(conn, "demo", password, "operator")
        users.set_user(conn, "auditor", auditing, "auditor")
    hub.close()
    say()
    say(f"dashboard:  HUB_HOME={home} uv run hub web   → http://127.0.0.1:8780/")
    say(f"            sign in as demo / {password} (operator; a local demo user)")
    say(f"            or as auditor / {auditing} (the log extract page)")
    say("            to replay deliveries, serve the sandboxes too: uv run hub sandbox serve")
    # a run that completed with failed records is a demo that worked: the sandboxes break
    # some records on purpose, and they wait as dead letters for the operator to see
    ok = logs_intact and all(
        s.state in runs.COMPLETED and (s.upserted if kept else s.delivered) > 0
        for s, kept in summaries
    )
    if not ok:
        say("demo: an exchange failed or delivered nothing; see the airflow log")
    return 0 if ok else 1
