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
