"""Indicators per practice model: the figures (people, not episodes; a client's own path),
primary and secondary suppression, and the release rule against differencing."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.indicators import Inputs, Policy, publish
from hub.indicators.audit import audit
from hub.indicators.cells import UNKNOWN, main_cells
from hub.indicators.people import Ended, Person
from hub.indicators.release import family_cells, relations_of, scopes_of
from hub.model import (
    SMALL_COUNT,
    Assessment,
    Attendance,
    Feedback,
    FollowUp,
    IndicatorCode,
    ServiceEpisode,
    iso_week_of,
)
from hub.privacy import HETU_PATTERN
from hub.synthetic import person

MODEL = "osku-tutkiva-tyotoiminta"
KTT = "rehabilitative_work_activity"
START = dt.date(2026, 2, 2)  # a Monday, in the first quarter
END = dt.date(2026, 5, 29)  # in the second quarter
Q2 = dt.date(2026, 4, 1)
TODAY = dt.date(2026, 9, 1)  # the second quarter is final (60 days after 30.6.)


def hetu(i: int) -> str:
    return person(3, i).hetu


def episode(i: int, *, outcome="no_change", end=END, start=START, model=MODEL, **kw):
    fields = dict(
        client_hetu=hetu(i),
        service_type=KTT,
        start_date=start,
        planned_end_date=dt.date(2026, 12, 31),
        actual_end_date=end,
        status="ended" if end else "active",
        practice_model=model,
        outcome=outcome if end else None,
        municipality_code="743",
    )
    return ServiceEpisode(**{**fields, **kw})


def week(i: int, monday: dt.date, attended: int, absent: int = 0) -> Attendance:
    days = [monday + dt.timedelta(days=d) for d in range(attended + absent)]
    return Attendance(
        client_hetu=hetu(i),
        service_type=KTT,
        episode_start_date=START,
        provider_business_id="0211675-2",
        week=iso_week_of(monday),
        attended_dates=days[:attended],
        absent_dates=days[attended:],
    )


def figures(result, start=Q2, group="main", municipality=None) -> dict:
    family = next(
        f
        for f in result.families
        if f.practice_model == MODEL and f.period_start == start and f.group == group
    )
    return {(c.code, c.category): c for c in family.cells if c.municipality == municipality} | {
        "family": family
    }


def test_people_not_episodes_and_their_last_episode_ended_in_the_period():
    # four people, each with three episodes that ended in the quarter: twelve episodes
    episodes = [
        episode(
            i,
            start=START + dt.timedelta(days=k),
            end=END - dt.timedelta(days=10 * k),
            outcome="employment" if k == 0 else "no_change",
        )
        for i in range(4)
        for k in range(3)
    ]
    got = figures(publish(Inputs(episodes), today=TODAY))
    assert got[("ended", None)].shown == "x"
    assert got[("ended", None)].suppression == "small_count"
    # the moved-on share would be 4/4 people (5/12 of episodes before): not published
    assert got[("moved_on_share", None)].shown == "x"
    assert all(c.shown in ("x", "0") for k, c in got.items() if k != "family")


def test_shares_are_never_0_or_100_percent_of_a_group():
    everyone = [episode(i, outcome="employment") for i in range(12)]
    got = figures(publish(Inputs(everyone), today=TODAY))
    assert got[("ended", None)].shown == "12"
    assert got[("moved_on_share", None)].value is None  # 100 %: a fact about all twelve
    assert got[("moved_on_share", None)].suppression == "small_part"
    assert got[("interruption_rate", None)].value is None  # 0 %
    mixed = [episode(i, outcome="employment" if i < 6 else "no_change") for i in range(12)]
    got = figures(publish(Inputs(mixed), today=TODAY))
    assert got[("moved_on_share", None)].shown == "50.0"


def test_kykyviisari_change_over_the_episode_attributed_to_the_period_it_ended_in():
    # October to April: the change spans the turn of the year and is not lost
    start, end = dt.date(2025, 10, 6), dt.date(2026, 4, 24)
    episodes = [episode(i, start=start, end=end) for i in range(8)]
    assessments = [
        Assessment(client_hetu=hetu(i), assessed_on=day, work_ability=score, mieli=5)
        for i in range(8)
        for day, score in ((start, 3), (end, 7))
    ]
    result = publish(Inputs(episodes, assessments=assessments), today=TODAY)
    got = figures(result, start=Q2)
    assert got[("kykyviisari_change_work_ability", None)].shown == "4.0"
    assert got[("kykyviisari_change_mieli", None)].shown == "0.0"
    earlier = figures(result, start=dt.date(2025, 10, 1))
    assert earlier[("kykyviisari_change_work_ability", None)].value is None  # none ended then


def test_waiting_time_feedback_interruptions_and_follow_ups():
    episodes = [
        episode(
            i,
            referral_date=START - dt.timedelta(days=10 + 2 * (i % 5)),
            **(
                {
                    "status": "interrupted",
                    "interruption_reason": "Terveydelliset syyt",
                    "interruption_code": "health" if i < 9 else None,
                }
                if i < 12
                else {}
            ),
        )
        for i in range(20)
    ]
    feedback = [
        Feedback(
            client_hetu=hetu(i),
            service_type=KTT,
            episode_start_date=START,
            given_on=END,
            satisfaction=1 + i % 4,
        )
        for i in range(20)
    ]
    follow = [
        FollowUp(
            client_hetu=hetu(i),
            service_type=KTT,
            episode_start_date=START,
            months_after=3,
            observed_on=END + dt.timedelta(days=91),
            situation="employment" if i % 2 else "no_change",
        )
        for i in range(20)
    ]
    inputs = Inputs(episodes, feedback=feedback, follow_ups=follow)
    result = publish(inputs, today=TODAY)
    got = figures(result, start=dt.date(2026, 1, 1))
    assert got[("waiting_days_mean", None)].shown == "14.0"
    got = figures(result)
    assert got[("interruption_rate", None)].shown == "60.0"
    # 12 interrupted = 9 health + 3 uncoded: the 3 are a small count, and publishing the 9
    # would give them away, so the 9 are withheld too (secondary suppression)
    assert got[("interruptions", "uncoded")].shown == "x"
    assert got[("interruptions", "uncoded")].suppression == "small_count"
    assert got[("interruptions", "health")].shown == "x"
    assert got[("interruptions", "health")].suppression == "secondary"
    assert got[("feedback_mean", None)].shown == "2.5"
    assert got[("feedback_satisfied_share", None)].shown == "50.0"
    # the follow-up shares wait six months longer than the other figures
    follow_up = figures(result, group="follow_up")
    assert follow_up["family"].state == "waiting"
    later = figures(publish(inputs, today=dt.date(2027, 3, 1)), group="follow_up")
    assert later["family"].state == "new"
    assert later[("follow_up_3m_moved_on_share", None)].shown == "50.0"


def test_a_municipality_too_small_is_not_derivable_from_the_total():
    people = {}
    for i in range(14):
        outcome = "employment" if i % 2 else "no_change"
        people[f"p{i}"] = Person(
            municipality="743" if i < 11 else "145",
            ended=Ended(outcome=outcome, interrupted=False, reason=None),
        )
    cells = family_cells(people, main_cells)
    by = {(c.code, c.category, c.municipality): c for c in cells}
    assert by[("participants", None, None)].published
    assert by[("participants", None, "145")].suppression == "small_count"
    # 14 = 11 + 3: the big municipality's count must go too, or 145's is 14 - 11
    assert not by[("participants", None, "743")].published
    assert audit(cells, *relations_of(cells, [None, "145", "743"])) == []


def test_people_without_a_municipality_are_never_published_but_counted_in_the_total():
    people = {f"p{i}": Person(municipality=None if i < 2 else "743") for i in range(9)}
    cells = family_cells(people, main_cells)
    by = {(c.code, c.municipality): c for c in cells if c.category is None}
    assert not by[("participants", UNKNOWN)].published
    # 9 = 7 + the 2 without: publishing both 9 and 7 would give the 2 away
    assert not (by[("participants", None)].published and by[("participants", "743")].published)


def test_a_revision_resting_on_fewer_than_5_people_is_withheld():
    episodes = [episode(i, outcome="employment" if i < 6 else "no_change") for i in range(13)]
    first = publish(Inputs(episodes), today=TODAY)
    assert figures(first)["family"].state == "new"
    # one client's outcome recorded late: the first release stands
    late = [*episodes[:-1], episode(12, outcome="employment")]
    second = publish(Inputs(late), today=TODAY + dt.timedelta(days=30), released=first.released)
    family = figures(second)["family"]
    assert family.state == "withheld" and "fewer than 5 people" in family.note
    assert second.indicators == first.indicators
    assert (
        figures(second)[("moved_on_share", None)].shown
        == figures(first)[("moved_on_share", None)].shown
    )
    # five more people to each outcome: every figure's change rests on at least 5 people
    # (one who left "no change" and five who came would not do for that figure alone)
    more = late + [episode(20 + i, outcome="employment") for i in range(5)]
    third = publish(Inputs(more), today=TODAY + dt.timedelta(days=40), released=second.released)
    assert figures(third)["family"].state == "withheld"
    # six people changed in "no change" (one left, five came), but its count moved by 4:
    # the difference of the two releases would be a count of 4
    more += [episode(30 + i, outcome="no_change") for i in range(5)]
    third = publish(Inputs(more), today=TODAY + dt.timedelta(days=40), released=second.released)
    family = figures(third)["family"]
    assert family.state == "withheld" and "move a count" in family.note
    assert "to_no_change@*" in family.note
    more.append(episode(40, outcome="no_change"))
    third = publish(Inputs(more), today=TODAY + dt.timedelta(days=40), released=second.released)
    assert figures(third)["family"].state == "revision"
    assert figures(third)[("ended", None)].shown == "24"
    # and it is checked against every earlier release, not only the latest
    assert len(third.released[(MODEL, "2026-04-01", "2026-06-30", "main")]) == 2


def test_an_open_or_unfinal_period_is_not_published():
    episodes = [episode(i) for i in range(10)]
    running = publish(Inputs(episodes), today=dt.date(2026, 6, 15))
    assert figures(running)["family"].state == "open"
    closed = publish(Inputs(episodes), today=dt.date(2026, 7, 15))
    assert figures(closed)["family"].state == "waiting"
    assert not [i for i in closed.indicators if i.period_start == Q2]
    final = publish(Inputs(episodes), today=dt.date(2026, 8, 29))
    assert figures(final)["family"].state == "new"
    assert Policy(period="year").period == "year"


def test_attendance_rate_needs_five_people_absent_and_five_present():
    episodes = [episode(i) for i in range(10)]
    monday = dt.date(2026, 4, 6)
    one_absent = [week(i, monday, attended=3, absent=1 if i == 0 else 0) for i in range(10)]
    got = figures(publish(Inputs(episodes, attendance=one_absent), today=TODAY))
    assert got[("attendance_rate", None)].value is None  # 29/30 gives one absent day away
    many_absent = [week(i, monday, attended=3, absent=1 if i < 5 else 0) for i in range(10)]
    got = figures(publish(Inputs(episodes, attendance=many_absent), today=TODAY))
    assert got[("attendance_rate", None)].shown == "85.7"
    # three session days (Monday to Wednesday; Thursday only missed): too few sessions
    assert got[("sessions_held", None)].suppression == "small_count"
    assert got[("mean_participants_per_session", None)].suppression == "few_people"
    two_weeks = many_absent + [
        week(i, monday + dt.timedelta(weeks=1), attended=3) for i in range(10)
    ]
    got = figures(publish(Inputs(episodes, attendance=two_weeks), today=TODAY))
    assert got[("sessions_held", None)].shown == "6"
    assert got[("mean_participants_per_session", None)].shown == "10.0"


POPULATION = st.lists(
    st.tuples(
        st.sampled_from(["743", "145", "010", None]),
        st.sampled_from(
            [
                "employment",
                "pay_subsidy",
                "work_trial",
                "education",
                "other_service",
                "no_change",
                "unknown",
            ]
        ),
        st.booleans(),  # interrupted
        st.sampled_from([None, "health", "absences", "own_decision"]),
        st.integers(min_value=0, max_value=3),  # absent days
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(POPULATION)
def test_after_control_nothing_can_be_worked_out_and_nothing_personal_is_published(rows):
    episodes, weeks = [], []
    for i, (muni, outcome, interrupted, code, absent) in enumerate(rows):
        extra = (
            {"status": "interrupted", "interruption_reason": "syy", "interruption_code": code}
            if interrupted
            else {}
        )
        episodes.append(episode(i, outcome=outcome, municipality_code=muni, **extra))
        weeks.append(week(i, dt.date(2026, 4, 6), attended=2, absent=absent))
    result = publish(Inputs(episodes, attendance=weeks), today=TODAY)
    text = json.dumps([i.model_dump(mode="json") for i in result.indicators])
    assert not HETU_PATTERN.search(text)
    for indicator in result.indicators:
        if indicator.code in ("participants", "ended", "transitions", "interruptions"):
            assert indicator.value is None or indicator.value == 0 or indicator.value >= 5
        if indicator.unit == "%" and indicator.value is not None:
            assert 0 < indicator.value < 100
    people = {}
    for i, (muni, outcome, interrupted, code, absent) in enumerate(rows):
        people[f"p{i}"] = Person(
            municipality=muni,
            ended=Ended(
                outcome=outcome,
                interrupted=interrupted,
                reason=(code or "uncoded") if interrupted else None,
            ),
            absent_days=absent,
            sessions={("x", dt.date(2026, 4, 6)), ("x", dt.date(2026, 4, 7))},
        )
    cells = family_cells(people, main_cells)
    assert audit(cells, *relations_of(cells, scopes_of(people))) == []
    assert len(people) >= SMALL_COUNT or not any(
        c.published and c.value for c in cells if c.code != IndicatorCode.SESSIONS_HELD
    )
