"""The retention periods of the exchanges file (``retention:``), parsed and checked.

A period is a whole number and a unit: ``d`` days, ``w`` weeks, ``m`` calendar months,
``y`` calendar years (``12y``, ``6m``, ``30d``). Each is counted back from the time of the
purge and compared with a row's last change: a record's ``updated_at`` (its last new
version), a dead letter's last change of status, a log entry's time. Records and dead
letters may have a period of their own per exchange, that is per legal basis; the settings
and their defaults are declared in the exchanges file's JSON Schema.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from hub.errors import ConfigError

PATTERN = re.compile(r"^([1-9][0-9]{0,3})([dwmy])$")
UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}
#: the client's right to learn who used or received their data reaches two years back by
#: default (Act 703/2023 § 11): logs are never kept for less
LOGS_AT_LEAST = "2y"
#: a fixed time to compare periods at (months and years differ in length)
_REFERENCE = dt.datetime(2000, 3, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Period:
    count: int
    unit: str

    @classmethod
    def parse(cls, text: Any, where: str) -> Period:
        found = PATTERN.match(text) if isinstance(text, str) else None
        if found is None:
            raise ConfigError(
                f"{where}: {text!r} is not a period: a whole number and a unit, d (days), "
                "w (weeks), m (months) or y (years), such as 12y, 6m or 30d"
            )
        return cls(int(found[1]), found[2])

    def before(self, at: dt.datetime) -> dt.datetime:
        """The time this period before ``at`` (calendar months and years)."""
        return at - relativedelta(**{UNITS[self.unit]: self.count})

    def longer_than(self, other: Period) -> bool:
        return self.before(_REFERENCE) < other.before(_REFERENCE)

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


@dataclass(frozen=True)
class LetterPeriods:
    """A resolved or replayed dead letter's native payload is erased ``payload`` after its
    last change; the letter itself (reason, redacted) goes ``rows`` after it."""

    payload: Period
    rows: Period


@dataclass(frozen=True)
class Retention:
    logs: Period
    #: records no exchange below covers
    records: Period
    dead_letters: LetterPeriods
    held_back: Period
    runs: Period
    outbox: Period
    #: per exchange (its legal basis): records brought in and dead letters, where declared
    records_by_exchange: Mapping[str, Period] = field(default_factory=dict)
    letters_by_exchange: Mapping[str, LetterPeriods] = field(default_factory=dict)

    def records_of(self, exchange: str) -> Period:
        return self.records_by_exchange.get(exchange, self.records)

    def letters_of(self, exchange: str) -> LetterPeriods:
        return self.letters_by_exchange.get(exchange, self.dead_letters)


def _defaults(definition: Mapping[str, Any]) -> dict[str, Any]:
    return {k: p["default"] for k, p in definition.get("properties", {}).items() if "default" in p}


def _letters(
    values: Mapping[str, Any], base: Mapping[str, Any], where: str, path: Path
) -> LetterPeriods:
    merged = {**base, **values}
    payload = Period.parse(merged["payload"], f"{path}: {where}/payload")
    rows = Period.parse(merged["rows"], f"{path}: {where}/rows")
    if payload.longer_than(rows):
        raise ConfigError(
            f"{path}: {where}/payload: {payload} is longer than rows ({rows}): a dead "
            "letter's payload is erased before the letter itself"
        )
    return LetterPeriods(payload, rows)


def parse_retention(
    values: Mapping[str, Any] | None,
    path: Path,
    exchanges: Collection[str],
    defs: Mapping[str, Any],
) -> Retention:
    """The ``retention:`` section (``values``, already valid against the exchanges file's
    JSON Schema, whose ``$defs`` are ``defs``) with the schema's defaults; ``exchanges``:
    the names declared."""
    values = {**_defaults(defs["retention"]), **(values or {})}
    letters_base = {**_defaults(defs["dead_letter_periods"]), **values.get("dead_letters", {})}

    def period(key: str) -> Period:
        return Period.parse(values[key], f"{path}: retention/{key}")

    logs = period("logs")
    if Period.parse(LOGS_AT_LEAST, "").longer_than(logs):
        raise ConfigError(
            f"{path}: retention/logs: {logs} is shorter than {LOGS_AT_LEAST}: a client may ask "
            "who used or received their data two years back (Act 703/2023 § 11)"
        )
    by_records, by_letters = {}, {}
    for name, own in values.get("exchanges", {}).items():
        where = f"retention/exchanges/{name}"
        if name not in exchanges:
            known = ", ".join(sorted(exchanges)) or "none"
            raise ConfigError(f"{path}: {where}: no exchange named {name!r} (declared: {known})")
        if "records" in own:
            by_records[name] = Period.parse(own["records"], f"{path}: {where}/records")
        if "dead_letters" in own:
            by_letters[name] = _letters(
                own["dead_letters"], letters_base, f"{where}/dead_letters", path
            )
    return Retention(
        logs=logs,
        records=period("records"),
        dead_letters=_letters({}, letters_base, "retention/dead_letters", path),
        held_back=period("held_back"),
        runs=period("runs"),
        outbox=period("outbox"),
        records_by_exchange=by_records,
        letters_by_exchange=by_letters,
    )
