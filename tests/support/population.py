"""Synthetic populations and histories of late changes, for the attacker's property test.

A :class:`World` is the canonical records of one county: people (test identity codes of
:mod:`hub.synthetic`) with service episodes following a practice model in a municipality,
ended, interrupted or under way, with attendance, Kykyviisari assessments, feedback and
follow-ups. Every detail comes from a seeded random generator, so a seed (and the sizes
hypothesis draws) is the whole example. :meth:`World.change` applies one *late change* to
some of the people — what a case system records after the figures were published: a late
assessment, an outcome recorded, a follow-up or feedback entered, a late episode, a
municipality corrected.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from hub.indicators import Inputs
from hub.model import (
    KYKYVIISARI_SCALES,
    Assessment,
    Attendance,
    EpisodeOutcome,
    EpisodeStatus,
    Feedback,
    FollowUp,
    InterruptionReason,
    ServiceEpisode,
    iso_week_of,
)
from hub.synthetic import PRACTICE_MODELS, person

KTT = "rehabilitative_work_activity"
MUNICIPALITIES = ("743", "408", "005")
FIRST_START = dt.date(2026, 1, 5)
KINDS = ("assessment", "outcome", "follow_up", "feedback", "episode", "municipality")


@dataclass
class World:
    """The records of one county, and the generator that made them."""

    rng: random.Random
    models: list[str]
    places: list[str]
    today: dt.date
    episodes: list[ServiceEpisode] = field(default_factory=list)
    attendance: list[Attendance] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    people: int = 0

    def inputs(self) -> Inputs:
        return Inputs(
            list(self.episodes),
            list(self.attendance),
            list(self.assessments),
            list(self.follow_ups),
            list(self.feedback),
        )

    # --- the population -----------------------------------------------------------------
    def add_person(self, *, late: bool = False) -> ServiceEpisode:
        """A new person with one episode (``late``: ended, entered only now)."""
        rng, i = self.rng, self.people
        self.people += 1
        hetu = person(9, i).hetu
        start = FIRST_START + dt.timedelta(days=rng.randrange(150))
        status = (
            EpisodeStatus.ENDED
            if late
            else rng.choice(
                [EpisodeStatus.ENDED] * 3 + [EpisodeStatus.INTERRUPTED, EpisodeStatus.ACTIVE]
            )
        )
        end = min(start + dt.timedelta(days=rng.randrange(14, 120)), self.today)
        ended = status != EpisodeStatus.ACTIVE
        interrupted = status == EpisodeStatus.INTERRUPTED
        episode = ServiceEpisode(
            client_hetu=hetu,
            service_type=KTT,
            referral_date=start - dt.timedelta(days=rng.randrange(60))
            if rng.random() < 0.8
            else None,
            start_date=start,
            planned_end_date=start + dt.timedelta(days=180),
            actual_end_date=end if ended else None,
            status=status,
            interruption_reason="keskeytyi" if interrupted else None,
            interruption_code=rng.choice([None, *InterruptionReason]) if interrupted else None,
            municipality_code=rng.choice([*self.places, None]) if rng.random() < 0.95 else None,
            practice_model=rng.choice(self.models),
            outcome=rng.choice([None, *EpisodeOutcome]) if ended else None,
        )
        self.episodes.append(episode)
        self._attend(episode, end if ended else self.today)
        if rng.random() < 0.8:
            self.assess(episode, start)
            if ended and rng.random() < 0.8:
                self.assess(episode, end)
        if ended and rng.random() < 0.5:
            self.answer(episode)
        if ended:
            for months in (3, 6):
                if rng.random() < 0.4:
                    self.follow(episode, months)
        return episode

    def _attend(self, ep: ServiceEpisode, last: dt.date) -> None:
        assert ep.start_date
        monday = ep.start_date - dt.timedelta(days=ep.start_date.weekday())
        for week in range(self.rng.randrange(1, 5)):
            days = [monday + dt.timedelta(days=7 * week + d) for d in range(5)]
            days = [d for d in days if ep.start_date <= d <= min(last, self.today)]
            if not days:
                continue
            attended = [d for d in days if self.rng.random() < 0.85]
            absent = [d for d in days if d not in attended and self.rng.random() < 0.7]
            self.attendance.append(
                Attendance(
                    client_hetu=ep.client_hetu,
                    service_type=KTT,
                    episode_start_date=ep.start_date,
                    provider_business_id="0211675-2",
                    week=iso_week_of(days[0]),
                    attended_dates=attended,
                    absent_dates=absent,
                )
            )

    def assess(self, ep: ServiceEpisode, on: dt.date) -> None:
        self.assessments.append(
            Assessment(
                client_hetu=ep.client_hetu,
                assessed_on=on,
                **{s: self.rng.randrange(11) for s in KYKYVIISARI_SCALES},
            )
        )

    def answer(self, ep: ServiceEpisode) -> None:
        assert ep.start_date and ep.actual_end_date
        self.feedback.append(
            Feedback(
                client_hetu=ep.client_hetu,
                service_type=KTT,
                episode_start_date=ep.start_date,
                given_on=ep.actual_end_date,
                satisfaction=self.rng.randrange(1, 5),
            )
        )

    def follow(self, ep: ServiceEpisode, months: int) -> None:
        assert ep.start_date and ep.actual_end_date
        self.follow_ups.append(
            FollowUp(
                client_hetu=ep.client_hetu,
                service_type=KTT,
                episode_start_date=ep.start_date,
                months_after=months,
                observed_on=ep.actual_end_date + dt.timedelta(days=30 * months),
                situation=self.rng.choice(list(EpisodeOutcome)),
            )
        )

    # --- late changes -------------------------------------------------------------------
    def change(self, kind: str, count: int) -> int:
        """Apply the late change ``kind`` to ``count`` people (as many as there are) whose
        episodes ended in the same quarter, model and municipality — a batch of late records
        large enough may be published as a revision; how many it changed."""
        if kind == "episode":
            for _ in range(count):
                self.add_person(late=True)
            return count
        ended = [e for e in self.episodes if e.actual_end_date]
        if not ended:
            return 0
        pivot = self.rng.choice(ended)
        same = [e for e in ended if _group(e) == _group(pivot)]
        chosen = self.rng.sample(same, min(count, len(same)))
        for ep in chosen:
            assert ep.actual_end_date
            if kind == "assessment":
                self.assess(ep, ep.actual_end_date - dt.timedelta(days=1))
            elif kind == "outcome":
                self._replace(ep, outcome=self.rng.choice(list(EpisodeOutcome)))
            elif kind == "follow_up":
                self.follow(ep, self.rng.choice((3, 6)))
            elif kind == "feedback":
                self.answer(ep)
            elif kind == "municipality":
                self._replace(ep, municipality_code=self.rng.choice(self.places))
        return len(chosen)

    def _replace(self, ep: ServiceEpisode, **changes) -> None:
        self.episodes[self.episodes.index(ep)] = ep.model_copy(update=changes)


def _group(ep: ServiceEpisode) -> tuple:
    assert ep.actual_end_date
    end = ep.actual_end_date
    return (ep.practice_model, end.year, (end.month - 1) // 3, ep.municipality_code)


def world(seed: int, people: int, models: int, places: int, today: dt.date) -> World:
    """A county of ``people`` people in ``models`` practice models and ``places``
    municipalities, as the records stood on ``today``."""
    rng = random.Random(seed)
    w = World(rng, sorted(PRACTICE_MODELS)[:models], list(MUNICIPALITIES[:places]), today)
    for _ in range(people):
        w.add_person()
    return w
