"""Indicators per practice model: the figures, and that nothing small or personal is published."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.indicators import compute
from hub.model import (
    SMALL_COUNT,
    Assessment,
    Attendance,
    Indicator,
    IndicatorCode,
    ServiceEpisode,
    iso_week_of,
)
from hub.privacy import HETU_PATTERN
from hub.synthetic import person

TODAY = dt.date(2026, 11, 23)
START = dt.date(2026, 2, 2)  # a Monday


def episode(i: int, model: str, *, outcome: str | None = None, seed: int = 3) -> ServiceEpisode:
    ended = outcome is not None
    return ServiceEpisode(
        client_hetu=person(seed, i).hetu,
        service_type="rehabilitative_work_activity",
        start_date=START,
        planned_end_date=dt.date(2026, 12, 31),
        actual_end_date=dt.date(2026, 9, 30) if ended else None,
        status="ended" if ended else "active",
        days_per_week=3,
        hours_per_day=6,
        practice_model=model,
        outcome=outcome,
    )


def week(i: int, monday: dt.date, attended: int, absent: int = 0, seed: int = 3) -> Attendance:
    days = [monday + dt.timedelta(days=d) for d in range(attended + absent)]
    return Attendance(
        client_hetu=person(seed, i).hetu,
        service_type="rehabilitative_work_activity",
        episode_start_date=START,
        provider_business_id="0211675-2",
        week=iso_week_of(monday),
        attended_dates=days[:attended],
        absent_dates=days[attended:],
    )


def by_code(indicators: list[Indicator], model: str) -> dict[str, Indicator]:
    return {i.code: i for i in indicators if i.practice_model == model}


def test_figures_of_a_model_with_enough_people():
    people = range(8)
    outcomes = ["employment", "education", "other_service", "no_change", "no_change"]
    episodes = [episode(i, "osku-tutkiva-tyotoiminta", outcome=outcomes[i]) for i in range(5)]
    episodes += [episode(i, "osku-tutkiva-tyotoiminta") for i in range(5, 8)]
    monday = dt.date(2026, 3, 2)
    weeks = [week(i, monday, attended=3, absent=1) for i in people]
    assessments = [
        Assessment(client_hetu=person(3, i).hetu, assessed_on=d, work_ability=w, mieli=5)
        for i in people
        for d, w in ((dt.date(2026, 2, 2), 4), (dt.date(2026, 8, 3), 6))
    ]
    got = by_code(compute(episodes, weeks, assessments, today=TODAY), "osku-tutkiva-tyotoiminta")
    assert got[IndicatorCode.PARTICIPANTS].value == 8
    # three session days: a count under 5, published as "<5", and so are the rates on it
    assert got[IndicatorCode.SESSIONS_HELD].published_value() == "<5"
    assert got[IndicatorCode.ATTENDANCE_RATE].suppressed
    assert got[IndicatorCode.CHANGE_WORK_ABILITY].value == 2.0
    assert got[IndicatorCode.CHANGE_MIELI].value == 0.0
    # 3 of 5 moved on: the 2 who did not are a small count, so the share is suppressed
    assert got[IndicatorCode.MOVED_ON_SHARE].suppressed
    assert got[IndicatorCode.MOVED_ON_SHARE].period_start == dt.date(2026, 1, 1)


def test_sessions_attendance_and_a_publishable_share():
    model = "osku-aloittava-tyotoiminta"
    outcomes = ["employment"] * 5 + ["no_change"] * 5
    episodes = [episode(i, model, outcome=o) for i, o in enumerate(outcomes)]
    weeks = [
        week(i, dt.date(2026, 3, 2) + dt.timedelta(weeks=w), attended=4, absent=1)
        for i in range(10)
        for w in range(2)
    ]
    got = by_code(compute(episodes, weeks, [], today=TODAY), model)
    assert got[IndicatorCode.SESSIONS_HELD].value == 8
    assert got[IndicatorCode.MEAN_PARTICIPANTS_PER_SESSION].value == 10.0
    assert got[IndicatorCode.ATTENDANCE_RATE].value == 80.0
    assert got[IndicatorCode.MOVED_ON_SHARE].value == 50.0
    assert got[IndicatorCode.CHANGE_KEHO].suppressed  # nobody assessed twice


def test_a_small_model_publishes_nothing_but_suppressed_values():
    model = "osku-osallistava-tyotoiminta"
    episodes = [episode(i, model, outcome="employment") for i in range(4)]
    weeks = [week(i, dt.date(2026, 3, 2), attended=4) for i in range(4)]
    got = by_code(compute(episodes, weeks, [], today=TODAY), model)
    assert got[IndicatorCode.PARTICIPANTS].suppressed
    assert got[IndicatorCode.PARTICIPANTS].published_value() == "<5"
    assert all(i.suppressed for c, i in got.items() if c != IndicatorCode.SESSIONS_HELD)


def test_episodes_without_a_model_or_planned_are_not_counted():
    episodes = [episode(i, "osku-tutkiva-tyotoiminta") for i in range(6)]
    planned = ServiceEpisode(
        client_hetu=person(3, 50).hetu,
        service_type="rehabilitative_work_activity",
        status="planned",
        practice_model="osku-tutkiva-tyotoiminta",
    )
    unlinked = episode(51, "x").model_copy(update={"practice_model": None})
    got = by_code(
        compute([*episodes, planned, unlinked], [], [], today=TODAY), "osku-tutkiva-tyotoiminta"
    )
    assert got[IndicatorCode.PARTICIPANTS].value == 6


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=12),  # people
            st.lists(st.sampled_from(["employment", "no_change", "unknown", None]), max_size=12),
            st.integers(min_value=0, max_value=4),  # attended days a week
            st.integers(min_value=0, max_value=2),  # absent days a week
        ),
        min_size=1,
        max_size=4,
    )
)
def test_nothing_small_and_nothing_personal_is_ever_published(groups):
    models = [
        "osku-aloittava-tyotoiminta",
        "osku-tutkiva-tyotoiminta",
        "osku-osallistava-tyotoiminta",
        "sosiaalinen-kuntoutus-etela-pohjanmaa",
    ]
    episodes, weeks, assessments, codes, n = [], [], [], set(), 0
    for g, (size, outcomes, attended, absent) in enumerate(groups):
        for k in range(size):
            n += 1
            outcome = outcomes[k] if k < len(outcomes) else None
            episodes.append(episode(n, models[g], outcome=outcome, seed=5))
            codes.add(person(5, n).hetu)
            if attended + absent:
                weeks.append(week(n, dt.date(2026, 3, 2), attended, absent, seed=5))
            assessments.append(Assessment(client_hetu=person(5, n).hetu, assessed_on=START, arki=3))
            assessments.append(
                Assessment(client_hetu=person(5, n).hetu, assessed_on=TODAY, arki=3 + k % 3)
            )
    published = compute(episodes, weeks, assessments, today=TODAY)
    assert published
    for indicator in published:
        value = indicator.published_value()
        if indicator.code in (IndicatorCode.PARTICIPANTS, IndicatorCode.SESSIONS_HELD):
            assert value == "<5" or float(value) == 0 or float(value) >= SMALL_COUNT
        text = json.dumps(indicator.model_dump(mode="json"))
        assert not HETU_PATTERN.search(text)
        assert not any(c in text for c in codes)
        assert set(indicator.model_dump()) == set(Indicator.model_fields)
    by_model = {}
    for indicator in published:
        by_model.setdefault(indicator.practice_model, {})[indicator.code] = indicator
    for g, (size, *_rest) in enumerate(groups):
        got = by_model[models[g]]
        if size < SMALL_COUNT:  # a small group: every figure about its people is suppressed
            assert all(i.suppressed for c, i in got.items() if c != IndicatorCode.SESSIONS_HELD)
