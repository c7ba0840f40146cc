"""Activation-plan obligations (189/2001 § 3): the derivation rule by rule, its properties,
the configuration, and the derived stream end to end through the engine."""

from __future__ import annotations

import datetime as dt
import random
import types
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pytest
import yaml
from conftest import BOTH_STORES
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select

from hub import hookspecs
from hub import plugins as hub_plugins
from hub.adapter import Adapter, CheckResult, Stream, WriteItem, WriteOutcome
from hub.engine import Hub, run_exchange
from hub.errors import ConfigError
from hub.model import (
    ActivationPlan,
    ActivationPlanObligation,
    BenefitDays,
    IncomeSupportMonth,
    ObligationTrigger,
)
from hub.model.rules import ActivationPlanRules, Rules
from hub.obligations import age_on, birth_date, derive, native_id
from hub.privacy import HETU_PATTERN
from hub.privacy.crypto import Keyring
from hub.settings import DEFAULT_RULES
from hub.store import records
from hub.store import schema as t
from hub.synthetic import make_hetu

T = ObligationTrigger
RULES = Rules.load(DEFAULT_RULES.path()).activation_plan
TODAY = dt.date(2026, 12, 1)
SUBSIDY, BASIC_DA, EARNINGS_DA = (
    "labour_market_subsidy",
    "basic_daily_allowance",
    "earnings_related_allowance",
)


def code(birth: dt.date, individual: int = 901) -> str:
    return make_hetu(birth, individual)


def counts(hetu: str, benefit: str, *points: tuple[dt.date, int]) -> list[BenefitDays]:
    return [
        BenefitDays(client_hetu=hetu, benefit_type=benefit, as_of=day, cumulative_days=n)
        for day, n in points
    ]


def months(hetu: str, *names: str, kind: str = "basic") -> list[IncomeSupportMonth]:
    return [IncomeSupportMonth(client_hetu=hetu, month=m, kind=kind) for m in names]


def month_run(first: str, n: int) -> list[str]:
    start = dt.date.fromisoformat(f"{first}-01")
    return [(start + relativedelta(months=i)).strftime("%Y-%m") for i in range(n)]


def plan(hetu: str, day: dt.date, plan_type: str = "activation_plan") -> ActivationPlan:
    return ActivationPlan(
        client_hetu=hetu,
        plan_type=plan_type,
        drawn_up_date=day,
        goals=["Työelämävalmiuksien vahvistaminen"],
        responsible_official="Sosiaaliohjaaja",
    )


def found(benefit_days=(), income_support=(), plans=(), rules=RULES, today=TODAY):
    return derive(benefit_days, income_support, plans, rules=rules, today=today)


def summary(obligations: Sequence[ActivationPlanObligation]) -> set[tuple]:
    return {(o.trigger, o.reached_on, o.window_assumed) for o in obligations}


# --- the rules, each just reached and just not -----------------------------------------------

AGE_24 = dt.date(2001, 7, 1)  # 24 on 30.6.2026
AGE_25 = dt.date(2001, 6, 30)  # 25 on 30.6.2026
OLDER = dt.date(1980, 3, 15)
YOUNG = dt.date(2004, 1, 1)
D = dt.date

CASES = {
    "180 subsidy days within 12 months at 24": (
        AGE_24,
        [(SUBSIDY, D(2025, 6, 30), 100), (SUBSIDY, D(2026, 6, 30), 280)],
        [],
        {(T.SUBSIDY_DAYS_UNDER_25, D(2026, 6, 30), False)},
    ),
    "179 subsidy days within 12 months at 24": (
        AGE_24,
        [(SUBSIDY, D(2025, 6, 30), 101), (SUBSIDY, D(2026, 6, 30), 280)],
        [],
        set(),
    ),
    "180 subsidy days within 12 months, 25 on the day: the rules of the older": (
        AGE_25,
        [(SUBSIDY, D(2025, 6, 30), 100), (SUBSIDY, D(2026, 6, 30), 280)],
        [],
        set(),
    ),
    "one count of 200 days at 24: the window cannot be told, assumed": (
        AGE_24,
        [(SUBSIDY, D(2026, 6, 30), 200)],
        [],
        {(T.SUBSIDY_DAYS_UNDER_25, D(2026, 6, 30), True)},
    ),
    "500 subsidy days at 25 on the day": (
        AGE_25,
        [
            (SUBSIDY, D(2023, 6, 30), 170),
            (SUBSIDY, D(2024, 6, 30), 330),
            (SUBSIDY, D(2025, 6, 30), 490),
            (SUBSIDY, D(2026, 6, 30), 500),
        ],
        [],
        {(T.SUBSIDY_DAYS_25_AND_OVER, D(2026, 6, 30), False)},
    ),
    "499 subsidy days at 46": (
        OLDER,
        [(SUBSIDY, D(2026, 6, 30), 499)],
        [],
        set(),
    ),
    "500 subsidy days counted at 24: met on the 25th birthday": (
        dt.date(2001, 9, 15),
        [
            (SUBSIDY, D(2024, 8, 31), 170),
            (SUBSIDY, D(2025, 8, 31), 340),
            (SUBSIDY, D(2026, 8, 31), 520),
        ],
        [],
        {
            (T.SUBSIDY_DAYS_UNDER_25, D(2026, 8, 31), False),
            (T.SUBSIDY_DAYS_25_AND_OVER, D(2026, 9, 15), False),
        },
    ),
    "180 subsidy days after the end of daily allowance": (
        OLDER,
        [
            (EARNINGS_DA, D(2025, 4, 30), 280),
            (EARNINGS_DA, D(2025, 5, 31), 300),
            (SUBSIDY, D(2025, 5, 31), 40),
            (SUBSIDY, D(2026, 2, 28), 219),
            (SUBSIDY, D(2026, 3, 31), 220),
        ],
        [],
        {(T.SUBSIDY_AFTER_DAILY_ALLOWANCE, D(2026, 3, 31), False)},
    ),
    "179 subsidy days after the end of daily allowance": (
        OLDER,
        [
            (EARNINGS_DA, D(2025, 5, 31), 300),
            (SUBSIDY, D(2025, 5, 31), 41),
            (SUBSIDY, D(2026, 3, 31), 220),
        ],
        [],
        set(),
    ),
    "basic and earnings-related allowance together reach the maximum": (
        OLDER,
        [
            (EARNINGS_DA, D(2024, 12, 31), 200),
            (BASIC_DA, D(2025, 5, 31), 100),
            (SUBSIDY, D(2026, 3, 31), 180),
        ],
        [],
        {(T.SUBSIDY_AFTER_DAILY_ALLOWANCE, D(2026, 3, 31), True)},
    ),
    "daily allowance short of its maximum: no subsidy-after rule": (
        OLDER,
        [(BASIC_DA, D(2025, 5, 31), 299), (SUBSIDY, D(2026, 3, 31), 400)],
        [],
        set(),
    ),
    "4 months of basic income support at 22": (
        YOUNG,
        [],
        month_run("2026-05", 4),
        {(T.INCOME_SUPPORT_MONTHS_UNDER_25, D(2026, 8, 31), False)},
    ),
    "3 months of basic income support at 22": (YOUNG, [], month_run("2026-05", 3), set()),
    "4 months with a break": (YOUNG, [], ["2026-05", "2026-06", "2026-08", "2026-09"], set()),
    "12 months of basic income support at 45": (
        OLDER,
        [],
        month_run("2025-09", 12),
        {(T.INCOME_SUPPORT_MONTHS_25_AND_OVER, D(2026, 8, 31), False)},
    ),
    "11 months of basic income support at 45": (OLDER, [], month_run("2025-09", 11), set()),
    "a month not yet over does not count": (OLDER, [], month_run("2026-01", 12), set()),
    "counts dated after today are not seen": (
        AGE_24,
        [(SUBSIDY, D(2025, 12, 31), 10), (SUBSIDY, D(2026, 12, 31), 300)],
        [],
        set(),
    ),
}


@pytest.mark.parametrize(
    ("birth", "benefits", "support", "expected"), CASES.values(), ids=list(CASES)
)
def test_each_rule_just_reached_and_just_not(birth, benefits, support, expected):
    hetu = code(birth)
    days = [c for benefit, day, n in benefits for c in counts(hetu, benefit, (day, n))]
    result = found(days, months(hetu, *support))
    assert summary(result) == expected
    for o in result:
        assert o.due_by == o.reached_on + dt.timedelta(days=28)
        assert o.age_on_reached == age_on(birth, o.reached_on)
        assert not o.has_plan and o.plan_drawn_up is None


def test_supplementary_and_preventive_income_support_do_not_count():
    hetu = code(OLDER)
    for kind in ("supplementary", "preventive"):
        assert found(income_support=months(hetu, *month_run("2025-01", 14), kind=kind)) == []


def test_age_on_the_day_it_is_reached():
    hetu = code(AGE_24)
    (o,) = found(counts(hetu, SUBSIDY, (D(2025, 6, 30), 100), (D(2026, 6, 30), 280)))
    assert o.age_on_reached == 24
    assert birth_date(hetu) == AGE_24
    assert birth_date(make_hetu(dt.date(1999, 12, 31), 950, "Y")) == dt.date(1999, 12, 31)
    assert age_on(dt.date(2004, 2, 29), dt.date(2029, 2, 28)) == 25
    assert age_on(dt.date(2004, 2, 29), dt.date(2029, 2, 27)) == 24


# --- plans --------------------------------------------------------------------------------------

REACHED = D(2026, 6, 30)
PLANS = {
    "drawn up in time": (plan, D(2026, 7, 10), True),
    "drawn up late": (plan, D(2026, 11, 2), True),
    "drawn up within the look-back": (plan, REACHED - dt.timedelta(days=90), True),
    "drawn up before the look-back": (plan, REACHED - dt.timedelta(days=91), False),
    "a multisectoral employment plan": (
        lambda h, d: plan(h, d, "multisectoral_employment_plan"),
        D(2026, 7, 1),
        True,
    ),
    "an employment plan is not one": (
        lambda h, d: plan(h, d, "employment_plan"),
        D(2026, 7, 1),
        False,
    ),
    "a plan dated after today is not seen": (plan, D(2026, 12, 2), False),
}


@pytest.mark.parametrize(("make", "day", "has"), PLANS.values(), ids=list(PLANS))
def test_a_plan_fulfils_the_obligation(make, day, has):
    hetu, other = code(AGE_24), code(AGE_24, 902)
    days = counts(hetu, SUBSIDY, (D(2025, 6, 30), 100), (REACHED, 280))
    (o,) = found(days, plans=[make(hetu, day), plan(other, D(2026, 7, 1))])
    assert o.has_plan is has
    assert o.plan_drawn_up == (day if has else None)
    (none,) = found(days)
    assert not none.has_plan and none.plan_drawn_up is None


def test_the_earliest_plan_in_reach_is_given():
    hetu = code(AGE_24)
    days = counts(hetu, SUBSIDY, (D(2025, 6, 30), 100), (REACHED, 280))
    plans = [plan(hetu, D(2026, 9, 1)), plan(hetu, D(2026, 7, 3)), plan(hetu, D(2025, 1, 1))]
    (o,) = found(days, plans=plans)
    assert o.plan_drawn_up == D(2026, 7, 3)


# --- configuration ----------------------------------------------------------------------------


def test_the_shipped_section_is_the_act_as_the_defaults_give_it():
    assert RULES == ActivationPlanRules()
    assert set(RULES.triggers) == set(T)


def test_limits_and_triggers_are_configuration(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "activation_plan": {
                    "triggers": ["income_support_months_under_25"],
                    "income_support_months_under_25": 3,
                    "due_days": 14,
                }
            }
        )
    )
    rules = Rules.load(path).activation_plan
    young, older = code(YOUNG), code(AGE_24)
    subsidy = counts(older, SUBSIDY, (D(2025, 6, 30), 100), (D(2026, 6, 30), 280))
    (o,) = found(subsidy, months(young, *month_run("2026-05", 3)), rules=rules)
    assert (o.trigger, o.reached_on, o.due_by) == (
        T.INCOME_SUPPORT_MONTHS_UNDER_25,
        D(2026, 7, 31),
        D(2026, 8, 14),
    )


@pytest.mark.parametrize(
    ("section", "where"),
    [
        ({"due_days": -1}, "activation_plan.due_days"),
        ({"triggers": ["subsidy_days"]}, "activation_plan.triggers.0"),
        ({"income_support_kinds": ["monthly"]}, "activation_plan.income_support_kinds.0"),
        ({"age_limit": 25}, "activation_plan.age_limit"),
    ],
)
def test_a_bad_section_names_the_key(tmp_path, section, where):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"activation_plan": section}))
    with pytest.raises(ConfigError, match=rf"rules.yaml: {where}:"):
        Rules.load(path)


# --- the entities -------------------------------------------------------------------------------


def obligation(**over) -> ActivationPlanObligation:
    base = dict(
        client_hetu=code(AGE_24),
        trigger="subsidy_days_under_25",
        reached_on=REACHED,
        due_by=REACHED + dt.timedelta(days=28),
        age_on_reached=24,
        has_plan=False,
    )
    return ActivationPlanObligation(**{**base, **over})


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"due_by": REACHED - dt.timedelta(days=1)}, "due_by is before reached_on"),
        ({"has_plan": True}, "plan_drawn_up is given exactly when has_plan"),
        ({"plan_drawn_up": REACHED}, "plan_drawn_up is given exactly when has_plan"),
        (
            {"trigger": "income_support_months_under_25", "window_assumed": True},
            "window_assumed is only given",
        ),
        ({"age_on_reached": -1}, "greater than or equal to 0"),
    ],
)
def test_obligation_validators(over, words):
    with pytest.raises(ValidationError, match=words):
        obligation(**over)


def test_income_support_month_is_a_calendar_month_of_a_known_kind():
    hetu = code(YOUNG)
    assert months(hetu, "2026-02")[0].first_day == D(2026, 2, 1)
    for bad in ({"month": "2026-13"}, {"month": "2026-2"}, {"kind": "monthly"}):
        with pytest.raises(ValidationError):
            IncomeSupportMonth(**{"client_hetu": hetu, "month": "2026-02", "kind": "basic", **bad})


def test_ids_are_keyed_stable_and_never_the_code():
    keys, other = Keyring.from_master(bytes(32)), Keyring.from_master(bytes([1]) * 32)
    o = obligation()
    ident = native_id(o, keys)
    assert ident == native_id(obligation(has_plan=True, plan_drawn_up=REACHED), keys)
    assert ident != native_id(obligation(trigger="subsidy_days_25_and_over"), keys)
    assert ident != native_id(o, other)
    assert str(o.client_hetu) not in ident and not HETU_PATTERN.search(ident)
    assert ident.endswith("/subsidy_days_under_25") and len(ident) <= 200


# --- properties ---------------------------------------------------------------------------------

MONTH_ENDS = [D(2024, 1, 1) + relativedelta(months=i + 1, days=-1) for i in range(36)]


@st.composite
def clients(draw) -> dict[str, Any]:
    """A client's records: monotone month-end counts of subsidy and daily allowance, income
    support months and plans, all within three years."""
    birth = draw(st.dates(D(1996, 1, 1), D(2006, 12, 31)))
    hetu = code(birth, draw(st.integers(900, 999)))

    def series(benefit: str) -> list[BenefitDays]:
        days = sorted(draw(st.sets(st.sampled_from(MONTH_ENDS), max_size=8)))
        steps = draw(st.lists(st.integers(0, 120), min_size=len(days), max_size=len(days)))
        total, out = draw(st.sampled_from([0, 0, 100, 300])), []
        for day, step in zip(days, steps, strict=True):
            total += step
            out += counts(hetu, benefit, (day, total))
        return out

    names = [d.strftime("%Y-%m") for d in MONTH_ENDS]
    start, length = draw(st.integers(0, 35)), draw(st.integers(0, 16))
    support = set(names[start : start + length]) | draw(st.sets(st.sampled_from(names)))
    plans = draw(st.lists(st.sampled_from(MONTH_ENDS), max_size=2))
    return {
        "hetu": hetu,
        "subsidy": series(SUBSIDY),
        "allowance": series(EARNINGS_DA),
        "support": months(hetu, *sorted(support)),
        "plans": [plan(hetu, d) for d in plans],
    }


def triggers(result: Sequence[ActivationPlanObligation]) -> set[str]:
    return {o.trigger for o in result}


@settings(max_examples=150, deadline=None)
@given(clients(), st.integers(0, 35), st.integers(1, 400), st.sampled_from(MONTH_ENDS))
def test_more_days_or_months_never_remove_an_obligation(c, at, extra, month):
    before = found(c["subsidy"] + c["allowance"], c["support"], c["plans"])
    paid = MONTH_ENDS[at]  # days paid at ``paid`` raise every count from then on
    subsidy = [
        b.model_copy(update={"cumulative_days": b.cumulative_days + extra})
        if b.as_of >= paid
        else b
        for b in c["subsidy"]
    ]
    more = months(c["hetu"], month.strftime("%Y-%m"))
    after = found(subsidy + c["allowance"], c["support"] + more, c["plans"])
    assert triggers(before) <= triggers(after)
    reached = {o.trigger: o.reached_on for o in after}
    assert all(reached[o.trigger] <= o.reached_on for o in before)


@settings(max_examples=150, deadline=None)
@given(clients(), st.randoms(use_true_random=False))
def test_a_plan_never_adds_or_moves_an_obligation_and_order_does_not_matter(c, rnd: random.Random):
    records = c["subsidy"] + c["allowance"]
    without = found(records, c["support"])
    with_plans = found(records, c["support"], c["plans"])
    assert [(o.trigger, o.reached_on, o.due_by) for o in with_plans] == [
        (o.trigger, o.reached_on, o.due_by) for o in without
    ]
    assert not any(o.has_plan for o in without)
    shuffled = records[:]
    rnd.shuffle(shuffled)
    assert found(shuffled, c["support"][::-1], c["plans"][::-1]) == with_plans


# --- the derived stream, end to end -------------------------------------------------------------

SINK = "obligation_sink"
FIELDS = ["client_hetu", "trigger", "reached_on", "due_by", "has_plan", "plan_drawn_up"]


class ReceivedObligations(Stream):
    """A system that takes obligations (no adapter does yet): it keeps what it is sent."""

    name = "obligations"
    entity = ActivationPlanObligation
    received: ClassVar[list[Mapping[str, Any]]] = []

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return dict(record)

    def write(self, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        type(self).received.extend(item.payload for item in items)
        return [WriteOutcome.ok(item.idempotency_key) for item in items]


class SinkAdapter(Adapter):
    system_id = SINK
    streams = (ReceivedObligations,)

    def check(self) -> CheckResult:
        return CheckResult(True, "keeps what it is sent")


@pytest.fixture
def sink(hub_env, tmp_path, monkeypatch):
    """The hub with a system that receives obligations, and an exchange to it from the hub
    (an exchange from the hub to the hub itself is refused: source and target the same)."""
    module = types.ModuleType(SINK)
    module.hub_register_adapters = hookspecs.hookimpl(lambda: [SinkAdapter])
    loaded = hub_plugins.load_plugins(extra_plugins={SINK: module})
    monkeypatch.setattr(hub_plugins, "_loaded", loaded)
    monkeypatch.setattr(ReceivedObligations, "received", [])
    path = tmp_path / "exchanges.yaml"
    exchange = {
        "source": "hub",
        "target": SINK,
        "schedule": None,
        "legal_basis": "Act on Rehabilitative Work Activity (189/2001) § 3: activation "
        "plans drawn up together by the wellbeing services county and the employment "
        "authority.",
        "entities": [{"entity": "ActivationPlanObligation", "fields": FIELDS}],
    }
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "systems": {SINK: {"base_url": "http://127.0.0.1:9"}},
                "exchanges": {"hub_to_sink": exchange},
            }
        )
    )
    monkeypatch.setenv("HUB_EXCHANGES", str(path))
    hub = Hub.open()
    yield hub
    hub.close()


def store(hub: Hub, system: str, entities: Sequence[Any]) -> None:
    """Records as an exchange from ``system`` would have stored them."""
    with hub.store.transaction() as conn:
        for entity in entities:
            native = f"{entity.entity_name}-{uuid.uuid4().hex}"
            records.upsert(conn, hub.keys, system, [records.Incoming(native, entity)])


def stored_obligations(hub: Hub) -> list[ActivationPlanObligation]:
    with hub.store.transaction() as conn:
        rows = records.iter_entity(conn, hub.keys, "ActivationPlanObligation")
        return sorted(
            (ActivationPlanObligation.model_validate(r.data) for r in rows),
            key=lambda o: (str(o.client_hetu), o.trigger),
        )


@BOTH_STORES
def test_obligations_derived_stored_logged_and_delivered(sink):
    hub = sink
    young, older, none = code(D(2000, 5, 1), 911), code(D(1975, 2, 2), 912), code(YOUNG, 913)
    store(
        hub,
        "kela_county",
        [
            *counts(young, SUBSIDY, (D(2020, 3, 31), 10), (D(2021, 3, 31), 200)),
            *counts(older, SUBSIDY, (D(2020, 12, 31), 480), (D(2021, 1, 31), 501)),
            *counts(none, SUBSIDY, (D(2021, 1, 31), 90)),
        ],
    )
    store(hub, "county_case_system", months(older, *month_run("2020-01", 12)))
    store(hub, "county_case_system", [plan(young, D(2021, 4, 15))])
    sources = 5 + 12 + 1

    summary = run_exchange(hub, "hub_to_sink")
    assert summary.state == "success", summary.error
    assert summary.upserted == summary.delivered == 3 and summary.failed == 0
    got = stored_obligations(hub)
    assert [(str(o.client_hetu), o.trigger, o.has_plan) for o in got] == sorted(
        [
            (young, T.SUBSIDY_DAYS_UNDER_25, True),
            (older, T.SUBSIDY_DAYS_25_AND_OVER, False),
            (older, T.INCOME_SUPPORT_MONTHS_25_AND_OVER, False),
        ]
    )
    sent = ReceivedObligations.received  # the declared fields (those given), and only those
    assert len(sent) == 3
    assert all(set(FIELDS) - {"plan_drawn_up"} <= set(p) <= set(FIELDS) for p in sent)
    assert sum("plan_drawn_up" in p for p in sent) == 1

    with hub.store.transaction() as conn:
        events = conn.execute(
            select(t.access_events.c.id, t.access_events.c.purpose).where(
                t.access_events.c.action == "derive", t.access_events.c.exchange == "hub_to_sink"
            )
        ).all()
        read = conn.execute(
            select(func.count())
            .select_from(t.access_log)
            .where(t.access_log.c.event_id.in_([e.id for e in events]))
        ).scalar_one()
        ids = [
            hub.keys.decrypt(bytes(blob), context=b"hub/ActivationPlanObligation").decode()
            for blob in conn.execute(
                select(t.identity_map.c.native_id).where(
                    t.identity_map.c.system == "hub",
                    t.identity_map.c.entity == "ActivationPlanObligation",
                )
            ).scalars()
        ]
        disclosed = conn.execute(select(func.count()).select_from(t.disclosure_log)).scalar_one()
    assert len(events) == 3  # benefit days, income support months, plans
    assert all("189/2001" in e.purpose for e in events)
    assert read == sources  # every record read, person by person
    assert len(ids) == 3 and not any(HETU_PATTERN.search(i) for i in ids)
    assert disclosed == 3

    again = run_exchange(hub, "hub_to_sink")  # nothing changed: nothing sent again
    assert again.state == "success" and again.upserted == again.delivered == 0

    store(hub, "county_case_system", [plan(older, D(2021, 2, 10))])
    third = run_exchange(hub, "hub_to_sink")
    assert third.state == "success" and third.upserted == third.delivered == 2
    assert all(o.has_plan for o in stored_obligations(hub))
