"""What happens during and after a service episode: attendance, work-ability assessments,
the client's feedback and the follow-ups 3 and 6 months after the episode ended."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from hub.model.entities import CanonicalEntity, EpisodeOutcome, ServiceType
from hub.model.types import BusinessId, IdentityCode, IsoWeek, Score


def iso_week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


class Attendance(CanonicalEntity):
    """Attended and absent days of one client in one service episode during one ISO week.

    The episode is referred to by its natural key (client, service type, start date), which
    every system holding the episode shares. Days are given as dates, so that Kela's monthly
    report, the weekly limits and the number of sessions can all be derived from them.
    """

    entity_name: ClassVar[str] = "Attendance"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    service_type: ServiceType
    episode_start_date: dt.date
    provider_business_id: BusinessId | None = None
    week: IsoWeek
    attended_dates: list[dt.date] = Field(default_factory=list, max_length=7)
    absent_dates: list[dt.date] = Field(default_factory=list, max_length=7)

    @field_validator("attended_dates", "absent_dates")
    @classmethod
    def _sorted_unique(cls, days: list[dt.date]) -> list[dt.date]:
        if len(set(days)) != len(days):
            raise ValueError("the same date is listed twice")
        return sorted(days)

    @model_validator(mode="after")
    def _within_week(self) -> Attendance:
        for name in ("attended_dates", "absent_dates"):
            outside = [d for d in getattr(self, name) if iso_week_of(d) != self.week]
            if outside:
                raise ValueError(f"{name}: {outside[0].isoformat()} is not in week {self.week}")
        if set(self.attended_dates) & set(self.absent_dates):
            raise ValueError("a date is both attended and absent")
        if self.attended_dates and self.attended_dates[0] < self.episode_start_date:
            raise ValueError("attended_dates: a date before the episode started")
        return self

    @property
    def attended_days(self) -> int:
        return len(self.attended_dates)

    @property
    def absent_days(self) -> int:
        return len(self.absent_dates)

    def episode_key(self) -> tuple[str, str, dt.date]:
        return (str(self.client_hetu), str(self.service_type), self.episode_start_date)


KYKYVIISARI_SCALES = ("work_ability", "keho", "mieli", "taidot", "arki", "osallisuus")


class Assessment(CanonicalEntity):
    """A dated Kykyviisari self-assessment: work ability, functional capacity in four areas
    (keho body, mieli mind, taidot skills, arki everyday life) and participation, each 0–10."""

    entity_name: ClassVar[str] = "Assessment"
    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    assessed_on: dt.date
    instrument: Literal["kykyviisari"] = "kykyviisari"
    work_ability: Score | None = None
    keho: Score | None = None
    mieli: Score | None = None
    taidot: Score | None = None
    arki: Score | None = None
    osallisuus: Score | None = None

    @model_validator(mode="after")
    def _some_score(self) -> Assessment:
        if all(getattr(self, s) is None for s in KYKYVIISARI_SCALES):
            raise ValueError(f"no score given (scales: {', '.join(KYKYVIISARI_SCALES)})")
        return self

    def scores(self) -> dict[str, int]:
        return {s: v for s in KYKYVIISARI_SCALES if (v := getattr(self, s)) is not None}


class _AboutEpisode(CanonicalEntity):
    """A record about one client's service episode, referred to by its natural key."""

    subject_field: ClassVar[str | None] = "client_hetu"

    client_hetu: IdentityCode
    service_type: ServiceType
    episode_start_date: dt.date

    def episode_key(self) -> tuple[str, str, dt.date]:
        return (str(self.client_hetu), str(self.service_type), self.episode_start_date)


#: the follow-ups after an episode ended, in months
FOLLOW_UP_MONTHS = (3, 6)


class FollowUp(_AboutEpisode):
    """Where a client was ``months_after`` (3 or 6) months after a service episode ended:
    in work on the open labour market, pay-subsidised work, a work trial, training, another
    service, or none of them (``no_change``); ``unknown`` when it could not be found out."""

    entity_name: ClassVar[str] = "FollowUp"

    months_after: Literal[3, 6]
    observed_on: dt.date
    situation: EpisodeOutcome

    @model_validator(mode="after")
    def _after_start(self) -> FollowUp:
        if self.observed_on < self.episode_start_date:
            raise ValueError("observed_on is before the episode started")
        return self


#: the answers of the feedback form, from 1 (not at all) to 4 (very well) (KOPPI's client
#: survey of rehabilitative work activity, THL working paper 7/2015)
FEEDBACK_SCALE = {1: "ei lainkaan", 2: "ei juurikaan", 3: "melko hyvin", 4: "erittäin hyvin"}


class Feedback(_AboutEpisode):
    """A client's feedback on a service episode (the KTT feedback form): overall
    satisfaction from 1 (not at all) to 4 (very well), given on ``given_on``."""

    entity_name: ClassVar[str] = "Feedback"

    given_on: dt.date
    satisfaction: int = Field(ge=1, le=4, description="1 ei lainkaan … 4 erittäin hyvin")

    @model_validator(mode="after")
    def _after_start(self) -> Feedback:
        if self.given_on < self.episode_start_date:
            raise ValueError("given_on is before the episode started")
        return self
