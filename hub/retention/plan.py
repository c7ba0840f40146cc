"""What is due before which time: the retention periods (:mod:`.config`) applied at a given
time to what the store holds.

Records are kept for the period of the exchanges that bring them in (those that read their
entity from their origin system), the longest of them when there are several, the default
when none does; dead letters for the period of their exchange.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import Connection, select

from hub.exchanges import HubConfig, _schema
from hub.retention.config import Period, Retention, parse_retention
from hub.store import purge as p
from hub.store import schema as t
from hub.store.deadletters import OPEN

DEFAULT = "default"


@dataclass(frozen=True)
class Due:
    """One line of a purge: rows of ``kind`` (in ``scope``: an exchange, an origin system
    and entity, or "" for all) changed last before ``before``, kept ``period`` by ``basis``
    (the exchanges whose legal basis sets it, or the default); ``count``: removed, or due."""

    kind: str
    scope: str
    period: str
    basis: str
    before: dt.datetime | None
    count: int = 0

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "scope": self.scope,
            "period": self.period,
            "basis": self.basis,
            "before": self.before.isoformat() if self.before else None,
            "count": self.count,
        }


def retention_of(config: HubConfig) -> Retention:
    """The configuration's periods (the schema's defaults when it was built without them)."""
    if config.retention is not None:
        return config.retention
    return parse_retention(None, config.path, config.exchanges, _schema()["$defs"])


def _record_period(config: HubConfig, retention: Retention, system: str, entity: str):
    """The period of records of ``entity`` from ``system``, and the exchanges that set it."""
    bringing = [
        x.name
        for x in config.exchanges.values()
        if x.source == system and any(f.entity == entity for f in x.entities)
    ]
    if not bringing:
        return retention.records, DEFAULT
    longest = retention.records_of(bringing[0])
    for name in bringing[1:]:
        if retention.records_of(name).longer_than(longest):
            longest = retention.records_of(name)
    setting = [n for n in bringing if n in retention.records_by_exchange]
    basis = [n for n in setting if retention.records_of(n) == longest]
    return longest, ", ".join(basis) if basis else DEFAULT


def plan(conn: Connection, config: HubConfig, at: dt.datetime) -> tuple[p.Cutoffs, list[Due]]:
    """The cutoffs of a purge at ``at`` (UTC) and its lines, with no count yet: one per
    origin system and entity of the records held, per exchange of dead letters not open."""
    retention = retention_of(config)
    lines: list[Due] = []

    def line(kind: str, scope: str, period: Period, basis: str = DEFAULT) -> dt.datetime:
        before = period.before(at)
        lines.append(Due(kind, scope, str(period), basis, before))
        return before

    r, dl = t.records.c, t.dead_letters.c
    groups = conn.execute(select(r.origin_system, r.entity).distinct()).all()
    records = {
        (system, entity): line(
            p.RECORDS,
            f"{system}/{entity}",
            *_record_period(config, retention, system, entity),
        )
        for system, entity in sorted(groups)
    }
    if not records:  # nothing held yet: the default's cutoff all the same
        line(p.RECORDS, "", retention.records)
    exchanges = sorted(
        conn.execute(select(dl.exchange).where(dl.status != OPEN).distinct()).scalars()
    )

    def letters(kind: str, attribute: str) -> dict:
        out = {}
        for x in exchanges:
            period = getattr(retention.letters_of(x), attribute)
            basis = x if x in retention.letters_by_exchange else DEFAULT
            out[(x,)] = line(kind, x, period, basis)
        return out

    if not exchanges:
        line(p.PAYLOADS, "", retention.dead_letters.payload)
        line(p.LETTERS, "", retention.dead_letters.rows)
    cutoffs = p.Cutoffs(
        records=p.Keyed(records, retention.records.before(at)),
        payloads=p.Keyed(letters(p.PAYLOADS, "payload"), retention.dead_letters.payload.before(at)),
        letters=p.Keyed(letters(p.LETTERS, "rows"), retention.dead_letters.rows.before(at)),
        held_back=line(p.HELD_BACK, "", retention.held_back),
        outbox=line(p.OUTBOX, "", retention.outbox),
        runs=line(p.RUNS, "", retention.runs),
        logs=line(LOGS, "", retention.logs),
    )
    lines.append(Due(p.BATCHES, "", str(retention.runs), "with their runs", None))
    lines.append(Due(p.SUBJECTS, "", "-", "once nothing refers to them", None))
    return cutoffs, lines


#: access and disclosure log entries (removed by :func:`hub.audit.chain.prune_logs`)
LOGS = "logs"
#: the order of the kinds in a report: the order a purge removes them in
ORDER = (
    p.PAYLOADS,
    p.LETTERS,
    p.HELD_BACK,
    p.OUTBOX,
    p.RECORDS,
    p.RUNS,
    p.BATCHES,
    LOGS,
    p.SUBJECTS,
)


def counted(lines: list[Due], counts: dict[str, dict[str, int]]) -> list[Due]:
    """``lines`` with their counts (kind -> scope -> rows), in :data:`ORDER`; a scope counted
    that has no line (a row changed meanwhile) gets one of its own."""
    out = [replace(d, count=counts.get(d.kind, {}).get(d.scope, 0)) for d in lines]
    known = {(d.kind, d.scope) for d in lines}
    for kind, scopes in counts.items():
        for scope, n in scopes.items():
            if (kind, scope) not in known and n:
                out.append(Due(kind, scope, "?", DEFAULT, None, n))
    return sorted(out, key=lambda d: ORDER.index(d.kind))
