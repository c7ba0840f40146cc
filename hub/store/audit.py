"""The access log and the disclosure log required by Act 703/2023.

The disclosure log is written, and committed, *before* data is sent. If it cannot be written
the hub refuses to send (as an X-Road security server refuses to pass messages it cannot log).

Each event, disclosure and settlement is appended to the logs' hash chain in the same
transaction (:mod:`hub.audit.chain`), and carries THL's action code (:mod:`hub.audit.actions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from hub.audit import actions, chain
from hub.errors import DisclosureLogUnavailable, HubError
from hub.store import schema as t
from hub.store.bulk import RowUpdate, insert_rows, update_rows
from hub.store.records import now

#: a disclosure logged and about to be sent; settled as ok, skipped or failed, or as
#: unconfirmed: sent, but no verdict came (an answer that could not be read, a time-out):
#: the record is sent again later under a disclosure of its own
SENDING, UNCONFIRMED = "sending", "unconfirmed"
#: what a row is settled as
SETTLED = frozenset({"ok", "skipped", "failed", UNCONFIRMED})


@dataclass(frozen=True)
class Access:
    """Whose data was read: the subject id (see :mod:`hub.store.subjects`) and the record.
    With only the record given, the record's subject is looked up."""

    subject_id: int | None
    record_id: str | None


def log_access(
    conn: Connection,
    actor: str,
    action: str,
    purpose: str,
    items: Sequence[Access],
    exchange: str | None = None,
) -> int | None:
    """Write one access event (who, when, why) and a row per record read, chained; the
    event's id. ``action`` is one the code list maps to a THL action code (a HubError
    naming the known ones otherwise)."""
    if not items:
        return None
    code = actions.code_for(action)
    unknown = [a.record_id for a in items if a.subject_id is None and a.record_id]
    if unknown:  # e.g. a dead letter shown on the dashboard: find whose record it is
        rows = conn.execute(
            select(t.records.c.id, t.records.c.subject_id).where(t.records.c.id.in_(unknown))
        )
        owner = {rid: subject_id for rid, subject_id in rows}
        items = [
            Access(owner.get(a.record_id), a.record_id) if a.subject_id is None else a
            for a in items
        ]
    at = now()
    event_id = conn.execute(
        t.access_events.insert().values(
            at=at,
            actor=actor,
            action=action,
            action_code=code,
            exchange=exchange,
            purpose=purpose,
        )
    ).inserted_primary_key[0]
    insert_rows(
        conn,
        t.access_log,
        [(event_id, a.subject_id, a.record_id) for a in items],
        ("event_id", "subject_id", "record_id"),
    )
    chain.append_access(
        conn,
        event_id,
        (at, actor, action, code, exchange, purpose),
        [(a.subject_id, a.record_id) for a in items],
    )
    return event_id


@dataclass(frozen=True)
class Disclosure:
    record_id: str
    subject_id: int | None
    fields: Sequence[str]
    idempotency_key: str
    #: the record rules that admitted the record (None: the exchange declares none)
    admitted_by: str | None = None


def log_disclosures(
    conn: Connection, exchange: str, target: str, legal_basis: str, items: Sequence[Disclosure]
) -> int | None:
    """Write one disclosure (when, to whom, on which legal basis) and a 'sending' row per
    record, chained; its id (None: nothing to log). Raises DisclosureLogUnavailable if that
    fails."""
    if not items:
        return None
    code = actions.code_for(actions.DISCLOSE)
    at = now()
    try:
        disclosure_id = conn.execute(
            t.disclosures.insert().values(
                at=at,
                exchange=exchange,
                target_system=target,
                legal_basis=legal_basis,
                action_code=code,
            )
        ).inserted_primary_key[0]
        insert_rows(
            conn,
            t.disclosure_log,
            [
                (
                    disclosure_id,
                    d.record_id,
                    d.subject_id,
                    ",".join(d.fields),
                    d.idempotency_key,
                    SENDING,
                    d.admitted_by,
                )
                for d in items
            ],
            (
                "disclosure_id",
                "record_id",
                "subject_id",
                "fields",
                "idempotency_key",
                "outcome",
                "admitted_by",
            ),
        )
        chain.append_disclosure(
            conn,
            disclosure_id,
            (at, exchange, target, legal_basis, code),
            [
                (d.record_id, d.subject_id, ",".join(d.fields), d.idempotency_key, d.admitted_by)
                for d in items
            ],
        )
    except SQLAlchemyError as exc:
        raise DisclosureLogUnavailable(
            f"the disclosure log cannot be written ({type(exc).__name__}); nothing was sent"
        ) from None
    return disclosure_id


#: a disclosure's row settled (rows: id, outcome)
_SETTLE = RowUpdate(t.disclosure_log, ("id",), ("outcome",))


def settle_disclosures(
    conn: Connection, disclosure_id: int, outcomes: Sequence[tuple[str, str]]
) -> None:
    """Record the outcome (ok, skipped, failed, unconfirmed) of each record of disclosure
    ``disclosure_id`` by idempotency key. Only that disclosure's rows: a record sent again
    after an unconfirmed sending has a row per sending, each with its own outcome.

    The settlement is chained: the outcome of every row of the disclosure, by row id."""
    if not outcomes:
        return
    # the chain first, as pruning takes it (hub.audit.chain.prune_logs): a prune that took it
    # and then waited for these rows while this waited for it would deadlock
    chain.lock(conn)
    # the disclosure's rows, found once through its index, then those still sending updated
    # by their primary key: an update per key filtered on both columns let SQLite walk every
    # row of the disclosure for every key (quadratic in the batch)
    log = t.disclosure_log
    state: dict[int, str] = {}
    row_of: dict[str, int] = {}
    for row_id, key, outcome in conn.execute(
        select(log.c.id, log.c.idempotency_key, log.c.outcome).where(
            log.c.disclosure_id == disclosure_id
        )
    ):
        state[row_id] = outcome
        if outcome == SENDING:
            row_of[key] = row_id
    changes = [(row_of[k], o) for k, o in outcomes if k in row_of]
    if not changes:
        return
    for row, outcome in changes:
        if outcome not in SETTLED:
            raise HubError(f"not an outcome of a disclosure: {outcome!r}")
        state[row] = outcome
    update_rows(conn, _SETTLE, changes)
    chain.append_settlement(conn, disclosure_id, now(), state)
