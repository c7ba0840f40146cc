"""Innokylä: practice models and the aggregate indicators published for them.

An :class:`Indicator` carries no personal data by construction: no identity code, no name,
no record-level value. A count below :data:`SMALL_COUNT` cannot be represented: such a value
must be suppressed, and so must a figure computed from fewer people. Every withheld figure
is published under the same mark, :data:`CONFIDENTIAL` ("x", as Statistics Canada marks
data suppressed for confidentiality), whatever the reason: a reader who could tell a small
count from a secondary suppression would know it is 1–4.
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
#: how other publishers mark a small count; the hub never publishes it (see CONFIDENTIAL)
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
    """What an indicator measures. Every figure counts people, not episodes; a period's
    figures about episodes that ended take each person's last episode that ended in it."""

    PARTICIPANTS = "participants"  # people with an episode under way in the period
    SESSIONS_HELD = "sessions_held"
    MEAN_PARTICIPANTS_PER_SESSION = "mean_participants_per_session"
    ATTENDANCE_RATE = "attendance_rate"  # percent of planned days attended
    ENDED = "ended"  # people whose episode ended or was interrupted in the period
    MOVED_ON_SHARE = "moved_on_share"  # percent of them: to work, training, service
    TRANSITIONS = "transitions"  # people per category: where they went (EpisodeOutcome)
    INTERRUPTION_RATE = "interruption_rate"  # percent of them whose episode was interrupted
    INTERRUPTIONS = "interruptions"  # people per category: why (InterruptionReason)
    WAITING_DAYS = "waiting_days_mean"  # days from referral to start, episodes started
    FOLLOW_UP_3M = "follow_up_3m_moved_on_share"  # percent moved on 3 months after the end
    FOLLOW_UP_6M = "follow_up_6m_moved_on_share"  # and 6 months after
    FEEDBACK_MEAN = "feedback_mean"  # the KTT feedback form's satisfaction, 1–4
    FEEDBACK_SATISFIED = "feedback_satisfied_share"  # percent answering 3 or 4
    # Kykyviisari: the change from the first to the last assessment of the episode
    CHANGE_WORK_ABILITY = "kykyviisari_change_work_ability"
    CHANGE_KEHO = "kykyviisari_change_keho"
    CHANGE_MIELI = "kykyviisari_change_mieli"
    CHANGE_TAIDOT = "kykyviisari_change_taidot"
    CHANGE_ARKI = "kykyviisari_change_arki"
    CHANGE_OSALLISUUS = "kykyviisari_change_osallisuus"


#: indicators whose value is a count
COUNTS = frozenset(
    {
        IndicatorCode.PARTICIPANTS,
        IndicatorCode.SESSIONS_HELD,
        IndicatorCode.ENDED,
        IndicatorCode.TRANSITIONS,
        IndicatorCode.INTERRUPTIONS,
    }
)
#: indicators given per category (``Indicator.category``)
CATEGORISED = frozenset({IndicatorCode.TRANSITIONS, IndicatorCode.INTERRUPTIONS})


class Suppression(StrEnum):
    """Why an indicator is not published (statistical disclosure control, hub.indicators)."""

    SMALL_COUNT = "small_count"  # a count of 1–4 people
    FEW_PEOPLE = "few_people"  # a figure resting on fewer than 5 people
    SMALL_PART = "small_part"  # a share or rate whose part or rest is 0–4 people
    SECONDARY = "secondary"  # would let a suppressed figure be derived from published ones


#: the published value of every suppressed figure, whatever the reason (the reason stays in
#: the hub: ``suppression``)
CONFIDENTIAL = "x"


class Indicator(CanonicalEntity):
    """An aggregate published for a practice model over a period, for all its municipalities
    or (``municipality_codes`` with one code) for one of them."""

    entity_name: ClassVar[str] = "Indicator"

    practice_model: PracticeModelId
    code: IndicatorCode
    #: the category of a :data:`CATEGORISED` indicator (an outcome or interruption reason)
    category: str | None = Field(default=None, pattern=r"^[a-z_]{1,40}$")
    period_start: dt.date
    period_end: dt.date
    #: None when suppressed
    value: float | None = None
    #: True when the value is withheld (``suppression`` says why)
    suppressed: bool = False
    suppression: Suppression | None = None
    unit: str = Field(default="", max_length=20)
    municipality_codes: list[MunicipalityCode] = Field(default_factory=list, max_length=1)

    @model_validator(mode="after")
    def _publishable(self) -> Indicator:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if self.suppressed != (self.value is None):
            raise ValueError("value must be given exactly when the indicator is not suppressed")
        if self.suppression and not self.suppressed:
            raise ValueError("suppression is only given for a suppressed indicator")
        if (self.code in CATEGORISED) != (self.category is not None):
            raise ValueError(f"category is given exactly for {', '.join(sorted(CATEGORISED))}")
        if self.code in COUNTS and self.value is not None:
            if self.value != int(self.value):
                raise ValueError(f"{self.code} is a count: a whole number")
            if 0 < self.value < SMALL_COUNT:
                raise ValueError(f"a count below {SMALL_COUNT} must be suppressed")
        return self

    def published_value(self) -> str:
        """The value as published: ``"x"`` for a suppressed figure, else the number."""
        if self.value is None:
            return CONFIDENTIAL
        return f"{self.value:g}" if self.code in COUNTS else f"{self.value:.1f}"
