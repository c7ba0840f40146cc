"""The employment authority's side: the labour-policy statement (työvoimapoliittinen lausunto).

The employment authority (since 1.1.2025 the employment area, law 380/2023) does not decide
on unemployment benefit itself: it states whether the labour-policy conditions of the benefit
are met (Unemployment Security Act 1290/2002), and Kela or the client's unemployment fund is
bound by that statement when it decides. The statements are about one client and one benefit
over a period.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import model_validator

from hub.model.benefits import BenefitType
from hub.model.entities import CanonicalEntity
from hub.model.types import IdentityCode, NonEmptyText


class Eligibility(StrEnum):
    """What a labour-policy statement says about the client's right to the benefit. A small
    set covering what the statements decide; CHECK it against the statement codes of the
    KEHA Centre's client system when its specification is available."""

    #: ei estettä: no labour-policy obstacle to the benefit from ``valid_from``
    ENTITLED = "entitled"
    #: este: not entitled while the situation lasts (e.g. full-time studies or
    #: self-employment); open-ended unless ``valid_until`` is given
    NOT_ENTITLED = "not_entitled"
    #: korvaukseton määräaika: no benefit for a fixed period (e.g. after refusing a job offer
    #: without a valid reason), entitled again after ``valid_until``
    PERIOD_WITHOUT_BENEFIT = "period_without_benefit"
    #: työssäolovelvoite: no benefit until the client has been in work (or in studies or
    #: services that count) for the time the law requires; ends when that is met
    EMPLOYMENT_OBLIGATION = "employment_obligation"


class LabourPolicyStatement(CanonicalEntity):
    """The employment authority's statement to Kela (or an unemployment fund) on whether the
    labour-policy conditions of a client's unemployment benefit are met, from ``valid_from``
    to ``valid_until`` (inclusive; open-ended when not given)."""

    entity_name: ClassVar[str] = "LabourPolicyStatement"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    issued_on: dt.date
    valid_from: dt.date
    valid_until: dt.date | None = None
    statement: Eligibility
    benefit_type: BenefitType
    #: the ground of the statement, as the authority words it (required unless entitled)
    reason: NonEmptyText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LabourPolicyStatement:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        if self.statement == Eligibility.PERIOD_WITHOUT_BENEFIT and self.valid_until is None:
            raise ValueError(
                "valid_until is required when statement is period_without_benefit "
                "(a period of fixed length)"
            )
        if self.statement != Eligibility.ENTITLED and not self.reason:
            raise ValueError(f"reason is required when statement is {self.statement}")
        return self

    def in_force(self, day: dt.date) -> bool:
        """Whether the statement covers ``day``."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)
