"""Removing what the retention periods let go (:mod:`hub.retention`), in bounded batches.

Each batch is a transaction of its own: up to ``size`` rows found in key order after where
the batch before ended, removed by a statement that checks their conditions again. A run
going on meanwhile loses nothing it needs:

- a record goes with its identity-map entries, outbox rows and held-back rows, but never
  while an outbox row of it waits for delivery, is being sent or is held (any state but
  delivered, skipped or dead), nor while an open dead letter names it, nor while a table
  this module does not know refers to it;
- a person (``subjects``) goes once nothing refers to them any more;
- on PostgreSQL a batch locks its rows (``FOR UPDATE SKIP LOCKED``): a row a run is writing
  is passed over until the next purge. On SQLite a batch whose snapshot another writer
  changed fails (:class:`hub.errors.StoreBusy`) and is tried again.

Counting what is due (:func:`count_due`, the dry run) uses the same conditions, so a dry run
and the purge after it agree when nothing else changes in between.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from hub.errors import StoreBusy
from hub.store import Store
from hub.store import schema as t
from hub.store.deadletters import OPEN
from hub.store.outbox import DEAD, DELIVERED, HELD, SKIPPED
from hub.store.runs import COMPLETED

log = logging.getLogger(__name__)

#: the kinds of rows a purge removes, in the order it removes them
PAYLOADS, LETTERS, HELD_BACK, OUTBOX = "dead_letter_payloads", "dead_letters", "held_back", "outbox"
RECORDS, RUNS, BATCHES, SUBJECTS = "records", "runs", "run_batches", "subjects"
#: a batch tried this many times when a run changed its rows meanwhile
ATTEMPTS = 3


@dataclass(frozen=True)
class Keyed:
    """A cutoff per key (a tuple of column values), ``default`` for keys not listed."""

    by: Mapping[tuple[str, ...], dt.datetime]
    default: dt.datetime

    def of(self, key: tuple[str, ...]) -> dt.datetime:
        return self.by.get(key, self.default)


@dataclass(frozen=True)
class Cutoffs:
    """Before which time each kind of row is due (UTC): records per (origin system,
    entity), dead letters per exchange."""

    records: Keyed
    payloads: Keyed
    letters: Keyed
    held_back: dt.datetime
    outbox: dt.datetime
    runs: dt.datetime
    logs: dt.datetime


def _at(value: dt.datetime) -> ColumnElement:
    return literal(value, t.TS)


def _older(column, cutoffs: Keyed, *keys) -> ColumnElement[bool]:
    """``column`` before the cutoff of its row's key (``keys``: the key's columns)."""
    if not cutoffs.by:
        return column < _at(cutoffs.default)
    whens = [
        (and_(*(c == v for c, v in zip(keys, key, strict=True))), _at(at))
        for key, at in cutoffs.by.items()
    ]
    return column < case(*whens, else_=_at(cutoffs.default))


def referring(table: Table) -> list[tuple[Table, object]]:
    """(table, column) of every foreign key to ``table`` in the schema."""
    return [
        (other, fk.parent)
        for other in t.metadata.tables.values()
        for fk in other.foreign_keys
        if fk.column.table is table
    ]


def _unknown_refs(table: Table, known: set[str]) -> list[ColumnElement[bool]]:
    """Conditions that no row of a table this module does not handle refers to the row."""
    key = next(iter(table.primary_key.columns))
    return [
        ~exists().where(column == key)
        for other, column in referring(table)
        if other.name not in known
    ]


# -- what is due -----------------------------------------------------------------------------

dl, o, hb, r = t.dead_letters.c, t.outbox.c, t.held_back.c, t.records.c


def letters_due(c: Cutoffs) -> ColumnElement[bool]:
    return and_(dl.status != OPEN, _older(dl.updated_at, c.letters, dl.exchange))


def payloads_due(c: Cutoffs) -> ColumnElement[bool]:
    """Payloads erased from letters that stay (a letter due goes whole)."""
    return and_(
        dl.status != OPEN,
        dl.payload.is_not(None),
        _older(dl.updated_at, c.payloads, dl.exchange),
        ~_older(dl.updated_at, c.letters, dl.exchange),
    )


def held_back_due(c: Cutoffs) -> ColumnElement[bool]:
    """Holds older than the cutoff, but the hold that explains an outbox row still held."""
    return and_(
        hb.at < _at(c.held_back),
        ~exists().where(
            o.exchange == hb.exchange,
            o.record_id == hb.record_id,
            o.version == hb.version,
            o.status == HELD,
        ),
    )


def outbox_due(c: Cutoffs) -> ColumnElement[bool]:
    return and_(o.status.in_([DELIVERED, SKIPPED]), o.updated_at < _at(c.outbox))


#: the outbox states a record may be removed in: any other (pending, being sent, held)
#: keeps it. A dead row's record is kept while its dead letter is open
SETTLED = (DELIVERED, SKIPPED, DEAD)
#: the tables removed with a record (they refer to it)
RECORD_PARTS = (t.identity_map, t.outbox, t.held_back)


def records_due(c: Cutoffs) -> ColumnElement[bool]:
    return and_(
        _older(r.updated_at, c.records, r.origin_system, r.entity),
        ~exists().where(o.record_id == r.id, o.status.not_in(SETTLED)),
        ~exists().where(dl.record_id == r.id, dl.status == OPEN),
        *_unknown_refs(t.records, {p.name for p in RECORD_PARTS}),
    )


def runs_due(c: Cutoffs) -> ColumnElement[bool]:
    """Runs ended before the cutoff, but each exchange's latest run and latest completed run
    (``success`` or ``success_with_failures``: an exchange long silent must still show as
    stale, not as never run)."""
    run, newer = t.runs.c, t.runs.alias("newer").c
    return and_(
        func.coalesce(run.finished_at, run.started_at) < _at(c.runs),
        exists().where(newer.exchange == run.exchange, newer.started_at > run.started_at),
        or_(
            run.state.not_in(COMPLETED),
            exists().where(
                newer.exchange == run.exchange,
                newer.state.in_(COMPLETED),
                newer.finished_at > run.finished_at,
            ),
        ),
        *_unknown_refs(t.runs, {t.run_batches.name}),
    )


def subjects_due(c: Cutoffs | None = None) -> ColumnElement[bool]:
    """People nothing refers to; with ``c``: nothing will once what is due is removed."""
    s = t.subjects.c
    conditions = []
    for table, column in referring(t.subjects):
        if c is None:
            conditions.append(~exists().where(column == s.id))
        elif table is t.records:
            conditions.append(~exists().where(column == s.id, ~records_due(c)))
        elif table is t.held_back:
            gone_with_record = exists().where(r.id == hb.record_id, records_due(c))
            kept = and_(~held_back_due(c), ~gone_with_record)
            conditions.append(~exists().where(column == s.id, kept))
        elif table in (t.access_log, t.disclosure_log):
            access = table is t.access_log
            events = t.access_events if access else t.disclosures
            parent = table.c.event_id if access else table.c.disclosure_id
            kept = exists().where(
                events.c.id == parent, _log_kept(events, "access" if access else "disclosure", c)
            )
            conditions.append(~exists().where(column == s.id, kept))
        else:
            conditions.append(~exists().where(column == s.id))
    return and_(*conditions)


def _pruned_entries(c: Cutoffs) -> ColumnElement[bool]:
    """Chain entries the log pruning removes (:func:`hub.audit.chain.prune_logs`): the
    chain's start up to the first entry at or after the cutoff."""
    kept = t.log_chain.alias("kept").c
    keep_from = select(func.min(kept.seq)).where(kept.at >= _at(c.logs)).scalar_subquery()
    return or_(keep_from.is_(None), t.log_chain.c.seq < keep_from)


def _log_kept(events: Table, kind: str, c: Cutoffs) -> ColumnElement[bool]:
    """An event or disclosure that stays: no entry of it is pruned."""
    lc = t.log_chain.c
    return ~exists().where(lc.kind == kind, lc.ref_id == events.c.id, _pruned_entries(c))


def logs_due(conn: Connection, c: Cutoffs) -> int:
    """Log chain entries (access events, disclosures, settlements) the pruning removes."""
    return conn.execute(
        select(func.count()).select_from(t.log_chain).where(_pruned_entries(c))
    ).scalar_one()


# -- counting (the dry run) ------------------------------------------------------------------


def _grouped(conn: Connection, table: Table, where, *keys) -> Counter:
    if not keys:
        return Counter(
            {"": conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()}
        )
    rows = conn.execute(select(*keys, func.count()).where(where).group_by(*keys))
    return Counter({"/".join(row[:-1]): row[-1] for row in rows})


def count_due(conn: Connection, c: Cutoffs) -> dict[str, Counter]:
    """How many rows of each kind a purge with ``c`` would remove, per scope (dead letters:
    per exchange; records: per origin system and entity)."""
    run_ids = select(t.runs.c.id).where(runs_due(c))
    return {
        PAYLOADS: _grouped(conn, t.dead_letters, payloads_due(c), dl.exchange),
        LETTERS: _grouped(conn, t.dead_letters, letters_due(c), dl.exchange),
        HELD_BACK: _grouped(conn, t.held_back, held_back_due(c)),
        OUTBOX: _grouped(conn, t.outbox, outbox_due(c)),
        RECORDS: _grouped(conn, t.records, records_due(c), r.origin_system, r.entity),
        RUNS: _grouped(conn, t.runs, runs_due(c)),
        BATCHES: _grouped(conn, t.run_batches, t.run_batches.c.run_id.in_(run_ids)),
        SUBJECTS: _grouped(conn, t.subjects, subjects_due(c)),
    }


# -- removing --------------------------------------------------------------------------------


class _Changed(Exception):
    """Rows of the batch changed under it: roll the batch back and look again."""


Step = Callable[[Connection, object], "tuple[object, Counter] | None"]


def _batches(store: Store, step: Step) -> Counter:
    """Run ``step(conn, after)`` in a transaction of its own each until it returns None
    (nothing left); it returns the key to go on after and what it counted, added up once
    its transaction has committed. A batch a run changed meanwhile is tried again."""
    after: object = None
    total: Counter = Counter()
    while True:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with store.transaction() as conn:
                    done = step(conn, after)
                break
            except (_Changed, StoreBusy, IntegrityError) as exc:
                if attempt == ATTEMPTS:
                    raise StoreBusy(
                        f"the purge gave up on a batch of {store.display_url} that other "
                        f"writers kept changing ({type(exc).__name__}); run it again later",
                        store=store.display_url,
                    ) from exc
                log.info("purge: a batch changed meanwhile; trying it again")
        if done is None:
            return total
        after, counted = done
        total.update(counted)


def _remove(
    store: Store,
    table: Table,
    where: ColumnElement[bool],
    size: int,
    *scope,
    parts: tuple[Table, ...] = (),
    erase: dict | None = None,
) -> Counter:
    """Remove (with ``erase``: set those columns of) the rows of ``table`` that satisfy
    ``where``, up to ``size`` a transaction, with the rows of ``parts`` that refer to them
    (removed first). Counted per ``scope`` (the values of those columns, joined by "/");
    the rows of each part under the part's name."""
    key = next(iter(table.primary_key.columns))

    def step(conn: Connection, after):
        query = select(key, *scope).where(where).order_by(key).limit(size)
        if after is not None:
            query = query.where(key > after)
        keys = [row[0] for row in conn.execute(query.with_for_update(skip_locked=True, of=table))]
        if not keys:
            return None
        counted: Counter = Counter()
        for part in parts:
            column = next(fk.parent for fk in part.foreign_keys if fk.column is key)
            counted[part.name] += conn.execute(delete(part).where(column.in_(keys))).rowcount
        statement = (update(table).values(**erase) if erase is not None else delete(table)).where(
            key.in_(keys), where
        )
        if scope:
            rows = conn.execute(statement.returning(*scope)).all()
            counted.update("/".join(row) for row in rows)
            n = len(rows)
        else:
            n = conn.execute(statement).rowcount
            counted[""] += n
        if n != len(keys):
            raise _Changed(f"{table.name}: {len(keys)} were due, {n} still are")
        return keys[-1], counted

    return _batches(store, step)


def _split(counted: Counter, parts: tuple[Table, ...]) -> Counter:
    """``counted`` without the counts of ``parts``."""
    names = {p.name for p in parts}
    return Counter({k: n for k, n in counted.items() if k not in names})


def purge_letters(store: Store, c: Cutoffs, size: int) -> dict[str, Counter]:
    """Erase the payloads due, then remove the letters due."""
    return {
        PAYLOADS: _remove(
            store, t.dead_letters, payloads_due(c), size, dl.exchange, erase={"payload": None}
        ),
        LETTERS: _remove(store, t.dead_letters, letters_due(c), size, dl.exchange),
    }


def purge_held_back(store: Store, c: Cutoffs, size: int) -> Counter:
    return _remove(store, t.held_back, held_back_due(c), size)


def purge_outbox(store: Store, c: Cutoffs, size: int) -> Counter:
    return _remove(store, t.outbox, outbox_due(c), size)


def purge_records(store: Store, c: Cutoffs, size: int) -> Counter:
    counted = _remove(
        store, t.records, records_due(c), size, r.origin_system, r.entity, parts=RECORD_PARTS
    )
    return _split(counted, RECORD_PARTS)


def purge_runs(store: Store, c: Cutoffs, size: int) -> dict[str, Counter]:
    parts = (t.run_batches,)
    counted = _remove(store, t.runs, runs_due(c), size, parts=parts)
    return {RUNS: _split(counted, parts), BATCHES: Counter({"": counted[t.run_batches.name]})}


def purge_subjects(store: Store, size: int) -> Counter:
    return _remove(store, t.subjects, subjects_due(), size)
