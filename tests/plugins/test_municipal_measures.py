"""What the case system exports for measuring the services, over real HTTP against a
county's sandbox: each episode's referral date, municipality and coded interruption reason,
every kind of outcome, the follow-ups 3 and 6 months after an episode ended and the clients'
feedback; the import taking the episode's new fields; and the sandbox's control that
delivers late records (an assessment, an outcome, a follow-up) in the next nightly export."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from hub_municipal import data, measures
from hub_municipal import mapping as m
from hub_municipal.sandbox import create_app

from hub import sandbox as sb
from hub.adapter import Outcome, SystemConfig, WriteItem
from hub.codelists import interruption_reason
from hub.errors import RecordError
from hub.model import MOVED_ON, EpisodeOutcome, InterruptionReason, ServiceEpisode
from hub.paging.listing import encode_cursor
from hub.plugins import adapter_registry
from hub.synthetic import people, person

SEED, SIZE = 1, 150
#: a county's case system: Etelä-Pohjanmaa's municipalities (some of the synthetic people
#: live elsewhere: Espoo, Vantaa, Jyväskylä)
COUNTY = ("743", "005", "010", "145", "408", "759", "934", "301")
AFTER_SEEDED = encode_cursor(data.EXPORT_IDS[-1], None)


@pytest.fixture(scope="module")
def running() -> Iterator[sb.RunningSandbox]:
    app = create_app(seed=SEED, size=SIZE, municipality_codes=COUNTY)
    r = sb.start(sb.Sandbox("county", "county", lambda **_: app, 0))
    yield r
    r.stop()


@pytest.fixture(scope="module")
def adapter(running):
    config = SystemConfig(
        system="municipal",
        base_url=running.base_url,
        options={"municipality_codes": list(COUNTY)},
    )
    with adapter_registry()["municipal"](config) as a:
        yield a


def control(running, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{running.url}/_sandbox/{path}", trust_env=False, **kwargs)


@pytest.fixture
def fresh(running) -> Iterator[sb.RunningSandbox]:
    """The sandbox in its seeded state; put back so afterwards."""
    control(running, "POST", "reset").raise_for_status()
    yield running
    control(running, "POST", "reset").raise_for_status()


def read(adapter, stream: str, cursor: str | None = None) -> list:
    s = adapter.stream(stream)
    return [s.to_canonical(r) for b in s.read(cursor, 500) for r in b.records]


@pytest.fixture(scope="module")
def episodes(adapter) -> dict[tuple, ServiceEpisode]:
    return {e.key(): e for e in read(adapter, "service_episodes")}


# --- the episodes ---------------------------------------------------------------------------


def test_every_episode_names_its_referral_date_and_a_varied_wait(episodes):
    waits = []
    for ep in episodes.values():
        assert ep.referral_date is not None
        assert ep.referral_date <= ep.decision_date <= ep.start_date
        assert ep.referral_date <= data.TODAY  # nobody is referred in the future
        wait = (ep.start_date - ep.referral_date).days
        if ep.status != "planned":
            assert 5 <= wait <= 90
            waits.append(wait)
    assert len(set(waits)) > 40 and min(waits) < 15 and max(waits) > 80
    assert 35 <= sum(waits) / len(waits) <= 60


def test_every_episode_names_the_municipality_responsible(episodes):
    home = {p.hetu: p.home_municipality for p in people(SEED, SIZE)}
    served = Counter()
    for ep in episodes.values():
        assert ep.municipality_code in COUNTY
        if home[str(ep.client_hetu)] in COUNTY:
            assert ep.municipality_code == home[str(ep.client_hetu)]
        served[ep.municipality_code] += 1
    assert len(served) >= 6  # figures per municipality have something to count


def test_interrupted_episodes_are_coded_as_their_text_says(episodes):
    interrupted = [e for e in episodes.values() if e.status == "interrupted"]
    assert interrupted and all(e.interruption_code and e.interruption_reason for e in interrupted)
    assert all(e.interruption_code is None for e in episodes.values() if e not in interrupted)
    for ep in interrupted:
        from_text = interruption_reason(ep.interruption_reason)
        assert from_text in (ep.interruption_code, None)
        if from_text is None:  # a text the code list does not know: the system coded it
            assert ep.interruption_code == InterruptionReason.OTHER
    assert {e.interruption_code for e in interrupted} == set(InterruptionReason)
    # moving on to work or studies is an interruption too, and its outcome says where
    for ep in interrupted:
        if ep.interruption_code == InterruptionReason.TRANSFERRED:
            assert ep.outcome in MOVED_ON


def test_episodes_end_in_every_kind_of_outcome(episodes):
    outcomes = Counter(e.outcome for e in episodes.values() if e.outcome)
    assert set(outcomes) == set(EpisodeOutcome)
    assert outcomes[EpisodeOutcome.PAY_SUBSIDY] and outcomes[EpisodeOutcome.WORK_TRIAL]


# --- follow-ups and feedback ----------------------------------------------------------------


def test_follow_ups_come_3_and_6_months_after_the_end_once_the_day_has_passed(adapter, episodes):
    found = read(adapter, "follow_ups")
    ended = {k for k, e in episodes.items() if e.status in ("ended", "interrupted")}
    by_episode: dict[tuple, list] = {}
    for f in found:
        assert f.episode_key() in ended, "a follow-up of an episode that has not ended"
        ep = episodes[f.episode_key()]
        due = ep.actual_end_date + dt.timedelta(days=30 * f.months_after - 3)
        assert due <= f.observed_on <= data.TODAY
        by_episode.setdefault(f.episode_key(), []).append(f.months_after)
    assert all(sorted(m) in ([3], [3, 6]) for m in by_episode.values())
    months = Counter(f.months_after for f in found)
    assert months[3] > months[6] > 0
    # most of those whose 3-month day has passed were reached; not everyone
    passed = [k for k in ended if episodes[k].actual_end_date + dt.timedelta(days=106) < data.TODAY]
    assert 0.7 * len(passed) <= len([k for k in passed if k in by_episode]) < len(passed)
    assert len({f.situation for f in found}) >= 6  # situations vary
    # a client who moved on mostly stays where they went
    stayed = [f.situation == episodes[f.episode_key()].outcome for f in found]
    assert sum(stayed) > len(found) / 4


def test_most_clients_whose_episode_ended_gave_feedback(adapter, episodes):
    found = read(adapter, "feedback")
    ended = [k for k, e in episodes.items() if e.status == "ended"]
    assert {f.episode_key() for f in found} <= set(ended)
    assert 0.7 * len(ended) <= len(found) < len(ended)
    for f in found:
        ep = episodes[f.episode_key()]
        assert ep.start_date <= f.given_on <= ep.actual_end_date
    scores = Counter(f.satisfaction for f in found)
    assert set(scores) == {1, 2, 3, 4} and scores[3] + scores[4] > scores[1] + scores[2]


def test_the_listing_counts_the_new_records_from_the_dates_alone(adapter):
    listed = {e.id: e.counts for e in adapter.listing()}
    for index, export_id in enumerate(data.EXPORT_IDS):
        people_ = range(index, SIZE, len(data.EXPORT_IDS))
        expected_follow_ups = sum(
            len(measures.follow_up_dates(i, data.schedule(i), data.TODAY)) for i in people_
        )
        assert listed[export_id][m.FOLLOW_UP.element] == expected_follow_ups > 0
        assert listed[export_id][m.FEEDBACK.element] > 0


def test_a_follow_up_with_months_that_are_no_number_names_the_field():
    fields = {
        "hetu": person(SEED, 0).hetu,
        "serviceCode": "KTT",
        "episodeStart": "2026-01-05",
        "monthsAfter": "three",
        "observedOn": "2026-09-01",
        "situation": "TYO",
    }
    with pytest.raises(RecordError, match="monthsAfter") as caught:
        m.to_canonical(m.FOLLOW_UP, fields, "municipal/follow_ups/S-0000001")
    assert fields["hetu"] not in str(caught.value)
    fields["monthsAfter"] = "4"  # a number, but no follow-up's
    with pytest.raises(ValueError, match="months_after"):
        m.to_canonical(m.FOLLOW_UP, fields, "municipal/follow_ups/S-0000001")


# --- the import takes the episode's new fields ----------------------------------------------


def test_an_imported_episode_carries_the_new_fields_both_ways(adapter, fresh):
    hetu = people(SEED, SIZE + 1)[SIZE].hetu
    sent = ServiceEpisode(
        client_hetu=hetu,
        service_type="rehabilitative_work_activity",
        municipality_code="408",
        referral_date=dt.date(2026, 9, 1),
        decision_date=dt.date(2026, 9, 20),
        start_date=dt.date(2026, 10, 1),
        actual_end_date=dt.date(2026, 11, 1),
        status="interrupted",
        interruption_reason="Asiakas siirtyi palkkatukityöhön",
        interruption_code="transferred",
        outcome="pay_subsidy",
    ).model_dump(mode="json", exclude_none=True)
    stream = adapter.stream("service_episodes")
    native = stream.to_native(sent)
    assert native["referralDate"] == "2026-09-01" and native["municipality"] == "408"
    assert native["interruptionCode"] == "SIIRTYMA" and native["outcome"] == "PALKKATUKI"
    [outcome] = stream.write([WriteItem("late-1", "r1", native)])
    assert outcome.outcome == Outcome.OK, outcome.reason
    [received] = control(fresh, "GET", "received").json()
    assert received["interruptionCode"] == "SIIRTYMA" and received["referralDate"] == "2026-09-01"
    control(fresh, "POST", "nightly").raise_for_status()
    [back] = read(adapter, "service_episodes", AFTER_SEEDED)
    assert back.model_dump(mode="json", exclude_none=True) == sent


def test_an_episode_without_the_case_systems_code_is_coded_from_its_text(adapter, fresh):
    """An episode the employment authority's period made carries only the text: read back
    it is coded as the employment authority's period was, or not at all."""
    hetu = people(SEED, SIZE + 2)[SIZE + 1].hetu
    stream = adapter.stream("service_episodes")
    for n, text in enumerate(["Terveydelliset syyt", "Asiakas lähti ulkomaille"]):
        native = stream.to_native(
            ServiceEpisode(
                client_hetu=hetu,
                service_type="rehabilitative_work_activity",
                start_date=dt.date(2026, 3, 2 + n),
                actual_end_date=dt.date(2026, 4, 1),
                status="interrupted",
                interruption_reason=text,
            ).model_dump(mode="json", exclude_none=True)
        )
        assert "interruptionCode" not in native
        [outcome] = stream.write([WriteItem(f"uncoded-{n}", f"r{n}", native)])
        assert outcome.outcome == Outcome.OK, outcome.reason
    control(fresh, "POST", "nightly").raise_for_status()
    back = {e.interruption_reason: e for e in read(adapter, "service_episodes", AFTER_SEEDED)}
    assert back["Terveydelliset syyt"].interruption_code == InterruptionReason.HEALTH
    assert back["Asiakas lähti ulkomaille"].interruption_code is None


# --- late records: the sandbox's control ----------------------------------------------------


def late(running, records: list) -> httpx.Response:
    return control(running, "POST", "records", json=records)


def test_late_records_reach_the_next_nightly_export(adapter, fresh, episodes):
    i = next(i for i in range(SIZE) if data.schedule(i).status == "ENDED")
    p = person(SEED, i)
    ep = data.episode(p, i, seed=SEED, municipalities=COUNTY)
    assert ep["outcome"] != "TYOKOKEILU"
    end = dt.date.fromisoformat(ep["actualEndDate"])
    ref = {
        "hetu": p.hetu,
        "serviceCode": ep["serviceCode"],
        "episodeStart": ep["startDate"],
    }
    answer = late(
        fresh,
        [
            {  # the last Kykyviisari, filled in on the last day and entered weeks later
                "kind": "assessment",
                "fields": {"hetu": p.hetu, "assessedOn": ep["actualEndDate"], "workAbility": "9"},
            },
            {  # the outcome corrected: the client went on to a work trial
                "kind": "episode",
                "id": data.record_id("episode", i),
                "fields": {**ep, "outcome": "TYOKOKEILU"},
            },
            {
                "kind": "followUp",
                "fields": {
                    **ref,
                    "monthsAfter": "3",
                    "observedOn": (end + dt.timedelta(days=95)).isoformat(),
                    "situation": "TYO",
                },
            },
        ],
    )
    assert answer.status_code == 200, answer.text
    ids = [r["id"] for r in answer.json()["records"]]
    assert ids[1] == data.record_id("episode", i)
    assert ids[0].startswith("K-") and ids[2].startswith("S-") and len(set(ids)) == 3
    assert read(adapter, "assessments", AFTER_SEEDED) == []  # not before the night
    nightly = control(fresh, "POST", "nightly").json()
    assert nightly["records"] == 3
    [assessment] = read(adapter, "assessments", AFTER_SEEDED)
    assert assessment.assessed_on == end and assessment.work_ability == 9
    [episode] = read(adapter, "service_episodes", AFTER_SEEDED)
    assert str(episode.client_hetu) == p.hetu and episode.key() in episodes
    assert episode.outcome == EpisodeOutcome.WORK_TRIAL
    assert episodes[episode.key()].outcome != EpisodeOutcome.WORK_TRIAL  # a new version
    [follow_up] = read(adapter, "follow_ups", AFTER_SEEDED)
    assert follow_up.episode_key() == episode.key() and follow_up.months_after == 3
    listed = {e.id: e for e in adapter.listing()}[nightly["exportId"]]
    assert listed.counts["assessment"] == listed.counts["followUp"] == 1
    # a record delivered with the id given the first time is replaced, not added
    replaced = {"hetu": p.hetu, "assessedOn": ep["actualEndDate"], "workAbility": "8"}
    again = late(fresh, [{"kind": "assessment", "id": ids[0], "fields": replaced}])
    assert again.json()["records"] == [{"kind": "assessment", "id": ids[0]}]
    control(fresh, "POST", "nightly").raise_for_status()
    versions = [a for a in read(adapter, "assessments", AFTER_SEEDED) if a.assessed_on == end]
    assert [a.work_ability for a in versions] == [9, 8]


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"kind": "assessment"}, "a non-empty JSON list"),
        ([], "a non-empty JSON list"),
        ([{"kind": "billingLine", "fields": {}}], "record 0 (billingLine): kind is one of"),
        ([{"kind": "nope", "fields": {}}], "kind is one of the export's records"),
        ([{"kind": "assessment", "id": "E-000001", "fields": {}}], "begins K-"),
        ([{"kind": "feedback", "fields": {"score": "3"}}], "fields map the record's elements"),
        ([{"kind": "plan", "fields": {"goal": "one"}}], "a list of texts for a repeated one"),
        ([{"kind": "feedback", "fields": {"hetu": "x"}, "extra": 1}], "an object of kind"),
    ],
)
def test_a_late_record_that_is_no_record_of_the_export_is_refused(fresh, records, message):
    answer = late(fresh, records)
    assert answer.status_code == 400 and message in answer.json()["error"]


def test_a_late_record_invalid_against_the_schema_is_refused_and_nothing_is_added(fresh):
    p = person(SEED, 2)
    valid = {"hetu": p.hetu, "assessedOn": "2026-11-20", "workAbility": "5"}
    bad = {
        "hetu": p.hetu,
        "serviceCode": "KTT",
        "episodeStart": "2026-01-05",
        "givenOn": "2026-06-01",
        "satisfaction": "5",  # the form's scale is 1-4
    }
    answer = late(
        fresh,
        [{"kind": "assessment", "fields": valid}, {"kind": "feedback", "fields": bad}],
    )
    assert answer.status_code == 400
    assert "record 1 (feedback): not valid against export.xsd" in answer.json()["error"]
    assert control(fresh, "POST", "nightly").json()["records"] == 0


def test_a_reset_forgets_the_late_records(fresh):
    p = person(SEED, 2)
    fields = {"hetu": p.hetu, "assessedOn": "2026-11-20", "workAbility": "5"}
    assert late(fresh, [{"kind": "assessment", "fields": fields}]).status_code == 200
    control(fresh, "POST", "reset").raise_for_status()
    assert control(fresh, "POST", "nightly").json()["records"] == 0
