"""The screen of a batch about to be disclosed: what its exchange's legal basis covers.

Every record of a batch passes, in order:

1. the client's **disclosure prohibitions** (luovutuskielto): a record about a person who has
   forbidden the system it came from to disclose their data, by a prohibition in force
   today that covers the record's service, is held back whole. This needs no configuration:
   a prohibition is the client's, not the exchange's, to set;
2. an operator's **correction**, when one was made (:mod:`hub.engine.replay`): it may only
   leave items out, never add one the source did not give;
3. the exchange's **record rules** (:mod:`.rules`), in the order declared.

What comes out is admitted (with the names of the rules that admitted it, for the
disclosure log, and the parts the rules held back), held back whole with its reason, or
waiting for an operator's correction. Nothing is dropped without a trace: the caller logs
every hold (:mod:`hub.store.heldback`) and turns every correction into a dead letter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from hub.disclosure import facts as known
from hub.disclosure.rules import Correction, Facts, Held, RecordRule
from hub.model import DisclosureProhibition
from hub.privacy import Keyring
from hub.store.records import StoredRecord

#: the name under which prohibitions are logged as the rule that held a record back
PROHIBITION_RULE = "disclosure_prohibition"
#: written to the disclosure log beside the rules when an operator chose the items
CORRECTED = "operator_correction"


@dataclass(frozen=True)
class Admitted:
    record: StoredRecord
    data: dict
    #: the rules that admitted the record (None: the exchange declares no record rules)
    admitted_by: str | None
    held: tuple[Held, ...] = ()


@dataclass
class Screened:
    """The verdicts of a batch, by outbox item id."""

    admitted: dict[int, Admitted] = field(default_factory=dict)
    held: dict[int, Held] = field(default_factory=dict)
    corrections: dict[int, Correction] = field(default_factory=dict)


class _BatchFacts(Facts):
    def __init__(self, found: Mapping[tuple[int, str], list[known.Known]], origin: str, stored):
        self.found, self.origin, self.stored = found, origin, stored

    def decision_for(self, record_id: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
        subject = self.stored[record_id].subject_id
        start = data.get("episode_start_date") or data.get("start_date")
        for d in self.found.get((subject, known.DECISION), ()):
            if (
                d.origin == self.origin
                and d.data.get("service_type") == data.get("service_type")
                and d.data.get("start_date") == start
            ):
                return d.data
        return None

    def prohibition_for(self, record: StoredRecord, today: dt.date) -> DisclosureProhibition | None:
        for p in self.found.get((record.subject_id, known.PROHIBITION), ()):
            if p.origin != self.origin:
                continue
            prohibition = DisclosureProhibition.model_validate(p.data)
            if prohibition.in_force(today) and prohibition.covers(record.data.get("service_type")):
                return prohibition
        return None


def correct(data: dict, correction: Mapping[str, Any]) -> tuple[dict | None, str | None]:
    """``data`` with an operator's choice applied: (corrected data, None), or (None, why it
    cannot be). A correction names list fields and keeps some of their items."""
    out = dict(data)
    for name, chosen in correction.items():
        given = data.get(name)
        if not isinstance(given, list) or not isinstance(chosen, list):
            return None, f"{name}: only the items of a list can be chosen"
        extra = [str(c) for c in chosen if c not in given]
        if extra:
            return (
                None,
                f"{name}: the correction lists {len(extra)} item(s) the source did not give",
            )
        out[name] = [c for c in given if c in chosen]
    return out, None


def _left_out(given: Mapping[str, Any], chosen: Mapping[str, Any], names) -> list[Held]:
    """The items of the corrected fields ``names`` an operator left out."""
    return [
        Held(CORRECTED, f"{n} {name} left out by an operator's choice", name, n)
        for name in names
        if (n := len(given[name]) - len(chosen[name]))
    ]


def screen(
    conn: Connection,
    keys: Keyring,
    exchange: str,
    origin: str,
    rules: Sequence[RecordRule],
    batch: Sequence[tuple[int, StoredRecord, Mapping[str, Any] | None]],
    today: dt.date | None = None,
) -> Screened:
    """The verdict on each (outbox item id, record, operator's correction or None) of a
    batch of ``exchange``, whose records came from ``origin``."""
    today = today or dt.date.today()
    subjects = {r.subject_id for _, r, _ in batch if r.subject_id is not None}
    entities = [known.PROHIBITION]
    if any(r.needs_decisions for r in rules):
        entities.append(known.DECISION)
    found = known.load(conn, keys, subjects, entities, exchange)
    facts = _BatchFacts(found, origin, {r.id: r for _, r, _ in batch})
    names = ",".join(r.name for r in rules) or None
    out = Screened()
    for item_id, record, correction in batch:
        if record.subject_id is not None and (p := facts.prohibition_for(record, today)):
            scope = ", ".join(p.service_types) or "all of the client's data"
            out.held[item_id] = Held(
                PROHIBITION_RULE,
                f"the client has forbidden {origin} to disclose their data "
                f"(luovutuskielto from {p.valid_from.isoformat()}, covering {scope})",
            )
            continue
        data, admitted_by, refused = record.data, names, None
        held: list[Held] = []
        if correction is not None:
            corrected, refused = correct(data, correction)
            if corrected is not None:
                held.extend(_left_out(data, corrected, correction))
                data = corrected
                admitted_by = f"{names},{CORRECTED}" if names else CORRECTED
        for rule in rules:
            verdict = rule.apply(record.id, data, facts)
            if verdict is None:
                continue
            if verdict.whole is not None:
                out.held[item_id] = verdict.whole
                break
            if verdict.correction is not None:
                c = verdict.correction
                if refused:  # the operator is asked again, told why the choice was refused
                    c = Correction(
                        c.rule,
                        c.field,
                        f"correction refused ({refused}); {c.reason}",
                        c.choices,
                        c.limit,
                    )
                out.corrections[item_id] = c
                break
            held.extend(verdict.held)
            data = verdict.data if verdict.data is not None else data
        else:
            out.admitted[item_id] = Admitted(record, data, admitted_by, tuple(held))
    return out
