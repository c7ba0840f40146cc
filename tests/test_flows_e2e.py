"""Every declared flow end to end over real HTTP against the sandboxes, on SQLite and
PostgreSQL: attendance to Kela, Kela's notices to the wellbeing services county and its
bills to the municipalities billed, Innokylä's models into the hub, and the indicators the
hub computes published on Innokylä — with nothing personal and no small count reaching
Innokylä."""

import json
import re

import pytest
from conftest import BOTH_STORES
from sqlalchemy import func, select
from support.states import first_run_state

from hub.engine import Hub, run_exchange
from hub.model import SMALL_COUNT
from hub.privacy import HETU_PATTERN
from hub.store import deadletters
from hub.store import schema as t
from hub.synthetic import FIRST_NAMES, LAST_NAMES, PRACTICE_MODELS, people
from hub.testing.fixtures import SANDBOX_SEED, SANDBOX_SIZE

pytestmark = BOTH_STORES


@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    yield h
    h.close()


def run(hub, name):
    summary = run_exchange(hub, name)
    assert summary.state == first_run_state(name), f"{name}: {summary.error}"
    return summary


def test_attendance_to_kela_carries_no_absences(hub, hub_env):
    """Absences are not Kela's business: the exchange does not allow them. (Which records
    and days Kela gets: tests/test_disclosure_e2e.py.)"""
    run(hub, "county_to_employment_authority")  # the county's decisions, which the rules need
    summary = run(hub, "county_to_kela")
    assert summary.read > 0 and summary.delivered > 0
    sent = json.dumps(hub_env.received("kela_county"))
    assert "absent" not in sent.lower() and "poissa" not in sent.lower()


def test_kela_notices_reach_the_county_and_each_bill_its_municipality(hub, hub_env):
    """Kela's notices go to the county, which organises social work and income support;
    each municipality's bill and benefit days go to that municipality's own system, and a
    second run sends nothing again."""
    notices = run(hub, "kela_to_county")
    assert notices.read > 0 and notices.delivered > 0
    assert {r.get("kind") for r in hub_env.received("county_case_system")} == {"kelaNotice"}
    for town in ("seinajoki", "lapua"):
        bill = run(hub, f"kela_to_{town}")
        assert bill.read > 0 and bill.delivered > 0
        kinds = {r.get("kind") for r in hub_env.received(town)}
        assert kinds == {"billingLine", "benefitDays"}, kinds
    for name in ("kela_to_county", "kela_to_seinajoki", "kela_to_lapua"):
        again = run(hub, name)
        assert again.delivered == 0 and again.upserted == 0


def test_indicators_reach_innokyla_and_nothing_personal_or_small_does(hub, hub_env):
    run(hub, "innokyla_to_hub")
    hub_env.control("county_case_system", "nightly", "POST")
    for name in ("county_to_employment_authority", "county_to_kela", "county_to_hub"):
        run(hub, name)
    with hub.store.transaction() as conn:
        models = conn.execute(
            select(func.count()).where(t.records.c.entity == "PracticeModel")
        ).scalar()
        queued = conn.execute(
            select(func.count()).where(t.outbox.c.exchange == "innokyla_to_hub")
        ).scalar()
    assert models >= len(PRACTICE_MODELS) and queued == 0  # kept in the hub, sent nowhere

    summary = run(hub, "hub_to_innokyla")
    with hub.store.transaction() as conn:
        refused = [f.reason for f in deadletters.list_letters(conn, exchange="hub_to_innokyla")]
    assert summary.delivered > 0 and summary.failed == 0, refused
    published = hub_env.received("innokyla")
    assert {p["practiceModel"] for p in published} <= set(PRACTICE_MODELS)
    text = json.dumps(published, ensure_ascii=False)
    assert not HETU_PATTERN.search(text)
    for person in people(SANDBOX_SEED, SANDBOX_SIZE):
        assert person.hetu not in text
    names = re.compile("|".join(FIRST_NAMES + LAST_NAMES))
    assert not names.search(text)
    for p in published:
        if p["indicator"] in ("participants", "sessions_held") and p["value"] != "x":
            assert float(p["value"]) == 0 or float(p["value"]) >= SMALL_COUNT
    # every withheld figure under one mark, whatever the reason
    assert all(p["value"] != "<5" for p in published)
    assert any(p["value"] == "x" for p in published)
    assert any(p["value"] != "x" for p in published)
    # aggregating is reading: the access log says whose records were read and why
    with hub.store.transaction() as conn:
        aggregated = conn.execute(
            select(func.count(t.access_log.c.subject_id.distinct()))
            .join(t.access_events, t.access_events.c.id == t.access_log.c.event_id)
            .where(
                t.access_events.c.action == "aggregate",
                t.access_events.c.exchange == "hub_to_innokyla",
                t.access_events.c.purpose.contains("innokyla"),
            )
        ).scalar()
    assert aggregated >= SMALL_COUNT  # one row per person whose records were read
    # unchanged figures are not published again
    assert run(hub, "hub_to_innokyla").delivered == 0
