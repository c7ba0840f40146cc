"""Kela's monthly bill reconciled (hub.reconciliation): each check with a line that breaks it
and one just inside it, a bill computed from the rules reconciling clean, and the disputes
derived by the hub's own end and delivered to the payer through the engine."""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import hub.plugins
from hub.model import BenefitDays, BillDispute, BillingLine, Client, DisputeReason
from hub.model.rules import Rules
from hub.privacy import HETU_PATTERN
from hub.reconciliation import Reconciler, due_date, month_end, reconcile, share_of
from hub.settings import DEFAULT_EXCHANGES, DEFAULT_RULES
from hub.synthetic import person

RULES = Rules.load(DEFAULT_RULES.path())
HETU, OTHER = person(1, 0).hetu, person(1, 1).hetu
MONTH = "2026-02"


def line(**over) -> BillingLine:
    """A clean line: 20 days at the 10 % step, due on 28.3., for a client of Seinäjoki."""
    data = dict(
        client_hetu=HETU,
        billing_month=MONTH,
        municipality_code="743",
        benefit_type="labour_market_subsidy",
        days_from=150,
        days_to=169,
        benefit_paid=Decimal("744.20"),
        share_percent=Decimal("10"),
        municipal_share=Decimal("74.42"),
        due_date=dt.date(2026, 3, 28),
    )
    data.update(over)
    return BillingLine(**data)


def count(days: int, as_of=dt.date(2026, 2, 28), hetu=HETU, benefit="labour_market_subsidy"):
    return BenefitDays(client_hetu=hetu, benefit_type=benefit, as_of=as_of, cumulative_days=days)


def client(home="743", hetu=HETU) -> Client:
    return Client(hetu=hetu, home_municipality=home)


def disputes(lines, counts=(), clients=()) -> list[BillDispute]:
    if not isinstance(lines, list):
        lines = [lines]
    counts = counts or [count(169)]
    clients = clients or [client()]
    return [f.dispute for f in reconcile(lines, counts, clients, RULES)]


def codes(lines, **kw) -> list[str]:
    return [d.reason_code for d in disputes(lines, **kw)]


def test_a_clean_line_is_not_disputed():
    assert disputes(line()) == []
    assert due_date("2026-02") == dt.date(2026, 3, 28)
    assert due_date("2026-12") == dt.date(2027, 1, 28)  # over the year's end
    assert month_end("2024-02") == dt.date(2024, 2, 29)


# --- due date ------------------------------------------------------------------------------


def test_due_on_the_28th_of_the_month_after():
    assert codes(line(due_date=dt.date(2026, 3, 28))) == []
    (found,) = disputes(line(due_date=dt.date(2026, 3, 27)))
    assert found.reason_code == DisputeReason.DUE_DATE
    assert "2026-03-27" in found.reason and "2026-03-28" in found.reason
    assert found.expected_share is None and found.billed_share == Decimal("74.42")
    # not moved to a banking day: 28.2.2027 is a Sunday, the bill still names the 28th
    january = line(billing_month="2027-01", due_date=dt.date(2027, 2, 28))
    assert codes(january, counts=[count(169, as_of=dt.date(2027, 1, 31))]) == []
    monday = line(billing_month="2027-01", due_date=dt.date(2027, 3, 1))
    assert codes(monday, counts=[count(169, as_of=dt.date(2027, 1, 31))]) == ["due_date"]


# --- home municipality ---------------------------------------------------------------------


def test_billed_to_the_home_municipality_in_the_hubs_record():
    assert codes(line(), clients=[client("743")]) == []
    (found,) = disputes(line(), clients=[client("408")])
    assert found.reason_code == DisputeReason.HOME_MUNICIPALITY
    assert "743" in found.reason and "408" in found.reason and "population register" in found.reason
    assert found.expected_share == Decimal("0.00")
    assert HETU not in found.reason
    # no record of the client, or none with a home municipality: nothing to dispute
    assert codes(line(), clients=[client("408", hetu=OTHER)]) == []
    assert codes(line(), clients=[Client(hetu=HETU)]) == []


# --- benefit days against Kela's own count ---------------------------------------------------


def test_benefit_days_within_kelas_count_as_of_the_months_end():
    assert codes(line(days_to=169), counts=[count(169)]) == []
    (found,) = disputes(
        line(days_to=170, benefit_paid=Decimal("781.41"), municipal_share=Decimal("78.14")),
        counts=[count(169)],
    )
    assert found.reason_code == DisputeReason.BENEFIT_DAYS
    assert "150-170" in found.reason and "169" in found.reason
    beyond = line(days_to=170, benefit_paid=Decimal("781.41"), municipal_share=Decimal("78.14"))
    # the earliest count as of the month's end or later, up to the due date, is the bound
    later = [count(175, as_of=dt.date(2026, 3, 10)), count(169, as_of=dt.date(2026, 3, 1))]
    assert codes(beyond, counts=later) == ["benefit_days"]
    # a count before the month's end says nothing (payments may be retroactive), nor one
    # after the due date, nor one of another benefit or person
    for unrelated in (
        count(120, as_of=dt.date(2026, 2, 27)),
        count(100, as_of=dt.date(2026, 3, 29)),
        count(100, benefit="basic_daily_allowance"),
        count(100, hetu=OTHER),
    ):
        assert codes(beyond, counts=[unrelated]) == [], unrelated


# --- share step ---------------------------------------------------------------------------


def test_share_percent_is_the_configured_step():
    at_20 = dict(days_from=250, days_to=269)
    right = line(**at_20, share_percent=Decimal("20"), municipal_share=Decimal("148.84"))
    assert codes(right, counts=[count(269)]) == []
    wrong = line(**at_20)  # 10 % of 744.20 € for days 250-269: the rule gives 20 %
    (found,) = disputes(wrong, counts=[count(269)])
    assert found.reason_code == DisputeReason.SHARE_PERCENT
    assert "the rule gives 20 %" in found.reason and "rules.yaml" in found.reason
    assert found.expected_share == Decimal("148.84")
    crossing = line(days_from=190, days_to=209)
    (found,) = disputes(crossing, counts=[count(209)])
    assert "cross a step" in found.reason and found.expected_share is None
    # the steps in force in the billing month: 2024 had 50 % from day 300
    old = line(
        billing_month="2024-06",
        due_date=dt.date(2024, 7, 28),
        days_from=310,
        days_to=329,
        share_percent=Decimal("50"),
        municipal_share=Decimal("372.10"),
    )
    assert codes(old, counts=[count(329, as_of=dt.date(2024, 6, 30))]) == []


# --- share amount -------------------------------------------------------------------------


def test_municipal_share_is_exact_to_the_cent():
    assert codes(line(municipal_share=Decimal("74.42"))) == []
    (found,) = disputes(line(municipal_share=Decimal("74.43")))
    assert found.reason_code == DisputeReason.SHARE_AMOUNT
    assert found.billed_share == Decimal("74.43") and found.expected_share == Decimal("74.42")
    assert "74.43 €" in found.reason and "744.20 €" in found.reason
    # half a cent rounds up: 10 % of 0.05 € is 0.005 €, 0.01 € billed
    assert share_of(Decimal("0.05"), Decimal("10")) == Decimal("0.01")
    half = line(benefit_paid=Decimal("740.05"), municipal_share=Decimal("74.01"))
    assert codes(half) == []
    assert codes(line(benefit_paid=Decimal("740.05"), municipal_share=Decimal("74.00"))) == [
        "share_amount"
    ]


# --- duplicates ---------------------------------------------------------------------------


def test_overlapping_lines_of_one_person_and_benefit():
    first = line(
        days_from=150, days_to=159, benefit_paid=Decimal("372.10"), municipal_share=Decimal("37.21")
    )
    adjacent = line(
        days_from=160, days_to=169, benefit_paid=Decimal("372.10"), municipal_share=Decimal("37.21")
    )
    assert codes([first, adjacent]) == []
    findings = reconcile([first, first], [count(169)], [client()], RULES)
    assert [(f.line, f.dispute.reason_code) for f in findings] == [(1, "duplicate")]
    assert findings[0].dispute.expected_share == Decimal("0.00")  # billed twice whole
    overlapping = line(
        days_from=159, days_to=168, benefit_paid=Decimal("372.10"), municipal_share=Decimal("37.21")
    )
    (found,) = disputes([first, overlapping])
    assert "150-159" in found.reason and found.expected_share is None
    # another benefit, or another person, is no duplicate
    other_benefit = line(
        days_from=150,
        days_to=159,
        benefit_type="basic_daily_allowance",
        benefit_paid=Decimal("372.10"),
        municipal_share=Decimal("37.21"),
    )
    other_person = line(
        client_hetu=OTHER,
        days_from=150,
        days_to=159,
        benefit_paid=Decimal("372.10"),
        municipal_share=Decimal("37.21"),
    )
    assert codes([first, other_benefit, other_person]) == []


def test_a_bill_is_one_municipality_and_month():
    with pytest.raises(ValueError, match="one municipality for one month"):
        reconcile([line(), line(municipality_code="408")], [], [], RULES)
    assert reconcile([], [], [], RULES) == []


# --- a bill computed from the rules reconciles clean ----------------------------------------

MONTHS = ["2024-03", "2024-12", "2025-01", "2025-07", "2026-02", "2026-12"]
BENEFITS = ["labour_market_subsidy", "basic_daily_allowance", "earnings_related_allowance"]


@st.composite
def bills(draw):
    """A month's bill to one municipality as Kela would compute it from the rules: per
    person and benefit, the days paid in the month split at the steps of the share, each
    line's share computed from its benefit paid, the count as of the month's end."""
    month = draw(st.sampled_from(MONTHS))
    rules = RULES.share_rules_for(month)
    lines, counts, clients = [], [], []
    for i in range(draw(st.integers(1, 6))):
        hetu = person(7, i).hetu
        clients.append(client("092", hetu=hetu))
        for benefit in draw(st.sets(st.sampled_from(BENEFITS), min_size=1, max_size=2)):
            start = draw(st.integers(101, 1200))
            end = start + draw(st.integers(0, 30))
            counts.append(
                count(
                    end + draw(st.integers(0, 3)),
                    as_of=month_end(month),
                    hetu=hetu,
                    benefit=benefit,
                )
            )
            day = start
            while day <= end:
                percent = rules.percent_for(day)
                last = day
                while last < end and rules.percent_for(last + 1) == percent:
                    last += 1
                paid = Decimal(draw(st.integers(0, 300_000))) / 100
                lines.append(
                    BillingLine(
                        client_hetu=hetu,
                        billing_month=month,
                        municipality_code="092",
                        benefit_type=benefit,
                        days_from=day,
                        days_to=last,
                        benefit_paid=paid,
                        share_percent=percent,
                        municipal_share=share_of(paid, percent),
                        due_date=due_date(month),
                    )
                )
                day = last + 1
    return lines, counts, clients


@settings(max_examples=150, deadline=None)
@given(bills())
def test_a_bill_computed_from_the_rules_reconciles_clean(bill):
    lines, counts, clients = bill
    assert [f.dispute.reason for f in reconcile(lines, counts, clients, RULES)] == []
    # and reconciling is pure: the same knowledge, a second bill, the same answer
    reconciler = Reconciler(counts, clients, RULES)
    assert reconciler.bill(lines) == reconciler.bill(lines) == []


# --- the derived stream through the engine ----------------------------------------------------

PAYER = """
from hub.adapter import Adapter, CheckResult, Stream, WriteOutcome
from hub.hookspecs import hookimpl
from hub.model import BillDispute

RECEIVED = []


class Report(Stream):
    name = "reconciliation_report"
    entity = BillDispute

    def to_native(self, record):
        return dict(record)

    def write(self, items):
        RECEIVED.extend(item.payload for item in items)
        return [WriteOutcome.ok(item.idempotency_key) for item in items]


class Payer(Adapter):
    system_id = "payer"
    title = "The paying municipality's reconciliation inbox (a test end)"
    connects = False
    streams = (Report,)

    def check(self):
        return CheckResult(True, "listening")


@hookimpl
def hub_register_adapters():
    return [Payer]
"""

FIELDS = [
    "client_hetu",
    "billing_month",
    "municipality_code",
    "benefit_type",
    "days_from",
    "days_to",
    "reason_code",
    "reason",
    "billed_share",
    "expected_share",
]


@pytest.fixture
def payer(monkeypatch):
    """The payer's inbox: a test end registered beside the installed plugins. (An exchange
    from the hub to the hub itself is refused — source and target must differ — so the
    report is delivered to an end of its own, as it would be to the municipality's system.)"""
    module = types.ModuleType("payer_plugin")
    exec(PAYER, module.__dict__)
    loaded = hub.plugins.load_plugins(extra_plugins={"payer": module})
    assert "payer" in loaded.adapters, loaded.report.failed
    monkeypatch.setattr(hub.plugins, "_loaded", loaded)
    return module


def test_disputes_are_derived_from_the_store_and_reach_the_payer(
    hub_env, payer, tmp_path, monkeypatch
):
    from hub.ends.reconciliation import ID_SCOPE
    from hub.engine import Hub, run_exchange
    from hub.store import records
    from hub.store import schema as t

    data = yaml.safe_load(DEFAULT_EXCHANGES.read_text())
    data["exchanges"]["hub_to_payer"] = {
        "source": "hub",
        "target": "payer",
        "schedule": None,
        "legal_basis": "The municipality's own payments to Kela (reconciliation of its bill)",
        "entities": [{"entity": "BillDispute", "fields": FIELDS}],
    }
    path = tmp_path / "exchanges.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    monkeypatch.setenv("HUB_EXCHANGES", str(path))

    moved, bystander = person(1, 2).hetu, person(1, 3).hetu
    hub_ = Hub.open()
    try:
        with hub_.store.transaction() as conn:

            def keep(system, *items):
                records.upsert(conn, hub_.keys, system, [records.Incoming(n, e) for n, e in items])

            keep(
                "te_office",
                ("c0", client()),
                ("c1", client("408", hetu=moved)),
                ("c2", client(hetu=bystander)),
            )
            keep(
                "kela_seinajoki",
                ("d0", count(169)),
                ("d1", count(169, hetu=moved)),
                ("d2", count(169, hetu=bystander)),
            )
            keep(
                "kela_seinajoki",
                ("2026-02/1", line()),  # clean
                ("2026-02/2", line(client_hetu=moved)),  # lives in Lapua
                (
                    "2026-03/1",
                    line(
                        billing_month="2026-03",  # due a day early
                        due_date=dt.date(2026, 4, 27),
                    ),
                ),
            )
        summary = run_exchange(hub_, "hub_to_payer")
        assert summary.state == "success", summary.error
        assert summary.delivered == 2 and summary.failed == 0
        received = payer.RECEIVED
        assert sorted((r["billing_month"], r["reason_code"]) for r in received) == [
            ("2026-02", "home_municipality"),
            ("2026-03", "due_date"),
        ]
        assert all(set(r) <= set(FIELDS) for r in received)
        assert not any(HETU_PATTERN.search(r["reason"]) for r in received)
        home = next(r for r in received if r["reason_code"] == "home_municipality")
        assert home["client_hetu"] == moved and home["expected_share"] == "0.00"

        with hub_.store.transaction() as conn:
            ids = [
                rid
                for (rid,) in conn.execute(
                    select(t.records.c.id).where(t.records.c.entity == "BillDispute")
                )
            ]
            native = records.native_ids_for(conn, hub_.keys, "hub", "BillDispute", ids)
            reconciled = (
                conn.execute(
                    select(t.access_log.c.subject_id)
                    .join(t.access_events, t.access_events.c.id == t.access_log.c.event_id)
                    .where(t.access_events.c.action == "reconcile")
                )
                .scalars()
                .all()
            )
            clients = (
                conn.execute(select(t.records.c.subject_id).where(t.records.c.entity == "Client"))
                .scalars()
                .all()
            )
        assert len(native) == 2
        for n in native.values():  # the line's key, the person pseudonymised
            assert HETU not in n and moved not in n
            assert hub_.keys.pseudonym(moved, scope=ID_SCOPE) in n or n.startswith("2026-03/")
        # the people on the bills were read, and logged; the bystander was not read at all
        assert reconciled and len(set(reconciled)) == 2
        assert len(set(clients) - set(reconciled)) == 1  # the bystander's

        again = run_exchange(hub_, "hub_to_payer")  # nothing changed: nothing sent again
        assert again.state == "success" and again.delivered == 0
    finally:
        hub_.close()
