"""Which dead letters to show: one filter for the store, the ``hub failures`` command and the
dashboard's list of failed records.

A :class:`DeadLetterFilter` is built from what a person types (``hub failures list``
options, the dashboard's query parameters) by :meth:`DeadLetterFilter.parse`, applied to a
query by :meth:`DeadLetterFilter.apply`, and written back as query parameters by
:meth:`DeadLetterFilter.query` (links to the next page keep the filter)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from hub.errors import HubError
from hub.privacy import redact
from hub.store import schema as t

OPEN, REPLAYED, RESOLVED = "open", "replayed", "resolved"
#: a letter whose record failed again: the later letter (``successor_id``) is the one to act on
SUPERSEDED = "superseded"
#: the states of a dead letter, and the word that means any of them
STATUSES = (OPEN, REPLAYED, RESOLVED, SUPERSEDED)
ANY_STATUS = "all"
#: the steps a record can fail at
STAGES = ("read", "translate", "validate", "disclose", "deliver")
#: the criteria that are compared as they are (the rest: status and the time range)
_EQUAL = ("exchange", "stage", "error_class", "system", "run_id")


class FilterError(HubError):
    """A filter that cannot be applied: an unknown status or stage, a malformed date."""


@dataclass(frozen=True)
class DeadLetterFilter:
    """Dead letters of an exchange, system, stage or error class, in a state (``None``: any
    state), created in ``[since, until)``. ``None`` criteria do not filter. The default is
    every open dead letter."""

    exchange: str | None = None
    status: str | None = OPEN
    stage: str | None = None
    error_class: str | None = None
    system: str | None = None
    #: created at or after this time
    since: dt.datetime | None = None
    #: created before this time
    until: dt.datetime | None = None
    run_id: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise FilterError(f"status is one of {', '.join(STATUSES)} or {ANY_STATUS}")
        if self.stage is not None and self.stage not in STAGES:
            raise FilterError(f"stage is one of {', '.join(STAGES)}")
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise FilterError(f"{name} needs a time zone")

    @classmethod
    def of(cls, where: DeadLetterFilter | None = None, **criteria: Any) -> DeadLetterFilter:
        """``where`` (default: the open dead letters) with ``criteria`` replaced."""
        return replace(where or cls(), **criteria)

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> DeadLetterFilter:
        """The filter a person asked for, as text: ``hub failures list``'s options or the
        dashboard's query parameters, under the field names. Empty means no filter; a
        missing ``status`` means open, ``all`` any; ``since`` and ``until`` are dates
        (``YYYY-MM-DD``, UTC) or ISO times, and ``until`` a date includes that whole day.
        Raises :class:`FilterError` for what cannot be parsed."""
        found: dict[str, Any] = {name: _text(values.get(name)) for name in _EQUAL}
        status = _text(values.get("status")) or OPEN
        found["status"] = None if status == ANY_STATUS else status
        found["since"] = _moment("since", _text(values.get("since")), end=False)
        found["until"] = _moment("until", _text(values.get("until")), end=True)
        return cls(**found)

    def apply(self, query):
        """``query`` (a select over the dead letters) restricted to this filter."""
        c = t.dead_letters.c
        for name in _EQUAL + ("status",):
            value = getattr(self, name)
            if value:
                query = query.where(getattr(c, name) == value)
        if self.since:
            query = query.where(c.created_at >= self.since)
        if self.until:
            query = query.where(c.created_at < self.until)
        return query

    def query(self) -> dict[str, str]:
        """The filter as query parameters that :meth:`parse` reads back as the same filter:
        the criteria that are set, and the status always."""
        found = {name: getattr(self, name) for name in _EQUAL if getattr(self, name)}
        found["status"] = self.status or ANY_STATUS
        if self.since:
            found["since"] = _as_text(self.since, end=False)
        if self.until:
            found["until"] = _as_text(self.until, end=True)
        return found


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _moment(name: str, text: str | None, *, end: bool) -> dt.datetime | None:
    """A date or time typed by a person, in UTC; the end of a range given as a date is the
    start of the next day (the range includes the whole day). A moment at the edge of the
    calendar (``9999-12-31``, ``0001-01-01T00:00+05:00``) that cannot be moved to UTC or
    past its day is refused as such, not left to fail later."""
    try:
        return _parse_moment(name, text, end=end)
    except OverflowError:
        shown = redact(text or "")[:40]
        raise FilterError(f"{name}: {shown!r} is outside the dates the hub can compare") from None


def _parse_moment(name: str, text: str | None, *, end: bool) -> dt.datetime | None:
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return start + dt.timedelta(days=1) if end else start
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        shown = redact(text)[:40]
        raise FilterError(f"{name}: {shown!r} is not a date (YYYY-MM-DD)") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _as_text(moment: dt.datetime, *, end: bool) -> str:
    """A moment as :func:`_moment` reads it back: a date when it is midnight UTC (the day
    before, for the end of a range: through that whole day), an ISO time otherwise."""
    moment = moment.astimezone(dt.UTC)
    if moment.time() != dt.time(0):
        return moment.isoformat()
    return (moment.date() - dt.timedelta(days=1) if end else moment.date()).isoformat()


__all__ = [
    "ANY_STATUS",
    "OPEN",
    "REPLAYED",
    "RESOLVED",
    "STAGES",
    "STATUSES",
    "SUPERSEDED",
    "DeadLetterFilter",
    "FilterError",
]
