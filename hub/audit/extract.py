"""A client's log extract (Act 703/2023 § 11): who has used or received one person's data,
when and on what basis, over a period (by default two years back), as a readable document
(HTML) and a CSV with the same rows, that the organisation hands to the client free of
charge.

One service for the command line (``hub audit person``) and the dashboard (``/audit``):
:func:`make_extract` reads the person's access events and disclosures from the store and
writes, in the same transaction, what it did: a ``log_read`` event (an auditor read log
data; only the ``auditor`` role may) and an ``extract`` event (a client's extract was made),
both for that person, so the next extract shows them. A person unknown to the hub gets an
extract that says there are no entries: that is an answer the client is entitled to.

The identity code is used only to find the person's pseudonym; the documents carry a
masked form of it (``010190-****``) and no other person: the rows say which kinds of
records were read or sent and which fields, never their content, and identity codes in
free-text purposes are removed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select

from hub.audit.document import (
    ACCESS,
    CSV_COLUMNS,
    DISCLOSURE,
    EXTRACT,
    FORMATS,
    GONE,
    LAW,
    LOG_READ,
    Entry,
    ExchangeNote,
    Extract,
    parse_formats,
)
from hub.audit.period import ZONE, ExtractError, Period, _local
from hub.privacy import canonical_hetu, redact
from hub.store import audit, subjects
from hub.store import schema as t
from hub.store.users import User

#: the environment variable naming the controller the document speaks for
CONTROLLER_ENV = "HUB_CONTROLLER"

__all__ = [
    "CONTROLLER_ENV",
    "CSV_COLUMNS",
    "FORMATS",
    "ZONE",
    "Extract",
    "ExtractError",
    "NotAuditor",
    "Period",
    "checked_code",
    "checked_controller",
    "make_extract",
    "masked",
    "parse_formats",
    "require_auditor",
]


class NotAuditor(ExtractError):
    """Reading the logs needs the ``auditor`` role."""


def require_auditor(user: User | None, name: str | None = None) -> User:
    """``user`` if it may read the logs, else :class:`NotAuditor` naming what is wrong."""
    if user is None:
        raise NotAuditor(f"{name or 'the user'}: no enabled user of that name")
    if not user.is_auditor:
        raise NotAuditor(
            f"{user.username} has the role {user.role}; reading the logs needs the auditor role"
        )
    return user


def checked_code(value: str) -> str:
    """The identity code ``value`` if valid, else :class:`ExtractError` saying what is
    wrong (python-stdnum's checks; the value is never quoted)."""
    try:
        return canonical_hetu(value)
    except ValueError as exc:
        raise ExtractError(f"the identity code is refused: {exc}") from None


def checked_controller(value: str | None) -> str:
    """The controller's name as the document shows it; an extract must name one."""
    name = " ".join((value or "").split())
    if not name:
        raise ExtractError(
            f"name the controller the extract speaks for (--controller or {CONTROLLER_ENV})"
        )
    return name


def masked(code: str) -> str:
    """The code as the document shows it: date of birth and century sign only."""
    return code[:7] + "****"


def make_extract(
    hub,
    code: str,
    *,
    reader: User | None,
    actor: str,
    period: Period,
    controller: str,
    copy_of: int | None = None,
) -> Extract:
    """The log extract of the person with identity code ``code`` over ``period``, read by
    ``reader`` (who must be an auditor) acting as ``actor`` (the access log's actor).

    The reading is logged as ``log_read`` and the extract as ``extract``, both for that
    person, in the transaction that reads the rows: an extract is never made unlogged.
    ``copy_of`` (the reference of an extract already made) gives another copy of that
    extract: only the reading is logged again, and the document keeps its reference."""
    require_auditor(reader)
    code = checked_code(code)
    controller = checked_controller(controller)
    made_at = dt.datetime.now(dt.UTC).astimezone(ZONE)
    with hub.store.transaction() as conn:
        subject = subjects.id_of(conn, hub.keys, code)
        entries = _entries(conn, subject, period) if subject is not None else []
        whose = [audit.Access(subject, None)]
        audit.log_access(
            conn,
            actor,
            LOG_READ,
            f"read the access and disclosure log entries of one client, {period.label}, "
            f"for a log extract ({LAW})",
            whose,
        )
        reference = copy_of
        if copy_of is None:
            reference = audit.log_access(
                conn,
                actor,
                EXTRACT,
                f"client's log extract ({LAW}), {period.label}: "
                f"{sum(e.kind == ACCESS for e in entries)} accesses, "
                f"{sum(e.kind == DISCLOSURE for e in entries)} disclosures",
                whose,
            )
    return Extract(
        person=masked(code),
        known=subject is not None,
        period=period,
        made_at=made_at,
        made_by=actor,
        controller=controller,
        reference=reference,
        entries=tuple(entries),
        exchanges=tuple(_notes(hub, entries)),
    )


def _entries(conn: Connection, subject: int, period: Period) -> list[Entry]:
    start, end = period.bounds()
    entries = [*_accesses(conn, subject, start, end), *_disclosures(conn, subject, start, end)]
    return sorted(entries, key=lambda e: (e.at, e.kind))


def _accesses(conn: Connection, subject: int, start, end) -> Iterable[Entry]:
    e, log, r = t.access_events.c, t.access_log.c, t.records.c
    rows = conn.execute(
        select(e.id, e.at, e.actor, e.action, e.exchange, e.purpose, log.record_id, r.entity)
        .select_from(
            t.access_log.join(t.access_events, e.id == log.event_id).outerjoin(
                t.records, r.id == log.record_id
            )
        )
        .where(log.subject_id == subject, e.at >= start, e.at < end)
        .order_by(e.at, e.id)
    ).all()
    events: dict[int, tuple] = {}
    kinds: dict[int, list[str]] = {}
    for row in rows:
        events.setdefault(row.id, row)
        if row.record_id is not None:
            _add(kinds.setdefault(row.id, []), row.entity or GONE)
    for event_id, row in events.items():
        yield Entry(
            kind=ACCESS,
            at=_local(row.at),
            actor_or_exchange=row.actor,
            action=row.action,
            kinds=tuple((k, ()) for k in kinds.get(event_id, ())),
            recipient="",
            legal_basis_or_purpose=redact(row.purpose),
            outcome="",
            exchange=row.exchange,
        )


def _disclosures(conn: Connection, subject: int, start, end) -> Iterable[Entry]:
    d, log, r = t.disclosures.c, t.disclosure_log.c, t.records.c
    rows = conn.execute(
        select(
            d.id,
            d.at,
            d.exchange,
            d.target_system,
            d.legal_basis,
            log.fields,
            log.outcome,
            r.entity,
        )
        .select_from(
            t.disclosure_log.join(t.disclosures, d.id == log.disclosure_id).outerjoin(
                t.records, r.id == log.record_id
            )
        )
        .where(log.subject_id == subject, d.at >= start, d.at < end)
        .order_by(d.at, d.id, log.id)
    ).all()
    heads: dict[int, tuple] = {}
    sent: dict[int, dict[str, list[str]]] = {}
    outcomes: dict[int, list[str]] = {}
    for row in rows:
        heads.setdefault(row.id, row)
        fields = sent.setdefault(row.id, {}).setdefault(row.entity or GONE, [])
        for name in filter(None, row.fields.split(",")):
            _add(fields, name)
        outcomes.setdefault(row.id, []).append(row.outcome)
    for disclosure_id, row in heads.items():
        yield Entry(
            kind=DISCLOSURE,
            at=_local(row.at),
            actor_or_exchange=f"exchange:{row.exchange}",
            action="disclose",
            kinds=tuple((k, tuple(f)) for k, f in sent[disclosure_id].items()),
            recipient=row.target_system,
            legal_basis_or_purpose=redact(row.legal_basis),
            outcome=_outcome(outcomes[disclosure_id]),
            exchange=row.exchange,
        )


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def _outcome(outcomes: list[str]) -> str:
    """One outcome, or how many records had each (``ok ×2, failed ×1``)."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o] = counts.get(o, 0) + 1
    if len(counts) == 1:
        return outcomes[0]
    return ", ".join(f"{o} ×{n}" for o, n in counts.items())


def _notes(hub, entries: Sequence[Entry]) -> Iterable[ExchangeNote]:
    for name in sorted({e.exchange for e in entries if e.exchange}):
        x = hub.config.exchanges.get(name)
        if x is not None:
            yield ExchangeNote(name, " ".join(x.description.split()), x.source, x.target)
