"""Both exchanges end to end over real HTTP against the sandboxes, on SQLite and PostgreSQL:
counts, failures with reasons, no redelivery, retries, dead letters, replay, minimisation,
access and disclosure logs."""

import json

import pytest
from conftest import BOTH_STORES
from sqlalchemy import func, select

from hub.engine import Hub, replay, run_exchange
from hub.privacy import HETU_PATTERN
from hub.store import deadletters, subjects
from hub.store import schema as t
from hub.synthetic import person
from hub.testing.fixtures import SANDBOX_SEED, SANDBOX_SIZE

pytestmark = BOTH_STORES


@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    yield h
    h.close()


def letters(hub, **filters):
    with hub.store.transaction() as conn:
        return deadletters.list_letters(conn, limit=10_000, **filters)


def test_employment_authority_to_county(hub, hub_env):
    summary = run_exchange(hub, "employment_authority_to_county")
    assert summary.state == "success_with_failures", summary.error
    assert summary.read > 0 and summary.delivered > 0
    assert summary.delivered == len(hub_env.received("county_case_system"))
    # the sandbox's deliberate rule breaker (5 days a week of KTT) is a dead letter naming
    # the record, the field and the rule, and not a word about who it is
    failed = letters(hub, exchange="employment_authority_to_county")
    assert failed and summary.failed == len(failed)
    rule = [f for f in failed if f.error_class == "rule"]
    assert rule and rule[0].field == "days_per_week"
    assert "employment_authority/service_periods/" in rule[0].reason
    assert "above the maximum 4" in rule[0].reason
    assert not any(HETU_PATTERN.search(f.reason) for f in failed)
    # nothing changed at the source: a second run delivers nothing again
    again = run_exchange(hub, "employment_authority_to_county")
    assert again.state == "success" and again.delivered == 0 and again.upserted == 0
    assert len(hub_env.received("county_case_system")) == summary.delivered


def test_only_allowed_fields_leave_the_hub(hub, hub_env):
    """county_case_system → employment_authority may send six episode fields: days, hours
    and decision and plan dates never reach the employment authority; the disclosure log
    says what was sent."""
    hub_env.control("county_case_system", "nightly", "POST")
    summary = run_exchange(hub, "county_to_employment_authority")
    assert summary.state == "success", summary.error
    assert summary.delivered > 0
    sent = json.dumps(hub_env.received("employment_authority"))
    for word in (
        "daysPerWeek",
        "hoursPerDay",
        "days_per_week",
        "hours_per_day",
        "plannedEnd",
        "decisionDate",
        "planned_end_date",
        "decision_date",
    ):
        assert word not in sent
    allowed = set(
        hub.config.exchange("county_to_employment_authority").flow("ServiceEpisode").fields
    )
    with hub.store.transaction() as conn:
        rows = list(
            conn.execute(
                select(t.disclosure_log, t.disclosures).join(
                    t.disclosures, t.disclosures.c.id == t.disclosure_log.c.disclosure_id
                )
            )
        )
    assert rows and all(set(r.fields.split(",")) <= allowed for r in rows)
    assert {(r.target_system, r.legal_basis) for r in rows} == {
        ("employment_authority", hub.config.exchange("county_to_employment_authority").legal_basis)
    }
    assert {r.outcome for r in rows} <= {"ok", "skipped"}
    assert all(r.subject_id for r in rows)  # every disclosure is found by the person


def test_transient_faults_are_retried(hub, hub_env):
    hub_env.faults("employment_authority", rate_limit_every=3, retry_after=1)
    hub_env.faults("county_case_system", unavailable_every=2, retry_after=1)
    summary = run_exchange(hub, "employment_authority_to_county")
    assert summary.state == "success_with_failures", summary.error
    assert summary.delivered == len(hub_env.received("county_case_system")) > 0


def test_rejected_deliveries_are_dead_letters_and_replay_after_fix(hub, hub_env):
    hub_env.faults("county_case_system", reject_writes=True)
    first = run_exchange(hub, "employment_authority_to_county")
    assert first.delivered == 0
    rejected = letters(hub, exchange="employment_authority_to_county", stage="deliver")
    assert len(rejected) > 0 and all(r.record_id for r in rejected)
    assert hub_env.received("county_case_system") == []
    # fix (the target accepts again) and replay: delivered once, the count drops to zero
    hub_env.faults("county_case_system")
    results = replay(hub, [r.id for r in rejected], actor="test")
    assert all(r.ok for r in results)
    assert len(hub_env.received("county_case_system")) == len(rejected)
    assert letters(hub, exchange="employment_authority_to_county", stage="deliver") == []
    # replaying again is a no-op
    again = replay(hub, [r.id for r in rejected], actor="test")
    assert all("nothing to do" in r.detail for r in again)
    assert len(hub_env.received("county_case_system")) == len(rejected)


def test_malformed_source_records_are_kept_and_replayable(hub, hub_env):
    hub_env.faults("employment_authority", malformed_every=10)
    summary = run_exchange(hub, "employment_authority_to_county")
    assert summary.state == "success_with_failures"
    broken = [
        f
        for f in letters(hub, exchange="employment_authority_to_county")
        if f.error_class == "invalid"
    ]
    assert broken, "the malformed records must be dead letters"
    for letter in broken:
        assert letter.field and letter.stage == "translate" and letter.payload is not None
        assert not HETU_PATTERN.search(letter.reason)
    # a corrected payload replays through translation, validation, store and delivery
    period = next(f for f in broken if f.stream == "service_periods")
    with hub.store.transaction() as conn:
        row = deadletters.get(conn, period.id)
    kept = deadletters.payload_of(hub.keys, row)
    assert kept["native_id"] in row.native_ref and kept["data"]["daysPerWeek"] == "viisi"
    before = len(hub_env.received("county_case_system"))
    fixed = {**kept["data"], "daysPerWeek": 3}
    results = replay(hub, [period.id], actor="test", corrected={period.id: fixed})
    assert [r.ok for r in results] == [True]
    delivered = hub_env.received("county_case_system")
    assert len(delivered) == before + 1
    assert delivered[-1]["kind"] == "episode" and delivered[-1]["daysPerWeek"] == "3"
    assert period.id not in [f.id for f in letters(hub, exchange="employment_authority_to_county")]


def test_access_log_records_every_client_received(hub, hub_env):
    run_exchange(hub, "employment_authority_to_county")
    with hub.store.transaction() as conn:
        people = set(
            conn.execute(
                select(t.records.c.subject_id).where(t.records.c.subject_id.isnot(None))
            ).scalars()
        )
        logged = set(conn.execute(select(t.access_log.c.subject_id)).scalars())
        assert people and people <= logged
        # asked by identity code: who read this person's data, when and why
        known = [
            subject_id
            for i in range(SANDBOX_SIZE)
            if (subject_id := subjects.id_of(conn, hub.keys, person(SANDBOX_SEED, i).hetu))
        ]
        assert set(known) == people  # every person received is found by their identity code
        subject_id = known[0]
        events = conn.execute(
            select(t.access_events.c.actor, t.access_events.c.action, t.access_events.c.purpose)
            .join(t.access_log, t.access_log.c.event_id == t.access_events.c.id)
            .where(t.access_log.c.subject_id == subject_id)
        ).all()
    assert events
    for actor, action, purpose in events:
        assert (actor, action) == ("exchange:employment_authority_to_county", "receive")
        assert purpose.startswith("received from employment_authority/") and "189/2001" in purpose


REFUSE_LOG = {
    "sqlite": [
        "CREATE TRIGGER no_log BEFORE INSERT ON disclosure_log "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION no_log() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER no_log BEFORE INSERT ON disclosure_log "
        "FOR EACH ROW EXECUTE FUNCTION no_log()",
    ],
}
ALLOW_LOG = {
    "sqlite": ["DROP TRIGGER no_log"],
    "postgresql": ["DROP TRIGGER no_log ON disclosure_log", "DROP FUNCTION no_log()"],
}


def test_nothing_is_sent_when_the_disclosure_log_cannot_be_written(hub, hub_env):
    """As an X-Road security server refuses to pass messages it cannot log."""
    from sqlalchemy import text

    with hub.store.transaction() as conn:
        for sql in REFUSE_LOG[hub.store.dialect]:
            conn.execute(text(sql))
    summary = run_exchange(hub, "employment_authority_to_county")
    assert summary.state == "failed"
    assert "disclosure log cannot be written" in summary.error
    assert hub_env.received("county_case_system") == []
    with hub.store.transaction() as conn:
        for sql in ALLOW_LOG[hub.store.dialect]:
            conn.execute(text(sql))
    summary = run_exchange(hub, "employment_authority_to_county")
    assert summary.state == "success" and summary.delivered > 0
    assert len(hub_env.received("county_case_system")) == summary.delivered


def test_two_systems_of_one_adapter_are_kept_apart(hub_env, tmp_path, monkeypatch):
    """A system is an instance of an adapter (``systems.<name>.adapter``): the county's case
    system and a municipality's own are two systems of the municipal adapter, each served by
    a sandbox of its own; an exchange from the second is declared, checked and run on its
    own, and what each gives is stored as its own."""
    import yaml

    from hub.exchanges import check_against_adapters, load_exchanges
    from hub.settings import DEFAULT_EXCHANGES

    data = yaml.safe_load(DEFAULT_EXCHANGES.read_text())
    data["exchanges"]["seinajoki_to_hub"] = data["exchanges"]["county_to_hub"] | {
        "source": "seinajoki"
    }
    path = tmp_path / "exchanges.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    monkeypatch.setenv("HUB_EXCHANGES", str(path))
    config = load_exchanges(path)
    assert config.adapter_of("seinajoki") == config.adapter_of("county_case_system") == "municipal"
    assert check_against_adapters(config) == []
    assert hub_env["seinajoki"] is not hub_env["county_case_system"]

    hub = Hub.open()
    try:
        county, town = run_exchange(hub, "county_to_hub"), run_exchange(hub, "seinajoki_to_hub")
        assert county.state == town.state == "success", (county.error, town.error)
        assert county.upserted > 0 and town.upserted > 0
        with hub.store.transaction() as conn:
            origins = dict(
                conn.execute(
                    select(t.records.c.origin_system, func.count())
                    .where(
                        t.records.c.entity.in_(  # Assessment, FollowUp, ..., IncomeSupportMonth
                            [f.entity for f in config.exchanges["county_to_hub"].entities]
                        )
                    )
                    .group_by(t.records.c.origin_system)
                ).all()
            )
        assert origins == {"county_case_system": county.upserted, "seinajoki": town.upserted}
    finally:
        hub.close()
