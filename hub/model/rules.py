"""Configurable domain rules (the rules file, ``HUB_RULES``; by default the package's
``hub/config/rules.yaml``), checked after model validation."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml
from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import ConfigError
from hub.model.benefits import BillingLine
from hub.model.entities import CanonicalEntity, PlanType, ServiceEpisode
from hub.model.obligations import IncomeSupportKind, ObligationTrigger


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None


class MonthRange(BaseModel):
    """A duration in whole calendar months (a decision is made for months, not for 30-day
    spans)."""

    model_config = ConfigDict(extra="forbid")
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)


class ServiceRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days_per_week: Range | None = None
    hours_per_day: Range | None = None
    duration_months: MonthRange | None = None


class ShareStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_day: int
    percent: Decimal


class ShareRules(BaseModel):
    """The municipal share of unemployment benefits for billing months from ``from``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    valid_from: dt.date = Field(alias="from")
    steps: list[ShareStep]

    @model_validator(mode="after")
    def _in_order(self) -> ShareRules:
        self.steps.sort(key=lambda s: s.from_day)
        return self

    def percent_for(self, day: int) -> Decimal:
        """The share for the ``day``-th benefit day (0 before the first step)."""
        share = Decimal(0)
        for step in self.steps:
            if day < step.from_day:
                break
            share = step.percent
        return share


class ActivationPlanRules(BaseModel):
    """When an activation plan is due (189/2001 § 3) and what counts as one: the
    ``activation_plan`` section of the rules file. Defaults: the act as DOMAIN.md gives it."""

    model_config = ConfigDict(extra="forbid")
    #: the conditions checked (the section may switch any of them off)
    triggers: list[ObligationTrigger] = Field(default_factory=lambda: list(ObligationTrigger))
    #: the age from which the rules "25 and over" apply, on the day a condition is met
    age: int = Field(default=25, ge=1, le=100)
    subsidy_days_under_25: int = Field(default=180, ge=1, le=20_000)
    #: the window of the under-25 subsidy rule, in calendar months ending on the count's day
    subsidy_window_months: int = Field(default=12, ge=1, le=120)
    income_support_months_under_25: int = Field(default=4, ge=1, le=120)
    subsidy_days_25_and_over: int = Field(default=500, ge=1, le=20_000)
    subsidy_days_after_daily_allowance: int = Field(default=180, ge=1, le=20_000)
    #: days of daily allowance (basic and earnings-related together) taken as the end of
    #: its maximum period: the shortest maximum, so that no end is missed
    daily_allowance_max_days: int = Field(default=300, ge=1, le=20_000)
    income_support_months_25_and_over: int = Field(default=12, ge=1, le=120)
    #: the kinds of income support whose months count
    income_support_kinds: list[IncomeSupportKind] = [IncomeSupportKind.BASIC]
    #: the plans that fulfil the obligation
    plan_types: list[PlanType] = [PlanType.ACTIVATION_PLAN, PlanType.MULTISECTORAL_EMPLOYMENT_PLAN]
    #: days from the condition being met to the plan's due date
    due_days: int = Field(default=28, ge=0, le=3650)
    #: a plan drawn up this many days before the condition was met still fulfils it
    plan_lookback_days: int = Field(default=90, ge=0, le=3650)


@functools.lru_cache(maxsize=256)
def _months(n: int) -> relativedelta:
    """A span of ``n`` calendar months (the configured limits: a few values, made once)."""
    return relativedelta(months=n)


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_types: dict[str, ServiceRules] = {}
    municipal_share: list[ShareRules] = []
    activation_plan: ActivationPlanRules = ActivationPlanRules()


@dataclass(frozen=True)
class Violation:
    field: str
    message: str


_UNSET = object()


@dataclass(frozen=True)
class Rules:
    service_types: dict[str, ServiceRules] = field(default_factory=dict)
    municipal_share: list[ShareRules] = field(default_factory=list)
    activation_plan: ActivationPlanRules = field(default_factory=ActivationPlanRules)
    source: str = "<defaults>"
    _share_by_month: dict[str, ShareRules | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def load(cls, path: Path) -> Rules:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            parsed = RulesFile.model_validate(data)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read rules: {exc}") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{path}: {loc}: {first['msg']}") from None
        return cls(
            service_types=parsed.service_types,
            municipal_share=sorted(parsed.municipal_share, key=lambda r: r.valid_from),
            activation_plan=parsed.activation_plan,
            source=path.name,
        )

    def check(self, record: CanonicalEntity) -> list[Violation]:
        if isinstance(record, ServiceEpisode):
            return self._check_episode(record)
        if isinstance(record, BillingLine):
            return self._check_billing(record)
        return []

    def share_rules_for(self, month: str) -> ShareRules | None:
        """The share rules in force in ``month`` (YYYY-MM); a million billing lines of one
        month ask for the same month, so the answer is kept."""
        found = self._share_by_month.get(month, _UNSET)
        if found is _UNSET:
            first_day = dt.date.fromisoformat(f"{month}-01")
            valid = [r for r in self.municipal_share if r.valid_from <= first_day]
            found = self._share_by_month[month] = valid[-1] if valid else None
        return found

    def _check_billing(self, line: BillingLine) -> list[Violation]:
        rules = self.share_rules_for(line.billing_month)
        if rules is None:
            return []
        where = f"({self.source}: municipal_share from {rules.valid_from})"
        first, last = rules.percent_for(line.days_from), rules.percent_for(line.days_to)
        if first != last:
            return [
                Violation(
                    "days_to",
                    f"benefit days {line.days_from}-{line.days_to} cross a step of the "
                    f"municipal share ({first:g} % to {last:g} %) in one line {where}",
                )
            ]
        if line.share_percent != first:
            return [
                Violation(
                    "share_percent",
                    f"{line.share_percent:g} % billed for benefit days {line.days_from}-"
                    f"{line.days_to}; the rule gives {first:g} % {where}",
                )
            ]
        return []

    def _check_episode(self, ep: ServiceEpisode) -> list[Violation]:
        rules = self.service_types.get(ep.service_type)
        if rules is None:
            return []
        found: list[Violation] = []
        limit = rules.days_per_week
        if limit is not None and ep.days_per_week is not None:
            found += self._range("days_per_week", "days_per_week", ep.days_per_week, limit, ep)
        limit = rules.hours_per_day
        if limit is not None and ep.hours_per_day is not None:
            found += self._range("hours_per_day", "hours_per_day", ep.hours_per_day, limit, ep)
        limit = rules.duration_months
        if limit is not None and ep.start_date and ep.planned_end_date:
            found += self._duration(ep.start_date, ep.planned_end_date, limit, ep)
        return found

    def _duration(
        self, start: dt.date, last_day: dt.date, limit: MonthRange, ep: ServiceEpisode
    ) -> list[Violation]:
        """A decided period against its limits in calendar months. The end date is the
        period's last day: 1.2.–30.4. is three months, as is 31.1.–29.4. (a month after 31.1.
        is the last day of February); one day less is not."""
        after = last_day + dt.timedelta(days=1)
        if limit.min is not None and after < start + _months(limit.min):
            bound, word = limit.min, "below the minimum"
        elif limit.max is not None and after > start + _months(limit.max):
            bound, word = limit.max, "above the maximum"
        else:
            return []
        rule = f"{self.source}: service_types.{ep.service_type}.duration_months"
        return [
            Violation(
                "planned_end_date",
                f"a period of {describe_duration(start, after)} (end date included) is {word} "
                f"{bound} months ({rule})",
            )
        ]

    def _range(
        self,
        name: str,
        rule_name: str,
        value: float,
        limit: Range,
        ep: ServiceEpisode,
    ) -> list[Violation]:
        if limit.min is not None and value < limit.min:
            bound, word = limit.min, "below the minimum"
        elif limit.max is not None and value > limit.max:
            bound, word = limit.max, "above the maximum"
        else:
            return []  # the common case: no message is built
        rule = f"{self.source}: service_types.{ep.service_type}.{rule_name}"
        return [Violation(name, f"{value:g} is {word} {bound:g} ({rule})")]


def describe_duration(start: dt.date, after: dt.date) -> str:
    """The span from ``start`` to the day before ``after`` in calendar months and days, e.g.
    ``2 months and 29 days``."""
    span = relativedelta(after, start)
    months, days = span.years * 12 + span.months, span.days
    parts = [f"{months} month{'s' if months != 1 else ''}"] if months or not days else []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    return " and ".join(parts)
