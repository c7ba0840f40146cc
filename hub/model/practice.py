"""Innokylä: practice models and the aggregate indicators published for them.

An :class:`Indicator` carries no personal data by construction: no identity code, no name,
no record-level value. A count below :data:`SMALL_COUNT` cannot be represented: such a value
must be suppressed (published as ``"<5"``), and so must a figure computed from fewer people.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.model.entities import CanonicalEntity
from hub.model.types import MunicipalityCode, NonEmptyText, PracticeModelId

#: counts below this are never published
SMALL_COUNT = 5
SUPPRESSED = "<5"


class Section(BaseModel):
    """One section of a practice-model description, e.g. "Ratkaisun perusidea"."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    title: NonEmptyText
    body: str = Field(max_length=50_000)


class PracticeModel(CanonicalEntity):
    """A practice model (toimintamalli) described on Innokylä."""

    entity_name: ClassVar[str] = "PracticeModel"

    model_id: PracticeModelId
    name: NonEmptyText
    short_description: str = Field(default="", max_length=5000)
    region: NonEmptyText | None = None
    municipality_codes: list[MunicipalityCode] = Field(default_factory=list)
    organisations: list[NonEmptyText] = Field(default_factory=list)
    funder: NonEmptyText | None = None
    created: dt.date | None = None
    modified: dt.date | None = None
    sections: list[Section] = Field(default_factory=list)


class IndicatorCode(StrEnum):
    PARTICIPANTS = "participants"
    SESSIONS_HELD = "sessions_held"
    MEAN_PARTICIPANTS_PER_SESSION = "mean_participants_per_session"
    ATTENDANCE_RATE = "attendance_rate"  # percent of planned days attended
    MOVED_ON_SHARE = "moved_on_share"  # percent of ended episodes: to work, training, service
    CHANGE_WORK_ABILITY = "kykyviisari_change_work_ability"
    CHANGE_KEHO = "kykyviisari_change_keho"
    CHANGE_MIELI = "kykyviisari_change_mieli"
    CHANGE_TAIDOT = "kykyviisari_change_taidot"
    CHANGE_ARKI = "kykyviisari_change_arki"
    CHANGE_OSALLISUUS = "kykyviisari_change_osallisuus"


#: indicators whose value is a count
COUNTS = frozenset({IndicatorCode.PARTICIPANTS, IndicatorCode.SESSIONS_HELD})


class Indicator(CanonicalEntity):
    """An aggregate published for a practice model over a period."""

    entity_name: ClassVar[str] = "Indicator"

    practice_model: PracticeModelId
    code: IndicatorCode
    period_start: dt.date
    period_end: dt.date
    #: None when suppressed
    value: float | None = None
    #: True when the value rests on fewer than 5 people (or is a count below 5)
    suppressed: bool = False
    unit: str = Field(default="", max_length=20)
    municipality_codes: list[MunicipalityCode] = Field(default_factory=list)

    @model_validator(mode="after")
    def _publishable(self) -> Indicator:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if self.suppressed != (self.value is None):
            raise ValueError("value must be given exactly when the indicator is not suppressed")
        if self.code in COUNTS and self.value is not None:
            if self.value != int(self.value):
                raise ValueError(f"{self.code} is a count: a whole number")
            if 0 < self.value < SMALL_COUNT:
                raise ValueError(f"a count below {SMALL_COUNT} must be suppressed")
        return self

    def published_value(self) -> str:
        """The value as published: ``"<5"`` when suppressed, else the number."""
        if self.value is None:
            return SUPPRESSED
        return f"{self.value:g}" if self.code in COUNTS else f"{self.value:.1f}"
