"""Retention with a clock: real exchange runs over the sandboxes, then purges at times just
under and just over each period (on SQLite and PostgreSQL). Nothing goes early; what is
due goes, in batches, with the dry run's counts; records waiting for delivery, held back or
named by an open dead letter stay however old; a dead letter's payload goes before the
letter; the logs stay twelve years and then go with their chain still verifying; people
nothing refers to any more go last; a bad retention setting is refused, naming the file and
the key."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from conftest import BOTH_STORES
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from support.states import first_run_state

from hub.cli import main as cli
from hub.engine import Hub, run_exchange
from hub.errors import ConfigError
from hub.exchanges import load_exchanges
from hub.retention.purge import due, purge
from hub.settings import DEFAULT_EXCHANGES
from hub.store import deadletters, outbox
from hub.store import schema as t
from hub.store.outbox import DELIVERED, HELD, PENDING, SKIPPED
from hub.store.runs import SUCCESS, SUCCESS_WITH_FAILURES

DAY = relativedelta(days=1)


@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    yield h
    h.close()


def run(hub, name, state: str | None = None, **kwargs):
    """Run ``name``; it ends ``state`` (default: as a first run on the sandboxes' data)."""
    summary = run_exchange(hub, name, **kwargs)
    assert summary.state == (state or first_run_state(name)), f"{name}: {summary.error}"
    return summary


def rows(hub, query) -> list:
    with hub.store.transaction() as conn:
        return conn.execute(query).all()


def count(hub, table, *where) -> int:
    return rows(hub, select(func.count()).select_from(table).where(*where))[0][0]


def purged(hub, at: dt.datetime, batch_size: int = 7) -> dict[str, int]:
    """A dry run and the purge after it at ``at``: the same counts, line by line; and no
    identity-map entry, outbox or held-back row left pointing nowhere. The totals."""
    dry = purge(hub, at=at, dry_run=True)
    done = purge(hub, at=at, batch_size=batch_size, actor="test")
    assert [(d.kind, d.scope, d.count) for d in dry.lines] == [
        (d.kind, d.scope, d.count) for d in done.lines
    ]
    for table in (t.identity_map, t.outbox, t.held_back):
        dangling = select(table.c.record_id).where(~table.c.record_id.in_(select(t.records.c.id)))
        assert rows(hub, dangling) == [], table.name
    return done.totals()


def nothing(totals: dict[str, int]) -> bool:
    return not any(totals.values())


def scenario(hub, hub_env) -> None:
    """Records delivered, held back, waiting for delivery and failed, from several legal
    bases; dead letters open and resolved; an exchange run twice."""
    run(hub, "employment_authority_to_county")
    run(hub, "employment_authority_to_county", SUCCESS)  # nothing new: the first is history
    hub_env.control("county_case_system", "nightly", "POST")
    run(hub, "county_to_hub")
    hub_env.faults("employment_authority", reject_writes=True)
    # every delivery an open dead letter
    run(hub, "county_to_employment_authority", SUCCESS_WITH_FAILURES)
    hub_env.faults("employment_authority")
    run(hub, "county_to_kela")  # KTT attendance sent, the rest held back
    run(hub, "kela_to_seinajoki")  # the bill: records kept 7 years
    run(hub, "kela_to_county", phases=("check", "extract"))  # read, not yet delivered
    with hub.store.transaction() as conn:  # one held record went after all (a correction)
        first_held = conn.execute(
            select(func.min(t.outbox.c.id)).where(t.outbox.c.status == HELD)
        ).scalar_one()
        outbox.mark(conn, [(first_held, DELIVERED, None)], bump_attempts=False)
    with hub.store.transaction() as conn:
        for letter in deadletters.list_letters(
            conn, limit=1000, exchange="employment_authority_to_county"
        ):
            deadletters.set_status(conn, letter.id, deadletters.RESOLVED, "fixed at the source")


def kept_whatever_their_age(hub) -> set[str]:
    """Records an outbox row waits to deliver or holds back, or an open dead letter names."""
    o, dl = t.outbox.c, t.dead_letters.c
    waiting = rows(hub, select(o.record_id).where(o.status.in_([PENDING, HELD])))
    failed = rows(
        hub,
        select(dl.record_id).where(dl.status == deadletters.OPEN, dl.record_id.is_not(None)),
    )
    return {r for (r,) in waiting + failed}


@BOTH_STORES
def test_each_period_removes_nothing_early_and_what_is_due_after(hub, hub_env):
    start = dt.datetime.now(dt.UTC)
    scenario(hub, hub_env)
    dl, o, r = t.dead_letters.c, t.outbox.c, t.records.c
    resolved = count(hub, t.dead_letters, dl.status == deadletters.RESOLVED)
    with_payload = count(
        hub, t.dead_letters, dl.status == deadletters.RESOLVED, dl.payload.is_not(None)
    )
    still_open = rows(hub, select(dl.id, dl.payload).where(dl.status == deadletters.OPEN))
    delivered = count(hub, t.outbox, o.status.in_([DELIVERED, SKIPPED]))
    keep = kept_whatever_their_age(hub)
    bills = count(hub, t.records, r.origin_system == "kela_seinajoki")
    held_rows = count(hub, t.outbox, o.status == HELD)
    assert resolved and with_payload and still_open and delivered and bills and held_rows
    assert count(hub, t.outbox, o.status == PENDING) and count(hub, t.records) > len(keep)

    # just under 30 days: nothing at all
    assert nothing(purged(hub, start + relativedelta(days=30) - DAY))
    # just over: the payloads of resolved letters, and nothing else
    totals = purged(hub, start + relativedelta(days=30) + DAY)
    assert totals.pop("dead_letter_payloads") == with_payload and nothing(totals)
    assert count(hub, t.dead_letters, dl.status == deadletters.RESOLVED) == resolved
    assert (
        count(hub, t.dead_letters, dl.status == deadletters.RESOLVED, dl.payload.is_not(None)) == 0
    )
    assert rows(hub, select(dl.id, dl.payload).where(dl.status == deadletters.OPEN)) == still_open

    # a year: the resolved letters themselves, and the outbox rows of what was delivered
    assert nothing(purged(hub, start + relativedelta(years=1) - DAY))
    totals = purged(hub, start + relativedelta(years=1) + DAY)
    assert totals["dead_letters"] == resolved and totals["outbox"] == delivered
    assert count(hub, t.dead_letters, dl.status != deadletters.OPEN) == 0
    assert count(hub, t.outbox, o.status.in_([DELIVERED, SKIPPED])) == 0
    assert count(hub, t.outbox, o.status == HELD) == held_rows

    # two years: the held-back log (but the holds of what is still held) and old runs
    assert nothing(purged(hub, start + relativedelta(years=2) - DAY))
    totals = purged(hub, start + relativedelta(years=2) + DAY)
    assert totals["held_back"] > 0 and totals["runs"] == 1 and totals["run_batches"] > 0
    still_held = select(func.count(func.distinct(t.held_back.c.record_id)))
    assert rows(hub, still_held)[0][0] == held_rows
    assert count(hub, t.runs, t.runs.c.exchange == "employment_authority_to_county") == 1

    # seven years: Kela's bills (the Accounting Act's period, declared per exchange)
    assert nothing(purged(hub, start + relativedelta(years=7) - DAY))
    totals = purged(hub, start + relativedelta(years=7) + DAY)
    assert (
        totals["records"] == bills
        and count(hub, t.records, r.origin_system == "kela_seinajoki") == 0
    )

    # ten years: every other record, but those waiting, held back or with an open letter
    assert nothing(purged(hub, start + relativedelta(years=10) - DAY))
    totals = purged(hub, start + relativedelta(years=10) + DAY)
    assert totals["records"] > 0
    assert {rid for (rid,) in rows(hub, select(r.id))} == keep
    for table in (t.identity_map, t.outbox):
        assert {rid for (rid,) in rows(hub, select(table.c.record_id).distinct())} <= keep
    assert rows(hub, select(dl.id, dl.payload).where(dl.status == deadletters.OPEN)) == still_open

    # what was removed is itself on record
    done = rows(hub, select(t.purges).order_by(t.purges.c.id))
    assert len(done) == 10 and all(p.finished_at and p.error is None for p in done)
    assert json.loads(done[-1].counts)["records"]


@BOTH_STORES
def test_logs_stay_twelve_years_then_go_with_the_chain_verifying(hub, hub_env):
    from hub.audit.verify import verify_store

    start = dt.datetime.now(dt.UTC)
    run(hub, "employment_authority_to_county")
    hub_env.control("county_case_system", "nightly", "POST")
    run(hub, "county_to_hub")
    lc, s = t.log_chain.c, t.subjects.c
    entries, people = count(hub, t.log_chain), count(hub, t.subjects)
    assert entries and people

    # every record is long gone, but the logs name the people: they stay
    totals = purged(hub, start + relativedelta(years=12) - DAY)
    assert totals["records"] > 0 and totals["logs"] == 0
    assert count(hub, t.log_chain) == entries and count(hub, t.subjects) == people
    assert count(hub, t.records) == 0

    # twelve years after the entries: the logs go, and the people with them
    totals = purged(hub, start + relativedelta(years=12) + DAY)
    assert totals["logs"] == entries and totals["subjects"] == people
    assert count(hub, t.log_chain) == 0 and count(hub, t.subjects) == 0
    for table in (t.access_events, t.access_log, t.disclosures, t.disclosure_log):
        assert count(hub, table) == 0, table.name
    anchors = count(hub, t.log_checkpoints, t.log_checkpoints.c.kind == "anchor")
    assert anchors == 1

    # the chain goes on from its anchor and verifies, with what came after
    run(hub, "kela_to_county")
    assert count(hub, t.log_chain, lc.seq > entries) > 0
    report = verify_store(hub.store, None, checkpoint=False)
    assert report.intact, [str(p) for p in report.problems]
    assert count(hub, t.subjects, s.id > 0) > 0


@BOTH_STORES
def test_people_still_referred_to_stay(hub, hub_env):
    """A person goes only once nothing refers to them: a record waiting for delivery keeps
    its person however old the logs are."""
    start = dt.datetime.now(dt.UTC)
    run(hub, "kela_to_county", phases=("check", "extract"))
    r, o = t.records.c, t.outbox.c
    waiting = {sid for (sid,) in rows(hub, select(r.subject_id).where(r.subject_id.is_not(None)))}
    assert waiting and count(hub, t.outbox, o.status == PENDING)
    totals = purged(hub, start + relativedelta(years=50))
    assert totals["records"] == 0 and totals["subjects"] == 0
    assert {sid for (sid,) in rows(hub, select(t.subjects.c.id))} >= waiting


def test_the_command_shows_the_cutoffs_and_removes_only_without_dry_run(hub, hub_env, capsys):
    start = dt.datetime.now(dt.UTC)
    run(hub, "employment_authority_to_county")
    records = count(hub, t.records)
    later = (start + relativedelta(years=10) + DAY).isoformat()

    assert cli(["purge", "--dry-run", "--json", "--now", later]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] and report["purge_id"] is None
    assert report["totals"]["records"] == records and count(hub, t.records) == records
    lines = {(d["kind"], d["scope"]): d for d in report["lines"]}
    episodes = lines[("records", "employment_authority/ServiceEpisode")]
    assert episodes["period"] == "10y" and episodes["before"].startswith(
        (start + DAY).date().isoformat()
    )
    assert lines[("logs", "")]["period"] == "12y"

    assert cli(["purge", "--dry-run", "--now", later]) == 0
    shown = capsys.readouterr().out
    assert "would remove" in shown and "employment_authority/ServiceEpisode" in shown
    assert f"{records} " in shown or str(records) in shown

    assert cli(["purge", "--batch-size", "3", "--now", later]) == 0
    assert "rows removed" in capsys.readouterr().out and count(hub, t.records) == 0


def test_the_health_dag_purges_once_a_day(hub, hub_env):
    pytest.importorskip("airflow.sdk")
    from hub.airflow import health

    assert "purge" in health.health_dag().task_ids
    assert due(hub)
    assert "records" in health.purge.function()  # the rows removed, per kind
    assert not due(hub) and health.purge.function() == {}  # once a day
    assert due(hub, every=dt.timedelta(0))
    assert count(hub, t.purges) == 1


def _config_with(tmp_path: Path, retention: dict) -> Path:
    data = yaml.safe_load(DEFAULT_EXCHANGES.path().read_text(encoding="utf-8"))
    data["retention"] = retention
    path = tmp_path / "exchanges.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("retention", "key", "says"),
    [
        ({"logs": "twelve years"}, "retention/logs", "a whole number and a unit"),
        ({"records": "0d"}, "retention/records", "a whole number and a unit"),
        ({"outbox": "3h"}, "retention/outbox", "d (days), w (weeks), m"),
        ({"logs": "1y"}, "retention/logs", "Act 703/2023 § 11"),
        ({"dead_letters": {"payload": "2y"}}, "retention/dead_letters/payload", "longer than"),
        (
            {"exchanges": {"nowhere": {"records": "1y"}}},
            "retention/exchanges/nowhere",
            "no exchange",
        ),
        ({"exchanges": {"county_to_kela": {"records": "ten"}}}, "county_to_kela/records", "unit"),
        (
            {"exchanges": {"county_to_kela": {"dead_letters": {"payload": "3y"}}}},
            "retention/exchanges/county_to_kela/dead_letters/payload",
            "longer than",
        ),
        ({"keep": "1y"}, "retention", "'keep' was unexpected"),
    ],
)
def test_a_bad_retention_setting_is_refused_naming_the_file_and_key(tmp_path, retention, key, says):
    path = _config_with(tmp_path, retention)
    with pytest.raises(ConfigError) as refused:
        load_exchanges(path)
    message = str(refused.value)
    assert str(path) in message and key in message and says in message


def test_a_bad_retention_setting_stops_the_command(tmp_path, monkeypatch, master_key, capsys):
    path = _config_with(tmp_path, {"runs": "forever"})
    monkeypatch.setenv("HUB_EXCHANGES", str(path))
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    assert cli(["purge", "--dry-run"]) == 2
    error = capsys.readouterr().err
    assert str(path) in error and "retention/runs" in error and "'forever'" in error


def test_the_shipped_periods():
    retention = load_exchanges(DEFAULT_EXCHANGES.path()).retention
    assert str(retention.logs) == "12y" and str(retention.records) == "10y"
    assert str(retention.records_of("kela_to_lapua")) == "7y"
    assert str(retention.records_of("county_to_kela")) == "10y"
    at = dt.datetime(2028, 2, 29, 12, tzinfo=dt.UTC)
    assert retention.logs.before(at) == dt.datetime(2016, 2, 29, 12, tzinfo=dt.UTC)
    assert retention.dead_letters.payload.before(at) == at - dt.timedelta(days=30)


@BOTH_STORES
def test_a_purge_while_an_exchange_runs_takes_nothing_the_run_needs(hub, hub_env):
    """Purges eleven years on (every record due, the logs not yet), one after the other
    while a run extracts and delivers: the run completes, every record it read reaches the
    target, nothing points nowhere. (Log entries are never those being written: twelve
    years old.)"""
    import threading

    far = dt.datetime.now(dt.UTC) + relativedelta(years=11)
    outcome: dict = {}

    def run_it():
        other = Hub.open()
        try:
            outcome["summary"] = run_exchange(other, "employment_authority_to_county")
        finally:
            other.close()

    runner = threading.Thread(target=run_it)
    runner.start()
    removed_meanwhile = 0
    while runner.is_alive():
        removed_meanwhile += purge(hub, at=far, batch_size=5).totals()["records"]
    runner.join()
    summary = outcome["summary"]
    assert summary.state == first_run_state("employment_authority_to_county"), summary.error
    assert summary.delivered == len(hub_env.received("county_case_system")) > 0
    # what the run left behind goes cleanly after it: every record it stored, once
    after = purged(hub, far)["records"]
    assert removed_meanwhile + after == summary.upserted and count(hub, t.records) == 0


@BOTH_STORES
def test_the_latest_run_that_completed_with_failed_records_stays(hub, hub_env):
    """A run that completed with failed records is the exchange's latest completed run: it
    stays past the runs' period when a failed run came after it, so the exchange shows as
    stale, not as never having completed."""
    from hub.ops.health import exchange_health

    name = "employment_authority_to_county"
    start = dt.datetime.now(dt.UTC)
    completed = run(hub, name, SUCCESS_WITH_FAILURES)  # the sandbox's rule breakers
    hub_env.faults("employment_authority", unavailable=True)
    run(hub, name, "failed")
    totals = purged(hub, start + relativedelta(years=2) + DAY)
    assert totals["runs"] == 0
    kept = rows(hub, select(t.runs.c.id, t.runs.c.state).where(t.runs.c.exchange == name))
    assert (completed.run_id, SUCCESS_WITH_FAILURES) in kept and len(kept) == 2
    with hub.store.transaction() as conn:
        health = exchange_health(conn, hub.config.exchange(name))
    assert health.last_success is not None
