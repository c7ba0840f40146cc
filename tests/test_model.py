"""Canonical model: schemas in sync, identity codes, domain rules from configuration."""

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hub.engine.translate import describe_validation
from hub.model import ENTITIES, Client, ServiceEpisode
from hub.model.rules import Rules
from hub.model.schemas import render, schema_path
from hub.privacy import HETU_PATTERN
from hub.settings import DEFAULT_RULES
from hub.synthetic import make_hetu, person

RULES = Rules.load(DEFAULT_RULES.path())


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_committed_schema_matches_model(entity):
    path = schema_path(entity)
    assert path.exists(), f"{path} missing: run `hub schemas export`"
    assert path.read_text(encoding="utf-8") == render(entity), (
        f"{path.name} and the {entity} model have drifted apart: run `hub schemas export`"
    )


def test_schema_validates_model_output():
    import jsonschema

    p = person(1, 3)
    ep = episode(client_hetu=p.hetu)
    schema = json.loads(schema_path("ServiceEpisode").read_text())
    jsonschema.validate(ep.model_dump(mode="json"), schema)
    bad = {**ep.model_dump(mode="json"), "unknown": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def episode(**over):
    base = dict(
        client_hetu=person(1, 0).hetu,
        service_type="rehabilitative_work_activity",
        decision_date=dt.date(2026, 1, 5),
        start_date=dt.date(2026, 1, 12),
        planned_end_date=dt.date(2026, 7, 12),
        days_per_week=3,
        hours_per_day=6,
        status="active",
    )
    base.update(over)
    return ServiceEpisode(**base)


@given(st.integers(min_value=0, max_value=200_000))
def test_synthetic_identity_codes_are_valid_and_temporary(index):
    p = person(7, index)
    client = Client(hetu=p.hetu)
    assert client.hetu == p.hetu
    assert 900 <= int(p.hetu[7:10]) <= 999
    assert HETU_PATTERN.fullmatch(p.hetu)


def test_century_signs_of_2023_distinguish_people():
    born = dt.date(1990, 1, 1)
    a, b = make_hetu(born, 999, "-"), make_hetu(born, 999, "Y")
    assert a != b and a[:6] == b[:6]
    assert Client(hetu=a).hetu != Client(hetu=b).hetu
    assert Client(hetu=make_hetu(dt.date(2005, 3, 4), 950, "B")).hetu[6] == "B"


def test_invalid_identity_code_error_names_field_not_value():
    bad = person(1, 5).hetu[:-1] + ("A" if person(1, 5).hetu[-1] != "A" else "B")
    with pytest.raises(ValidationError) as info:
        Client(hetu=bad)
    field, message = describe_validation(info.value)
    assert field == "hetu"
    assert "identity code" in message
    assert bad not in str(info.value) and bad not in message
    assert not HETU_PATTERN.search(str(info.value))


def test_repr_masks_identity_code():
    p = person(1, 1)
    text = repr(Client(hetu=p.hetu, first_name=p.first_name))
    assert p.hetu not in text


def test_episode_consistency_rules():
    with pytest.raises(ValidationError, match="interruption_reason is required"):
        episode(status="interrupted", actual_end_date=dt.date(2026, 3, 1))
    with pytest.raises(ValidationError, match="before start_date"):
        episode(planned_end_date=dt.date(2025, 1, 1))


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"days_per_week": 5}, "days_per_week", "above the maximum 4"),
        ({"hours_per_day": 3}, "hours_per_day", "below the minimum 4"),
        ({"planned_end_date": dt.date(2026, 2, 12)}, "planned_end_date", "below the minimum 3"),
        ({"planned_end_date": dt.date(2028, 6, 12)}, "planned_end_date", "above the maximum 24"),
    ],
)
def test_configured_rules_reject_with_field_and_rule(over, field, words):
    violations = RULES.check(episode(**over))
    assert [v.field for v in violations] == [field]
    assert words in violations[0].message
    assert "rules.yaml: service_types.rehabilitative_work_activity" in violations[0].message


@pytest.mark.parametrize(
    ("start", "last_day", "verdict"),
    [
        # three months with the end date included: the decisions of the issue, accepted
        ("2026-02-01", "2026-04-30", None),
        ("2026-04-01", "2026-06-30", None),
        ("2026-01-01", "2026-03-31", None),
        ("2026-11-01", "2027-01-31", None),  # over the year's end
        # one day short of three months
        ("2026-02-01", "2026-04-29", "2 months and 29 days (end date included) is below"),
        ("2026-04-01", "2026-06-29", "2 months and 29 days (end date included) is below"),
        # February: a month after 31.1. is its last day (28th, in a leap year the 29th)
        ("2026-01-31", "2026-04-29", None),
        ("2026-01-31", "2026-04-28", "2 months and 29 days (end date included) is below"),
        ("2027-11-30", "2028-02-28", None),
        ("2027-11-30", "2028-02-27", "2 months and 29 days (end date included) is below"),
        ("2028-02-29", "2028-05-28", None),  # from a leap day
        ("2028-02-29", "2028-05-27", "2 months and 29 days (end date included) is below"),
        # the longest: 24 months, and one day more
        ("2026-01-12", "2028-01-11", None),
        ("2026-01-12", "2028-01-12", "24 months and 1 day (end date included) is above"),
        ("2026-03-01", "2028-02-29", None),  # ends on a leap day
        ("2026-03-01", "2028-03-01", "24 months and 1 day (end date included) is above"),
        ("2026-01-12", "2026-01-12", "1 day (end date included) is below"),
    ],
)
def test_duration_in_calendar_months_with_the_end_date_included(start, last_day, verdict):
    ep = episode(
        decision_date=dt.date.fromisoformat(start) - dt.timedelta(days=7),
        start_date=dt.date.fromisoformat(start),
        planned_end_date=dt.date.fromisoformat(last_day),
    )
    violations = RULES.check(ep)
    if verdict is None:
        assert violations == []
    else:
        assert [v.field for v in violations] == ["planned_end_date"]
        assert verdict in violations[0].message, violations[0].message
        assert "service_types.rehabilitative_work_activity.duration_months" in violations[0].message


def test_durations_are_whole_months_in_the_rules_file(tmp_path: Path):
    from hub.errors import ConfigError

    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "service_types:\n  rehabilitative_work_activity:\n    duration_months: {min: 2.5}\n"
    )
    with pytest.raises(ConfigError, match="duration_months.min"):
        Rules.load(bad)


def test_rules_are_configuration(tmp_path: Path):
    custom = tmp_path / "rules.yaml"
    custom.write_text(
        "service_types:\n  rehabilitative_work_activity:\n    days_per_week: {min: 1, max: 5}\n"
    )
    assert Rules.load(custom).check(episode(days_per_week=5)) == []
    assert RULES.check(episode(days_per_week=4)) == []


def test_bad_rules_file_names_the_key(tmp_path: Path):
    from hub.errors import ConfigError

    bad = tmp_path / "rules.yaml"
    bad.write_text("service_types:\n  rehabilitative_work_activity:\n    days: {min: 1}\n")
    with pytest.raises(ConfigError, match="rehabilitative_work_activity.days"):
        Rules.load(bad)


def _line(days_from: int, days_to: int, percent: str, month: str = "2026-10"):
    from decimal import Decimal

    from hub.model import BillingLine

    paid = Decimal("40.00") * (days_to - days_from + 1)
    return BillingLine(
        client_hetu=person(1, 0).hetu,
        billing_month=month,
        municipality_code="743",
        benefit_type="labour_market_subsidy",
        days_from=days_from,
        days_to=days_to,
        benefit_paid=paid,
        share_percent=Decimal(percent),
        municipal_share=(paid * Decimal(percent) / 100).quantize(Decimal("0.01")),
        due_date=dt.date(2026, 11, 28),
    )


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (lambda: _line(150, 170, "10"), None, None),
        (lambda: _line(250, 270, "10"), "share_percent", "the rule gives 20 %"),
        (lambda: _line(190, 210, "10"), "days_to", "cross a step"),
        (lambda: _line(310, 330, "50", month="2024-06"), None, None),
        (lambda: _line(1000, 1020, "50", month="2024-06"), "share_percent", "gives 70 %"),
    ],
)
def test_municipal_share_of_a_billing_line_follows_the_configured_steps(line, field, words):
    rules = Rules.load(DEFAULT_RULES.path())
    violations = rules.check(line())
    if field is None:
        assert violations == []
    else:
        assert [v.field for v in violations] == [field]
        assert words in violations[0].message and "municipal_share from" in violations[0].message


def test_billing_line_share_must_match_the_amounts():
    from decimal import Decimal

    from hub.model import BillingLine

    data = {**_line(150, 170, "10").model_dump(), "municipal_share": Decimal("1.00")}
    with pytest.raises(ValidationError, match="municipal_share is not share_percent"):
        BillingLine.model_validate(data)


# --- employment services, plan types, labour-policy statements ------------------------------
def work_trial(**over):
    """An active work trial from 2 March 2026, three months long."""
    base = dict(
        service_type="work_trial",
        decision_date=dt.date(2026, 2, 16),
        start_date=dt.date(2026, 3, 2),
        planned_end_date=dt.date(2026, 6, 1),
        days_per_week=3,
        hours_per_day=6,
    )
    return episode(**{**base, **over})


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"days_per_week": 5}, None, None),  # just inside
        ({"days_per_week": 6}, "days_per_week", "6 is above the maximum 5"),
        ({"days_per_week": 1}, None, None),
        ({"days_per_week": 0}, "days_per_week", "0 is below the minimum 1"),
        ({"hours_per_day": 4}, None, None),
        ({"hours_per_day": 3.5}, "hours_per_day", "3.5 is below the minimum 4"),
        ({"hours_per_day": 8}, None, None),
        ({"hours_per_day": 8.25}, "hours_per_day", "8.25 is above the maximum 8"),
        # 12 months with the end date included, and one day more
        ({"planned_end_date": dt.date(2027, 3, 1)}, None, None),
        ({"planned_end_date": dt.date(2027, 3, 2)}, "planned_end_date", "12 months and 1 day"),
    ],
)
def test_work_trial_limits_are_configured(over, field, words):
    violations = RULES.check(work_trial(**over))
    if field is None:
        assert violations == []
        return
    assert [v.field for v in violations] == [field]
    assert words in violations[0].message
    assert "rules.yaml: service_types.work_trial." in violations[0].message


@pytest.mark.parametrize("service", ["pay_subsidy", "coaching", "labour_market_training"])
def test_employment_services_without_fixed_limits_have_none_configured(service):
    """Pay subsidy, coaching and labour-market training have no limits in the rules file: a
    long, full-time period of each passes (KTT's limits do not leak to them)."""
    long = episode(
        service_type=service,
        planned_end_date=dt.date(2028, 12, 31),  # about three years
        days_per_week=5,
        hours_per_day=8,
    )
    assert RULES.check(long) == []
    assert service not in RULES.service_types


def test_employment_service_types_are_canonical_values():
    from hub.model import ServiceType

    assert {
        ServiceType.WORK_TRIAL,
        ServiceType.PAY_SUBSIDY,
        ServiceType.COACHING,
        ServiceType.LABOUR_MARKET_TRAINING,
    } == {"work_trial", "pay_subsidy", "coaching", "labour_market_training"}
    schema = json.loads(schema_path("ServiceEpisode").read_text())
    assert "labour_market_training" in schema["$defs"]["ServiceType"]["enum"]


def plan(**over):
    from hub.model import ActivationPlan

    base = dict(
        client_hetu=person(1, 0).hetu,
        drawn_up_date=dt.date(2026, 1, 2),
        goals=["Arjen hallinnan vahvistaminen"],
        responsible_official="Työvalmentaja Leena Esimerkki",
    )
    return ActivationPlan(**{**base, **over})


def test_a_plan_says_its_type_and_is_an_activation_plan_by_default():
    assert plan().plan_type == "activation_plan"  # records from before the field stay valid
    assert plan().model_dump(mode="json")["plan_type"] == "activation_plan"
    for kind in ("multisectoral_employment_plan", "employment_plan"):
        assert plan(plan_type=kind).plan_type == kind
    with pytest.raises(ValidationError) as info:
        plan(plan_type="integration_plan")
    assert describe_validation(info.value)[0] == "plan_type"


def statement(**over):
    from hub.model import LabourPolicyStatement

    base = dict(
        client_hetu=person(1, 0).hetu,
        issued_on=dt.date(2026, 3, 10),
        valid_from=dt.date(2026, 3, 2),
        statement="entitled",
        benefit_type="labour_market_subsidy",
    )
    return LabourPolicyStatement(**{**base, **over})


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({}, None),
        ({"valid_until": dt.date(2026, 3, 2)}, None),  # one day: just inside
        ({"valid_until": dt.date(2026, 3, 1)}, "valid_until is before valid_from"),
        ({"statement": "not_entitled", "reason": "Päätoiminen opiskelu"}, None),
        ({"statement": "not_entitled"}, "reason is required when statement is not_entitled"),
        ({"statement": "employment_obligation", "reason": "   "}, "reason"),
        (
            {
                "statement": "period_without_benefit",
                "reason": "Kieltäytyminen tarjotusta työstä",
                "valid_until": dt.date(2026, 3, 31),
            },
            None,
        ),
        (
            {"statement": "period_without_benefit", "reason": "Kieltäytyminen tarjotusta työstä"},
            "valid_until is required when statement is period_without_benefit",
        ),
        ({"statement": "maybe"}, "statement"),
        ({"benefit_type": "housing_allowance"}, "benefit_type"),
        ({"valid_from": None}, "valid_from"),
    ],
)
def test_labour_policy_statement_validators(over, words):
    if words is None:
        assert statement(**over).client_hetu == person(1, 0).hetu
        return
    with pytest.raises(ValidationError) as info:
        statement(**over)
    field, message = describe_validation(info.value)
    assert words in f"{field}: {message}"
    assert person(1, 0).hetu not in str(info.value) and not HETU_PATTERN.search(message)


def test_labour_policy_statement_is_a_registered_entity_about_one_person():
    from hub.model import LabourPolicyStatement
    from hub.plugins import entity_registry

    assert entity_registry()["LabourPolicyStatement"] is LabourPolicyStatement
    assert ENTITIES["LabourPolicyStatement"] is LabourPolicyStatement
    s = statement(
        statement="period_without_benefit",
        reason="Kieltäytyminen tarjotusta työstä",
        valid_until=dt.date(2026, 3, 31),
    )
    assert s.subject() == person(1, 0).hetu and person(1, 0).hetu not in repr(s)
    assert s.in_force(dt.date(2026, 3, 2)) and s.in_force(dt.date(2026, 3, 31))
    assert not s.in_force(dt.date(2026, 3, 1)) and not s.in_force(dt.date(2026, 4, 1))
    assert statement().in_force(dt.date(2030, 1, 1))  # open-ended
    assert RULES.check(s) == []
