"""Record rules: which records (and which parts of them) an exchange's legal basis covers.

An exchange's entity may list, under ``records:``, the rules its legal basis sets on the
records themselves (the ``fields:`` list decides which *fields* leave the hub; these decide
which *records*). Each rule has a name (written to the disclosure log of every record it
admits, and to the held-back log of every record or part it holds back), an optional
``why`` (the provision, shown with what it holds back) and exactly one kind:

``values: {field: [allowed, ...], ...}``
    the record goes only if each named field holds one of the allowed values
    (e.g. ``service_type: [rehabilitative_work_activity]``); otherwise it is held back whole.
``within_decision: {dates: FIELD}``
    the dates of a list field must fall inside the decided period of the service episode the
    record belongs to, as recorded by the system the record came from (the decision's start
    to its actual end, or else its planned end, both included); dates outside are held back
    and the rest goes. No decision found, or no date left: the record is held back whole.
``days_per_week: {dates: FIELD, max: N, decided: true|false}``
    at most ``N`` dates of the field in one ISO week (with ``decided``, and no more than the
    days per week of the decision). A week over the limit is not cut by the hub: which days
    count is for an operator to choose, so the record goes to the dead letters as a
    *correction* and is reported once an operator has chosen the days.

Rules run in the order listed, each on what the rules before it left.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, get_args, get_origin

from pydantic import BaseModel

from hub.errors import ConfigError
from hub.privacy.mask import PERSONAL_KEY

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Held:
    """What a rule held back: the whole record (``part`` None) or a part of it."""

    rule: str
    reason: str
    #: the field whose items were held back (None: the whole record)
    part: str | None = None
    #: how many items of ``part`` were held back (1 for a whole record)
    count: int = 1


@dataclass(frozen=True)
class Correction:
    """The record needs an operator's choice before it may go: the field to correct, why,
    and the items to choose from."""

    rule: str
    field: str
    reason: str
    choices: tuple[str, ...]
    limit: int


@dataclass(frozen=True)
class Verdict:
    """A rule's answer for one record: admitted (``data`` with parts held back, if any),
    held back whole (``whole``), or in need of a correction."""

    data: dict | None = None
    held: tuple[Held, ...] = ()
    whole: Held | None = None
    correction: Correction | None = None


class Facts:
    """What rules may know besides the record: the decisions recorded by the record's own
    system. Given by :mod:`hub.disclosure.screen` for each batch."""

    #: the system the records came from, whose decisions count
    origin: str = "the source"

    def decision_for(self, record_id: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
        raise NotImplementedError


class RecordRule:
    """A rule of one kind. Subclasses set :attr:`kind` and implement :meth:`parse` and
    :meth:`apply`; ``needs_decisions`` tells the screen to look the decisions up."""

    kind: ClassVar[str]
    needs_decisions: ClassVar[bool] = False

    def __init__(self, name: str, why: str | None):
        self.name, self.why = name, why

    @classmethod
    def parse(cls, name: str, why: str | None, params: Any, model: type[BaseModel], where: str):
        raise NotImplementedError

    def apply(self, record_id: str, data: dict, facts: Facts) -> Verdict | None:
        """None: the record passes unchanged."""
        raise NotImplementedError

    def _because(self, text: str) -> str:
        return f"{text} (rule {self.name}{': ' + self.why if self.why else ''})"


def _allowed_values(model: type[BaseModel], field: str) -> set[str] | None:
    """The values an enum field (or a list of one) may take; None when not an enum."""
    annotation = model.model_fields[field].annotation
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return {str(m.value) for m in candidate}
        if get_origin(candidate) is list:
            return _allowed_values_of(get_args(candidate))
    return None


def _allowed_values_of(args: Sequence[Any]) -> set[str] | None:
    for candidate in args:
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return {str(m.value) for m in candidate}
    return None


def _date_list_field(model: type[BaseModel], params: Any, where: str) -> str:
    field = params.get("dates") if isinstance(params, Mapping) else None
    if not isinstance(field, str) or field not in model.model_fields:
        raise ConfigError(f"{where}/dates: give a field of {_entity(model)} that lists dates")
    annotation = model.model_fields[field].annotation
    if get_origin(annotation) is not list or get_args(annotation) != (dt.date,):
        raise ConfigError(f"{where}/dates: {field} of {_entity(model)} is not a list of dates")
    return field


def _entity(model: type[BaseModel]) -> str:
    return getattr(model, "entity_name", model.__name__)


class ValuesRule(RecordRule):
    kind = "values"

    def __init__(
        self,
        name: str,
        why: str | None,
        allowed: Mapping[str, frozenset[str]],
        personal: frozenset[str] = frozenset(),
    ):
        super().__init__(name, why)
        self.allowed = allowed
        #: fields whose values describe a person: a reason never quotes them
        self.personal = personal

    @classmethod
    def parse(cls, name, why, params, model, where):
        if not isinstance(params, Mapping) or not params:
            raise ConfigError(f"{where}: give the allowed values per field")
        allowed = {}
        for field, values in params.items():
            if field not in model.model_fields:
                raise ConfigError(f"{where}/{field}: not a field of {_entity(model)}")
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where}/{field}: give a list of allowed values")
            known = _allowed_values(model, field)
            wrong = [str(v) for v in values if known is not None and str(v) not in known]
            if wrong:
                raise ConfigError(
                    f"{where}/{field}: {', '.join(wrong)} not values of {field} "
                    f"(values: {', '.join(sorted(known or ()))})"
                )
            allowed[field] = frozenset(str(v) for v in values)
        subject = getattr(model, "subject_field", None)
        personal = frozenset(f for f in allowed if f == subject or PERSONAL_KEY.search(f))
        return cls(name, why, allowed, personal)

    def apply(self, record_id, data, facts):
        for field, allowed in self.allowed.items():
            value = data.get(field)
            if value is None or str(value) not in allowed:
                if value is None:
                    shown = f"{field} has no value, which is"
                elif field in self.personal:
                    shown = f"{field} holds a value that is"
                else:
                    shown = f"{field} {value} is"
                covered = (
                    "" if field in self.personal else f" (covered: {', '.join(sorted(allowed))})"
                )
                reason = self._because(f"{shown} not covered{covered}")
                return Verdict(whole=Held(self.name, reason))
        return None


def _dates(values: Any) -> list[dt.date]:
    return [v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)) for v in values or ()]


def decided_period(decision: Mapping[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    """(first day, last day) of a decision (a ServiceEpisode): its start, and its actual end
    or else its planned end; None for an end not given."""
    start, end = decision.get("start_date"), decision.get("actual_end_date")
    end = end or decision.get("planned_end_date")
    return (
        dt.date.fromisoformat(str(start)) if start else None,
        dt.date.fromisoformat(str(end)) if end else None,
    )


class WithinDecisionRule(RecordRule):
    kind = "within_decision"
    needs_decisions = True

    def __init__(self, name: str, why: str | None, field: str):
        super().__init__(name, why)
        self.field = field

    @classmethod
    def parse(cls, name, why, params, model, where):
        return cls(name, why, _date_list_field(model, params, where))

    def apply(self, record_id, data, facts):
        decision = facts.decision_for(record_id, data)
        if decision is None:
            episode = f"{data.get('service_type')} from {data.get('episode_start_date')}"
            reason = self._because(f"no decision of the episode ({episode}) in {facts.origin}")
            return Verdict(whole=Held(self.name, reason))
        first, last = decided_period(decision)
        days = _dates(data.get(self.field))
        outside = [d for d in days if (first and d < first) or (last and d > last)]
        if not outside:
            return None
        period = f"{first.isoformat() if first else '…'} to {last.isoformat() if last else '…'}"
        reason = self._because(
            f"{len(outside)} of {len(days)} {self.field} outside the decided period {period}"
        )
        if len(outside) == len(days):  # nothing left to send: the record is held back
            return Verdict(whole=Held(self.name, reason))
        kept = [d.isoformat() for d in days if d not in outside]
        return Verdict(
            data={**data, self.field: kept},
            held=(Held(self.name, reason, self.field, len(outside)),),
        )


class DaysPerWeekRule(RecordRule):
    kind = "days_per_week"

    def __init__(self, name: str, why: str | None, field: str, limit: int, decided: bool):
        super().__init__(name, why)
        self.field, self.limit, self.decided = field, limit, decided
        self.needs_decisions = decided

    @classmethod
    def parse(cls, name, why, params, model, where):
        field = _date_list_field(model, params, where)
        limit, decided = params.get("max"), params.get("decided", False)
        if type(limit) is not int or not 1 <= limit <= 7:
            raise ConfigError(f"{where}/max: a whole number of days from 1 to 7")
        if type(decided) is not bool:
            raise ConfigError(f"{where}/decided: true or false")
        unknown = set(params) - {"dates", "max", "decided"}
        if unknown:
            raise ConfigError(f"{where}: unknown setting {', '.join(sorted(unknown))}")
        return cls(name, why, field, limit, decided)

    def apply(self, record_id, data, facts):
        limit, source = self.limit, f"at most {self.limit} a week"
        if self.decided:
            decision = facts.decision_for(record_id, data)
            decided = decision.get("days_per_week") if decision else None
            if decided is not None and decided < limit:
                limit, source = int(decided), f"the decision's {decided} days a week"
        weeks: dict[str, list[dt.date]] = {}
        for day in _dates(data.get(self.field)):
            year, week, _ = day.isocalendar()
            weeks.setdefault(f"{year}-W{week:02d}", []).append(day)
        for week, days in sorted(weeks.items()):
            if len(days) > limit:
                reason = self._because(
                    f"{len(days)} {self.field} in week {week}, {source}: choose the "
                    f"{limit} to report"
                )
                choices = tuple(d.isoformat() for d in days)
                return Verdict(correction=Correction(self.name, self.field, reason, choices, limit))
        return None


#: the kinds of record rules, by the key that names them in the exchanges file
KINDS: dict[str, type[RecordRule]] = {
    k.kind: k for k in (ValuesRule, WithinDecisionRule, DaysPerWeekRule)
}


def parse_rules(items: Any, model: type[BaseModel], where: str) -> tuple[RecordRule, ...]:
    """The ``records:`` rules of an entity flow, checked against the entity ``model``;
    :class:`ConfigError` naming the rule and setting when one is wrong."""
    rules: list[RecordRule] = []
    for i, item in enumerate(items or ()):
        at = f"{where}/records/{i}"
        name = item.get("rule") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{at}/rule: give the rule a name (a-z, 0-9, _)")
        if any(r.name == name for r in rules):
            raise ConfigError(f"{at}/rule: {name} is named twice")
        kinds = [k for k in item if k in KINDS]
        unknown = set(item) - {"rule", "why", *KINDS}
        if unknown or len(kinds) != 1:
            raise ConfigError(
                f"{at}: a rule has a name, an optional why and one kind of "
                f"{', '.join(KINDS)}"
                + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else "")
            )
        why = item.get("why")
        if why is not None and not isinstance(why, str):
            raise ConfigError(f"{at}/why: text")
        kind = KINDS[kinds[0]]
        rules.append(
            kind.parse(
                name,
                " ".join(why.split()) if why else None,
                item[kinds[0]],
                model,
                f"{at}/{kind.kind}",
            )
        )
    return tuple(rules)
