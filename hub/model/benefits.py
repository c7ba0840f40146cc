"""Kela's side: benefit days, the municipal share billed, and notices to social work."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, PlainSerializer, model_validator

from hub.model.entities import CanonicalEntity
from hub.model.types import IdentityCode, MunicipalityCode, NonEmptyText, YearMonth

Euros = Field(ge=0, max_digits=12, decimal_places=2)
#: decimals as JSON in plain notation ("1000", never "1E+3"): stable hashes and round trips
Plain = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")


class BenefitType(StrEnum):
    """Unemployment benefits whose cost municipalities share from the 101st benefit day."""

    LABOUR_MARKET_SUBSIDY = "labour_market_subsidy"  # työmarkkinatuki
    BASIC_DAILY_ALLOWANCE = "basic_daily_allowance"  # peruspäiväraha
    EARNINGS_RELATED_ALLOWANCE = "earnings_related_allowance"  # ansiopäiväraha


class BenefitDays(CanonicalEntity):
    """Kela's count of a client's benefit days of one benefit, as of a date."""

    entity_name: ClassVar[str] = "BenefitDays"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    benefit_type: BenefitType
    as_of: dt.date
    cumulative_days: int = Field(ge=0, le=20_000)
    paying_municipality: MunicipalityCode | None = None


class BillingLine(CanonicalEntity):
    """One line of Kela's monthly bill to a municipality: the municipal share of one
    client's benefit for one month, for the benefit days ``days_from``–``days_to`` (the
    client's cumulative day numbers), all at one share percentage. A month that crosses a
    step of the share gives one line per step. Due on the 28th of the following month."""

    entity_name: ClassVar[str] = "BillingLine"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    billing_month: YearMonth
    municipality_code: MunicipalityCode
    benefit_type: BenefitType
    days_from: int = Field(ge=1)
    days_to: int = Field(ge=1)
    benefit_paid: Annotated[Decimal, Plain] = Euros
    share_percent: Annotated[Decimal, Plain] = Field(ge=0, le=100, max_digits=5, decimal_places=2)
    municipal_share: Annotated[Decimal, Plain] = Euros
    due_date: dt.date

    @model_validator(mode="after")
    def _consistent(self) -> BillingLine:
        if self.days_to < self.days_from:
            raise ValueError("days_to is before days_from")
        if self.days_to - self.days_from + 1 > 31:
            raise ValueError("more than 31 benefit days in one month")
        expected = (self.benefit_paid * self.share_percent / 100).quantize(Decimal("0.01"))
        if abs(self.municipal_share - expected) > Decimal("0.01"):
            raise ValueError(
                f"municipal_share is not share_percent of benefit_paid (expected {expected})"
            )
        return self

    @property
    def benefit_days(self) -> int:
        return self.days_to - self.days_from + 1


class NotificationKind(StrEnum):
    SOCIAL_WORK_NEED = "social_work_need"  # ilmoitus sosiaalihuollon tarpeesta
    SUPPLEMENTARY_INCOME_SUPPORT = "supplementary_income_support"  # täydentävä toimeentulotuki


class Notification(CanonicalEntity):
    """Kela's notice to the municipality of a client's need for social work or for
    supplementary income support (eTotu)."""

    entity_name: ClassVar[str] = "Notification"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    kind: NotificationKind
    reference: NonEmptyText = Field(max_length=64, description="Kela's reference of the notice")
    sent_at: dt.datetime
    municipality_code: MunicipalityCode
    reason: NonEmptyText | None = None
    urgent: bool = False
