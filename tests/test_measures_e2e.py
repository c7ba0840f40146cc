"""The source side of the measures end to end over real HTTP, on SQLite and PostgreSQL: the
hub reads the county's episodes with their referral date, municipality and coded
interruption reason, and keeps the follow-ups and feedback (county_to_hub) without sending
any of it on; records the county enters late (an assessment, a corrected outcome, a
follow-up) reach the hub with the next nightly export."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from conftest import BOTH_STORES
from hub_municipal import data
from sqlalchemy import func, select

from hub.engine import Hub, run_exchange
from hub.exchanges import load_exchanges
from hub.model import (
    Assessment,
    EpisodeOutcome,
    Feedback,
    FollowUp,
    InterruptionReason,
    ServiceEpisode,
)
from hub.settings import DEFAULT_EXCHANGES
from hub.store import records
from hub.store import schema as t
from hub.synthetic import person
from hub.testing.fixtures import SANDBOX_SEED, SANDBOX_SIZE

pytestmark = BOTH_STORES
COUNTY = "county_case_system"


@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    yield h
    h.close()


def run(hub, name):
    summary = run_exchange(hub, name)
    assert summary.state == "success", f"{name}: {summary.error}"
    return summary


def stored(hub, entity) -> list:
    with hub.store.transaction() as conn:
        return [
            entity.model_validate(r.data)
            for r in records.iter_entity(conn, hub.keys, entity.entity_name)
        ]


def county_codes() -> list[str]:
    config = load_exchanges(DEFAULT_EXCHANGES.path())
    return list(config.systems[COUNTY].options["municipality_codes"])


def listed(hub_env, element: str) -> int:
    url = f"{hub_env[COUNTY].base_url}/exports"
    exports = httpx.get(url, trust_env=False).json()["exports"]
    return sum(e.get("counts", {}).get(element, 0) for e in exports)


def test_the_hub_keeps_the_new_fields_and_records_and_sends_none_of_them(hub, hub_env):
    run(hub, "county_to_employment_authority")
    run(hub, "county_to_hub")
    episodes = stored(hub, ServiceEpisode)
    assert len(episodes) == SANDBOX_SIZE
    county = set(county_codes())
    assert all(e.referral_date and e.municipality_code in county for e in episodes)
    interrupted = [e for e in episodes if e.status == "interrupted"]
    assert interrupted and all(e.interruption_code for e in interrupted)
    assert len({e.interruption_code for e in interrupted}) >= 5
    # the follow-ups and the feedback are kept whole, as many as the exports hold
    follow_ups, feedback = stored(hub, FollowUp), stored(hub, Feedback)
    assert len(follow_ups) == listed(hub_env, "followUp") > 0
    assert len(feedback) == listed(hub_env, "feedback") > 0
    assert {f.months_after for f in follow_ups} == {3, 6}
    # the employment authority is told of the periods, nothing of what measures them
    sent = hub_env.received("employment_authority")
    assert sent
    text = json.dumps(sent)
    for name in ("referral", "municipality", "interruptionCode", "outcome", "satisfaction"):
        assert name not in text
    with hub.store.transaction() as conn:
        queued = conn.execute(
            select(func.count()).where(t.outbox.c.exchange == "county_to_hub")
        ).scalar()
    assert queued == 0  # kept in the hub, sent nowhere


def test_records_entered_late_reach_the_hub_with_the_next_nightly_export(hub, hub_env):
    run(hub, "county_to_employment_authority")
    run(hub, "county_to_hub")
    i = next(i for i in range(SANDBOX_SIZE) if data.schedule(i).status == "INTERRUPTED")
    p = person(SANDBOX_SEED, i)
    ep = data.episode(p, i, seed=SANDBOX_SEED, municipalities=county_codes())
    end = dt.date.fromisoformat(ep["actualEndDate"])
    ref = {"hetu": p.hetu, "serviceCode": ep["serviceCode"], "episodeStart": ep["startDate"]}
    corrected = {
        **ep,
        "outcome": "PALKKATUKI",
        "interruptionReason": "Asiakas siirtyi palkkatukityöhön",
        "interruptionCode": "SIIRTYMA",
    }
    hub_env.control(
        COUNTY,
        "records",
        "POST",
        json=[
            {
                "kind": "assessment",
                "fields": {"hetu": p.hetu, "assessedOn": end.isoformat(), "workAbility": "7"},
            },
            {"kind": "episode", "id": data.record_id("episode", i), "fields": corrected},
            {
                "kind": "followUp",
                "fields": {
                    **ref,
                    "monthsAfter": "6",
                    "observedOn": min(end + dt.timedelta(days=190), data.TODAY).isoformat(),
                    "situation": "PALKKATUKI",
                },
            },
        ],
    )
    assert hub_env.control(COUNTY, "nightly", "POST").json()["records"] == 3
    run(hub, "county_to_employment_authority")
    run(hub, "county_to_hub")
    [episode] = [e for e in stored(hub, ServiceEpisode) if str(e.client_hetu) == p.hetu]
    assert episode.outcome == EpisodeOutcome.PAY_SUBSIDY
    assert episode.interruption_code == InterruptionReason.TRANSFERRED
    late = [a for a in stored(hub, Assessment) if str(a.client_hetu) == p.hetu]
    assert [a.work_ability for a in late if a.assessed_on == end] == [7]
    mine = [f for f in stored(hub, FollowUp) if str(f.client_hetu) == p.hetu]
    assert any(f.months_after == 6 and f.situation == EpisodeOutcome.PAY_SUBSIDY for f in mine)
    assert all(f.episode_key() == episode.key() for f in mine)
