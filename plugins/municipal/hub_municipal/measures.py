"""The sandbox's data for measuring the services, deterministic: when each client was
referred (the waiting time), the municipality responsible, the follow-ups 3 and 6 months
after an episode ended and the clients' feedback.

Dates and counts depend only on the person's number ``i`` and the episode's dates
(:func:`hub_municipal.data.schedule`), never on the seed, so the export listing counts the
records without generating anyone; satisfaction and situations may depend on the person.

- **Referral**: 5–90 days before the start (:func:`waiting_days`), never after the export
  night; the decision falls between the referral and the start.
- **Municipality**: the client's home municipality when the case system serves it, else
  one of the system's municipalities in turn (a client who moved in from elsewhere is the
  responsibility of the municipality that took them on).
- **Follow-ups** (``S-<i><1|2>``): 3 and 6 months after an episode ended or was
  interrupted, observed within a fortnight of that day and only when the observation day
  has passed by the export night; one client in :data:`UNREACHED_EVERY` is never reached.
  A client who moved on mostly stays where they went; the others' situations vary.
- **Feedback** (``F-<i>``): most clients whose episode ended as planned (all but one in
  :data:`NO_FEEDBACK_EVERY`) fill in the feedback form in the episode's last week,
  satisfaction 1–4, mostly 3 or 4.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from hub.synthetic import Person
from hub_municipal import mapping as m

if TYPE_CHECKING:
    from hub_municipal.data import Schedule

#: the follow-ups, months after the end, and the digit of their id
FOLLOW_UPS = ((3, 1), (6, 2))
#: one client in this many is never reached for a follow-up
UNREACHED_EVERY = 7
#: one client in this many whose episode ended gives no feedback
NO_FEEDBACK_EVERY = 5
#: where clients were at a follow-up, when not where they went at the end
SITUATIONS = (
    "EI-MUUTOSTA",
    "TYO",
    "EI-MUUTOSTA",
    "KOULUTUS",
    "PALKKATUKI",
    "EI-TIEDOSSA",
    "MUU-PALVELU",
    "TYOKOKEILU",
    "EI-MUUTOSTA",
)
#: the outcome codes that count as moving on (the canonical MOVED_ON)
MOVED_ON = ("TYO", "PALKKATUKI", "TYOKOKEILU", "KOULUTUS", "MUU-PALVELU")
#: the answers the feedback form gets, as often as they come
SATISFACTION = (1, 2, 2, 3, 3, 3, 3, 4, 4, 4)


def waiting_days(i: int) -> int:
    """Days from person ``i``'s referral to the start: 5–90, varied."""
    return 5 + (i * 37) % 86


def referral_and_decision(i: int, start: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """(referral date, decision date) of an episode starting on ``start``: the referral
    :func:`waiting_days` before the start but not after ``today``, the decision ten days
    before the start but not before the referral."""
    referral = min(start - dt.timedelta(days=waiting_days(i)), today)
    return referral, max(referral, start - dt.timedelta(days=10))


def municipality(p: Person, i: int, served: Sequence[str] | None) -> str:
    """The municipality responsible for person ``i``'s service: their home municipality
    when the system serves it (or no list is given), else one of ``served`` in turn."""
    if not served or p.home_municipality in served:
        return p.home_municipality
    return served[i % len(served)]


def _add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def follow_up_dates(i: int, sched: Schedule, today: dt.date) -> list[tuple[int, int, dt.date]]:
    """(months after, id digit, observation day) of person ``i``'s follow-ups: for an ended
    or interrupted episode, 3 and 6 months after its end plus up to 13 days, those on or
    before ``today``; none for a client never reached."""
    if sched.end is None or i % UNREACHED_EVERY == 3:
        return []
    found = []
    for months, digit in FOLLOW_UPS:
        observed = _add_months(sched.end, months) + dt.timedelta(days=i % 14)
        if observed <= today:
            found.append((months, digit, observed))
    return found


def follow_ups(
    p: Person, i: int, sched: Schedule, ep: dict[str, Any], today: dt.date
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, fields) of person ``i``'s follow-ups (:func:`follow_up_dates`): where they went
    at the end, for two in three who moved on; otherwise a situation of :data:`SITUATIONS`."""
    outcome = ep.get("outcome")
    for months, digit, observed in follow_up_dates(i, sched, today):
        turn = i // 4 + months
        stayed = outcome in MOVED_ON and turn % 3 != 0
        yield (
            f"{m.FOLLOW_UP.id_prefix}-{i:06d}{digit}",
            {
                "hetu": p.hetu,
                "serviceCode": ep["serviceCode"],
                "episodeStart": ep["startDate"],
                "monthsAfter": str(months),
                "observedOn": observed.isoformat(),
                "situation": outcome if stayed else SITUATIONS[turn % len(SITUATIONS)],
            },
        )


def has_feedback(i: int, sched: Schedule) -> bool:
    """Whether person ``i`` gave feedback: an episode that ended as planned, but one in
    :data:`NO_FEEDBACK_EVERY`."""
    return sched.status == "ENDED" and sched.end is not None and i % NO_FEEDBACK_EVERY != 1


def feedback(p: Person, i: int, sched: Schedule, ep: dict[str, Any]) -> dict[str, Any]:
    """Person ``i``'s feedback (:func:`has_feedback`): given in the episode's last week."""
    end = sched.end or sched.last_day
    given = max(end - dt.timedelta(days=i % 7), sched.start)
    rng = random.Random(f"municipal-feedback/{p.hetu}")
    return {
        "hetu": p.hetu,
        "serviceCode": ep["serviceCode"],
        "episodeStart": ep["startDate"],
        "givenOn": given.isoformat(),
        "satisfaction": str(rng.choice(SATISFACTION)),
    }


def feedback_id(i: int) -> str:
    return f"{m.FEEDBACK.id_prefix}-{i:06d}"


def count(i: int, sched: Schedule, today: dt.date) -> dict[str, int]:
    """Person ``i``'s follow-ups and feedback, by element, from the dates alone."""
    return {
        m.FOLLOW_UP.element: len(follow_up_dates(i, sched, today)),
        m.FEEDBACK.element: int(has_feedback(i, sched)),
    }
