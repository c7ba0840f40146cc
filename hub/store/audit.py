"""The access log and the disclosure log required by Act 703/2023.

The disclosure log is written, and committed, *before* data is sent. If it cannot be written
the hub refuses to send (as an X-Road security server refuses to pass messages it cannot log).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.exc import SQLAlchemyError

from hub.errors import DisclosureLogUnavailable
from hub.store import schema as t
from hub.store.bulk import execute_many
from hub.store.records import now


@dataclass(frozen=True)
class Access:
    subject: str | None
    record_id: str | None


def log_access(
    conn: Connection,
    actor: str,
    action: str,
    purpose: str,
    items: Sequence[Access],
    exchange: str | None = None,
) -> None:
    if not items:
        return
    stamp = now()
    execute_many(
        conn,
        t.access_log.insert(),
        [
            {
                "at": stamp,
                "actor": actor,
                "action": action,
                "subject": a.subject,
                "record_id": a.record_id,
                "exchange": exchange,
                "purpose": purpose,
            }
            for a in items
        ],
    )


@dataclass(frozen=True)
class Disclosure:
    record_id: str
    subject: str | None
    fields: Sequence[str]
    idempotency_key: str


def log_disclosures(
    conn: Connection, exchange: str, target: str, legal_basis: str, items: Sequence[Disclosure]
) -> None:
    """Insert 'sending' entries. Raises DisclosureLogUnavailable if that fails."""
    if not items:
        return
    stamp = now()
    try:
        execute_many(
            conn,
            t.disclosure_log.insert(),
            [
                {
                    "at": stamp,
                    "exchange": exchange,
                    "target_system": target,
                    "legal_basis": legal_basis,
                    "record_id": d.record_id,
                    "subject": d.subject,
                    "fields": ",".join(d.fields),
                    "idempotency_key": d.idempotency_key,
                    "outcome": "sending",
                }
                for d in items
            ],
        )
    except SQLAlchemyError as exc:
        raise DisclosureLogUnavailable(
            f"the disclosure log cannot be written ({type(exc).__name__}); nothing was sent"
        ) from None


def settle_disclosures(conn: Connection, outcomes: Sequence[tuple[str, str]]) -> None:
    """Record the outcome (ok, skipped, failed) of each disclosure by idempotency key."""
    if not outcomes:
        return
    execute_many(
        conn,
        update(t.disclosure_log)
        .where(t.disclosure_log.c.idempotency_key == bindparam("key"))
        .where(t.disclosure_log.c.outcome == "sending")
        .values(outcome=bindparam("outcome")),
        [{"key": k, "outcome": o} for k, o in outcomes],
    )
