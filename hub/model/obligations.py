"""Obligations the hub can see: income support months, and the activation plans the law
requires (Act on Rehabilitative Work Activity 189/2001, § 3).

An activation plan must be drawn up for an unemployed person under 25 who has received
labour-market subsidy for 180 days within the last 12 calendar months, or whose main income
over the last 4 months was income support; and for a person of 25 or over who has received
labour-market subsidy for 500 days, or for 180 days after the end of the maximum period of
daily allowance, or whose main income over the last 12 months was income support. The hub
derives these obligations (:mod:`hub.obligations`) from Kela's benefit-day counts, the
income support months the social-welfare side records and the plans it holds; the limits are
configuration (``activation_plan`` in the rules file).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from hub.model.entities import CanonicalEntity
from hub.model.types import IdentityCode, YearMonth


class IncomeSupportKind(StrEnum):
    """The three kinds of income support (Act on Social Assistance 1412/1997)."""

    #: perustoimeentulotuki: decided and paid by Kela since 1.1.2017; the case system
    #: records it for the clients it serves. The kind the activation-plan rules count.
    BASIC = "basic"
    #: täydentävä toimeentulotuki: decided by the wellbeing services county
    SUPPLEMENTARY = "supplementary"
    #: ehkäisevä toimeentulotuki: decided by the wellbeing services county
    PREVENTIVE = "preventive"


class IncomeSupportMonth(CanonicalEntity):
    """A calendar month for which a client received income support of one kind, as the
    social-welfare case system records it (one record per client, month and kind)."""

    entity_name: ClassVar[str] = "IncomeSupportMonth"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    month: YearMonth = Field(description="the calendar month the support was granted for")
    kind: IncomeSupportKind = Field(
        description="basic (Kela's since 2017), supplementary or preventive; the "
        "activation-plan rules count the kinds the rules file names (basic)"
    )

    @property
    def first_day(self) -> dt.date:
        return dt.date.fromisoformat(f"{self.month}-01")


class ObligationTrigger(StrEnum):
    """Which condition of 189/2001 § 3 made an activation plan due."""

    #: under 25: labour-market subsidy for 180 days within the last 12 calendar months
    SUBSIDY_DAYS_UNDER_25 = "subsidy_days_under_25"
    #: under 25: income support for the last 4 months
    INCOME_SUPPORT_MONTHS_UNDER_25 = "income_support_months_under_25"
    #: 25 or over: labour-market subsidy for 500 days
    SUBSIDY_DAYS_25_AND_OVER = "subsidy_days_25_and_over"
    #: 25 or over: labour-market subsidy for 180 days after the maximum period of daily
    #: allowance ended
    SUBSIDY_AFTER_DAILY_ALLOWANCE = "subsidy_after_daily_allowance"
    #: 25 or over: income support for the last 12 months
    INCOME_SUPPORT_MONTHS_25_AND_OVER = "income_support_months_25_and_over"


#: the triggers that count days inside a window the benefit-day counts may not pin down
WINDOWED = frozenset(
    {ObligationTrigger.SUBSIDY_DAYS_UNDER_25, ObligationTrigger.SUBSIDY_AFTER_DAILY_ALLOWANCE}
)


class ActivationPlanObligation(CanonicalEntity):
    """An activation plan the law requires for a client, derived by the hub: which condition
    was met and when, by when the plan is due, and whether a plan was drawn up."""

    entity_name: ClassVar[str] = "ActivationPlanObligation"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    trigger: ObligationTrigger
    reached_on: dt.date = Field(
        description="the first day the hub's records show the condition met: a benefit-day "
        "count's as_of, the last day of the income support month completing the run, or the "
        "day the client reached the age limit"
    )
    due_by: dt.date = Field(
        description="the day the plan is due: reached_on plus activation_plan.due_days of the "
        "rules file"
    )
    age_on_reached: int = Field(ge=0, le=150, description="the client's age on reached_on")
    has_plan: bool = Field(
        description="an activation plan (or a multisectoral employment plan, which replaces "
        "it) was drawn up on or after reached_on, or within the configured look-back before it"
    )
    plan_drawn_up: dt.date | None = Field(
        default=None, description="the day that plan was drawn up (given exactly when has_plan)"
    )
    window_assumed: bool = Field(
        default=False,
        description="the benefit-day counts do not reach back to the start of the window (the "
        "12 months, or the end of daily allowance): every day counted was taken to fall inside "
        "it, so the obligation may not be there; check it against Kela's payment history",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ActivationPlanObligation:
        if self.due_by < self.reached_on:
            raise ValueError("due_by is before reached_on")
        if self.has_plan != (self.plan_drawn_up is not None):
            raise ValueError("plan_drawn_up is given exactly when has_plan is true")
        if self.window_assumed and self.trigger not in WINDOWED:
            raise ValueError(f"window_assumed is only given for the triggers {sorted(WINDOWED)}")
        return self
