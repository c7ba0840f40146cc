"""Record rules and disclosure prohibitions (hub.disclosure): for each rule a record that
breaks it and one just inside it; the screen of a batch on a real store; the rules as
declared in an exchanges file, with the errors a mistake gets."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import BOTH_STORES

from hub.disclosure.rules import Facts, parse_rules
from hub.disclosure.screen import CORRECTED, PROHIBITION_RULE, screen
from hub.errors import ConfigError
from hub.model import Attendance, DisclosureProhibition, ServiceEpisode
from hub.store import records
from hub.synthetic import person

KTT = "rehabilitative_work_activity"
GROUP = "social_rehabilitation_group_coaching"
HETU = person(1, 3).hetu

RULES = [
    {"rule": "ktt_only", "why": "law 189/2001 § 22", "values": {"service_type": [KTT]}},
    {"rule": "inside_decided_period", "within_decision": {"dates": "attended_dates"}},
    {
        "rule": "paid_days_per_week",
        "days_per_week": {"dates": "attended_dates", "max": 5, "decided": True},
    },
]


def rules(items=RULES):
    return parse_rules(items, Attendance, "exchanges/x/entities/0")


class Decided(Facts):
    def __init__(self, decision):
        self.decision = decision

    def decision_for(self, record_id, data):
        return self.decision


DECISION = {
    "service_type": KTT,
    "start_date": "2026-02-02",
    "planned_end_date": "2026-04-30",
    "days_per_week": 3,
}


def week(*days: str, service_type: str = KTT, start: str = "2026-02-02") -> dict:
    dates = [dt.date.fromisoformat(d) for d in days]
    return {
        "client_hetu": HETU,
        "service_type": service_type,
        "episode_start_date": start,
        "week": f"{dates[0].isocalendar()[0]}-W{dates[0].isocalendar()[1]:02d}",
        "attended_dates": list(days),
    }


def verdicts(data, decision=DECISION):
    facts = Decided(decision)
    out = []
    for rule in rules():
        v = rule.apply("r1", data, facts)
        out.append(v)
        if v is not None and (v.whole or v.correction):
            break
        if v is not None and v.data is not None:
            data = v.data
    return out, data


def test_values_rule_holds_back_another_service_and_admits_the_covered_one():
    (ktt, *_), _ = verdicts(week("2026-02-03"))
    assert ktt is None
    (group,), _ = verdicts(week("2026-02-03", service_type=GROUP))
    assert group.whole.rule == "ktt_only" and group.whole.part is None
    assert GROUP in group.whole.reason and "law 189/2001 § 22" in group.whole.reason


@pytest.mark.parametrize(
    ("days", "outside"),
    [
        (["2026-02-02", "2026-02-03"], 0),  # the first day of the period
        (["2026-04-28", "2026-04-30"], 0),  # the last day: the end date is included
        (["2026-04-29", "2026-04-30", "2026-05-01"], 1),  # a day after the end
        (["2026-05-01"], 1),  # every day after the end: held back whole
    ],
)
def test_within_decision_keeps_the_days_of_the_period_and_holds_back_the_rest(days, outside):
    (_, period, *_), data = verdicts(week(*days))
    if not outside:
        assert period is None and data["attended_dates"] == days
    elif outside == len(days):
        assert period.whole.rule == "inside_decided_period" and period.whole.part is None
        assert f"{outside} of {outside} attended_dates outside" in period.whole.reason
    else:
        (held,) = period.held
        assert (held.part, held.count) == ("attended_dates", outside)
        assert data["attended_dates"] == days[:-outside]
        assert "outside the decided period 2026-02-02 to 2026-04-30" in held.reason


def test_within_decision_ends_at_an_interruption_and_needs_a_decision():
    interrupted = {**DECISION, "actual_end_date": "2026-03-04"}
    (_, period, *_), data = verdicts(week("2026-03-04", "2026-03-05"), interrupted)
    assert period.held[0].count == 1 and data["attended_dates"] == ["2026-03-04"]
    (_, missing), _ = verdicts(week("2026-03-04"), None)
    assert missing.whole and "no decision of the episode" in missing.whole.reason


def test_a_day_before_the_decided_start_is_held_back():
    decision = {**DECISION, "start_date": "2026-02-04"}
    (_, period, *_), data = verdicts(week("2026-02-03", "2026-02-04", start="2026-02-04"), decision)
    assert period.held[0].count == 1 and data["attended_dates"] == ["2026-02-04"]


def test_days_per_week_within_the_decision_pass_and_more_wait_for_an_operator():
    (*_, ok), _ = verdicts(week("2026-02-03", "2026-02-04", "2026-02-05"))
    assert ok is None  # three days on a three-day decision
    (*_, over), _ = verdicts(week("2026-02-03", "2026-02-04", "2026-02-05", "2026-02-06"))
    c = over.correction
    assert (c.rule, c.field, c.limit) == ("paid_days_per_week", "attended_dates", 3)
    assert c.choices == ("2026-02-03", "2026-02-04", "2026-02-05", "2026-02-06")
    assert "the decision's 3 days a week" in c.reason


def test_at_most_five_days_a_week_even_if_the_decision_allows_more():
    generous = {**DECISION, "days_per_week": 7}
    six = week(*(f"2026-02-0{d}" for d in range(2, 8)))
    (*_, over), _ = verdicts(six, generous)
    assert over.correction.limit == 5 and "at most 5 a week" in over.correction.reason
    (*_, ok), _ = verdicts(week(*(f"2026-02-0{d}" for d in range(2, 7))), generous)
    assert ok is None


def test_a_one_day_a_week_decision_admits_one_day():
    one = {**DECISION, "days_per_week": 1}
    (*_, ok), _ = verdicts(week("2026-02-03"), one)
    assert ok is None
    (*_, over), _ = verdicts(week("2026-02-03", "2026-02-05"), one)
    assert over.correction.limit == 1


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"rule": "a", "values": {"nope": ["x"]}}], "records/0/values/nope: not a field"),
        ([{"rule": "a", "values": {"service_type": ["ktt"]}}], "ktt not values of service_type"),
        ([{"rule": "a", "values": {"week": []}}], "give a list of allowed values"),
        ([{"rule": "a", "within_decision": {"dates": "week"}}], "week of Attendance is not a list"),
        ([{"rule": "a", "days_per_week": {"dates": "attended_dates", "max": 9}}], "from 1 to 7"),
        ([{"rule": "A b", "values": {"week": ["x"]}}], "records/0/rule: give the rule a name"),
        (
            [{"rule": "a", "values": {"week": ["x"]}}, {"rule": "a", "values": {"week": ["y"]}}],
            "records/1/rule: a is named twice",
        ),
        (
            [{"rule": "a", "values": {"week": ["x"]}, "within_decision": {"dates": "x"}}],
            "records/0: a rule has a name, an optional why and one kind",
        ),
    ],
)
def test_a_wrong_rule_is_refused_naming_the_rule_and_setting(items, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        rules(items)


# --- the screen of a batch, on a real store ---------------------------------------------------


def _store(store, system, *entities):
    with store.transaction() as conn:
        for i, e in enumerate(entities):
            records.upsert(conn, store.keys, system, [records.Incoming(f"{system}-{i}", e)])
        ids = [
            records.lookup_native(conn, store.keys, system, e.entity_name, [f"{system}-{i}"])[
                f"{system}-{i}"
            ]
            for i, e in enumerate(entities)
        ]
        return records.load(conn, store.keys, ids)


def _episode(**over):
    values = {
        "client_hetu": HETU,
        "service_type": KTT,
        "start_date": dt.date(2026, 2, 2),
        "planned_end_date": dt.date(2026, 4, 30),
        "days_per_week": 3,
        "status": "active",
    }
    return ServiceEpisode(**(values | over))


def _attendance(*days):
    return Attendance.model_validate(week(*days))


@BOTH_STORES
def test_the_screen_admits_trims_and_holds_back_against_the_sources_own_decision(store):
    _store(store, "county", _episode())
    _store(store, "other_county", _episode(planned_end_date=dt.date(2026, 12, 31)))
    stored = _store(
        store, "county", _attendance("2026-04-28", "2026-04-30"), _attendance("2026-05-04")
    )
    inside, after = sorted(stored.values(), key=lambda r: r.data["week"])
    batch = [(1, inside, None), (2, after, None)]
    with store.transaction() as conn:
        out = screen(conn, store.keys, "to_kela", "county", rules(), batch)
    assert out.admitted[1].admitted_by == "ktt_only,inside_decided_period,paid_days_per_week"
    assert out.admitted[1].data["attended_dates"] == ["2026-04-28", "2026-04-30"]
    # the other system's longer decision does not count: the record came from "county"
    assert out.held[2].rule == "inside_decided_period"


@BOTH_STORES
def test_a_prohibition_of_the_source_holds_back_what_it_covers_while_in_force(store):
    today = dt.date(2026, 3, 1)
    given = DisclosureProhibition(
        client_hetu=HETU, valid_from=dt.date(2026, 2, 1), service_types=[KTT]
    )
    _store(store, "county", _episode())
    (att,) = _store(store, "county", _attendance("2026-02-03")).values()
    batch = [(1, att, None)]

    def verdict(on=today, origin="county"):
        with store.transaction() as conn:
            return screen(conn, store.keys, "to_kela", origin, rules(), batch, today=on)

    assert 1 in verdict().admitted  # nothing forbidden yet
    _store(store, "county", given)
    held = verdict().held[1]
    assert held.rule == PROHIBITION_RULE and "luovutuskielto from 2026-02-01" in held.reason
    assert 1 in verdict(on=dt.date(2026, 1, 31)).admitted  # the day before it was given
    elsewhere = verdict(origin="other_county").held[1]  # another controller's data ...
    assert elsewhere.rule == "inside_decided_period"  # ... is not covered by it
    assert (
        "no decision of the episode (rehabilitative_work_activity from 2026-02-02) in "
        "other_county" in elsewhere.reason
    )
    revoked = given.model_copy(update={"revoked_on": today})
    _store(store, "county", revoked)  # the same native id: a new version
    assert 1 in verdict().admitted  # revoked today: no longer in force
    assert 1 in verdict(on=dt.date(2026, 2, 28)).held


@BOTH_STORES
def test_a_prohibition_of_other_services_does_not_cover_ktt(store):
    _store(store, "county", _episode())
    (att,) = _store(store, "county", _attendance("2026-02-03")).values()
    _store(
        store,
        "county",
        DisclosureProhibition(
            client_hetu=HETU, valid_from=dt.date(2026, 1, 1), service_types=[GROUP]
        ),
    )
    with store.transaction() as conn:
        out = screen(
            conn, store.keys, "x", "county", rules(), [(1, att, None)], dt.date(2026, 3, 1)
        )
    assert 1 in out.admitted


@BOTH_STORES
def test_an_operators_choice_may_leave_days_out_but_never_add_one(store):
    _store(store, "county", _episode(days_per_week=4))
    days = ("2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05", "2026-02-06")
    (att,) = _store(store, "county", _attendance(*days)).values()

    def verdict(correction):
        with store.transaction() as conn:
            return screen(conn, store.keys, "x", "county", rules(), [(1, att, correction)])

    assert verdict(None).corrections[1].limit == 4
    chosen = verdict({"attended_dates": list(days[:4])}).admitted[1]
    assert chosen.data["attended_dates"] == list(days[:4])
    assert chosen.admitted_by.endswith(CORRECTED)
    (left,) = chosen.held  # the day the operator left out is logged as held back
    assert (left.rule, left.part, left.count) == (CORRECTED, "attended_dates", 1)
    added = verdict({"attended_dates": [*days[:3], "2026-02-07"]}).corrections[1]
    assert added.reason.startswith("correction refused (attended_dates: the correction lists 1")
    assert verdict({"attended_dates": list(days)}).corrections[1].limit == 4  # still five


def test_a_reason_never_quotes_a_value_that_describes_a_person():
    from hub.model import Client

    (rule,) = parse_rules(
        [{"rule": "locals", "values": {"last_name": ["Virtanen"], "home_municipality": ["743"]}}],
        Client,
        "exchanges/x/entities/0",
    )
    held = rule.apply("r1", {"last_name": "Korhonen", "home_municipality": "743"}, Decided(None))
    assert "Korhonen" not in held.whole.reason and "Virtanen" not in held.whole.reason
    assert held.whole.reason.startswith("last_name holds a value that is not covered")
    elsewhere = rule.apply("r1", {"last_name": "Virtanen", "home_municipality": "408"}, None)
    assert "home_municipality 408 is not covered (covered: 743)" in elsewhere.whole.reason
