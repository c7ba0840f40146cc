"""A line of Kela's monthly bill the municipality disputes, and why (:mod:`hub.reconciliation`)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from hub.model.benefits import BenefitType, Plain
from hub.model.entities import CanonicalEntity
from hub.model.types import IdentityCode, MunicipalityCode, NonEmptyText, YearMonth

Share = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), Plain]


class DisputeReason(StrEnum):
    """Why a billed line is disputed."""

    #: the bill is not due on the 28th of the month after the billing month
    DUE_DATE = "due_date"
    #: the hub's client record gives another home municipality than the one billed
    HOME_MUNICIPALITY = "home_municipality"
    #: the line's benefit days go beyond Kela's own count of the client's days
    BENEFIT_DAYS = "benefit_days"
    #: the share percent is not the configured step for the line's benefit days
    SHARE_PERCENT = "share_percent"
    #: the municipal share is not benefit_paid × share_percent, rounded to the cent
    SHARE_AMOUNT = "share_amount"
    #: the line's benefit days overlap another line of the same bill (person and benefit)
    DUPLICATE = "duplicate"


class BillDispute(CanonicalEntity):
    """One reason to dispute one line of Kela's bill to a municipality for a month: the line
    (by its client, month, municipality, benefit and benefit days), a coded reason with its
    explanation, what was billed and, where the hub can tell, what it expected."""

    entity_name: ClassVar[str] = "BillDispute"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    billing_month: YearMonth
    municipality_code: MunicipalityCode
    benefit_type: BenefitType
    days_from: int = Field(ge=1)
    days_to: int = Field(ge=1)
    reason_code: DisputeReason
    reason: NonEmptyText = Field(description="the reason in words, with no identity code")
    billed_share: Share = Field(description="the municipal share billed on the line, €")
    expected_share: Share | None = Field(
        default=None, description="the share the hub expected for the line, € (unknown: null)"
    )

    @model_validator(mode="after")
    def _days_in_order(self) -> BillDispute:
        if self.days_to < self.days_from:
            raise ValueError("days_to is before days_from")
        return self
