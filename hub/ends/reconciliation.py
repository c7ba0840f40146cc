"""Records the hub derives from its store: the lines of Kela's bills to dispute.

Every bill the hub holds — Kela's billing lines, one bill per municipality and month — is
reconciled (:mod:`hub.reconciliation`) against Kela's benefit-day counts and the clients'
home municipalities, with the share steps of the rules file; what is found becomes one
``BillDispute`` per line and reason, delivered as the reconciliation report to the payer.
Only the records of the people on the bills are read (the lines, and those people's counts
and client records), and every record read is written to the access log with the
exchange's purpose. The disputes then take the path of any read record — validation,
versioned upsert, outbox — so a dispute that did not change is not sent again. The stream is
read whole on every run (``replication = "full"``).

A dispute's id is its line's own key — month, municipality, a keyed pseudonym of the
client's identity code (never the code itself), benefit, benefit days — and its reason; a
second line with the same key in one bill gets ``.2`` after it, and so on, in the bill's
order.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterator

from pydantic import ValidationError
from sqlalchemy import Connection, select

from hub.adapter import FULL, Batch, NativeRecord, RunContext, Stream
from hub.model import BenefitDays, BillDispute, BillingLine, CanonicalEntity, Client
from hub.privacy import Keyring
from hub.reconciliation import Reconciler
from hub.store import audit, records
from hub.store import schema as t
from hub.store.bulk import rows_in

log = logging.getLogger(__name__)

#: the scope of the keyed pseudonym of the identity code in a dispute's id
ID_SCOPE = "bill_dispute"


class BillDisputesStream(Stream):
    name = "bill_disputes"
    entity = BillDispute
    description = (
        "lines of Kela's monthly bills to dispute, per municipality and month, each with a "
        "coded reason (due date, home municipality, benefit days, share step, share amount, "
        "duplicate)"
    )
    replication = FULL

    def read(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        run = self.adapter.run
        derived = [
            NativeRecord(native_id, dispute.model_dump(mode="json"))
            for native_id, dispute in disputes(run)
        ]
        for start in range(0, len(derived), batch_size):
            yield Batch(derived[start : start + batch_size], next_cursor=None)

    def to_canonical(self, record: NativeRecord) -> BillDispute:
        return BillDispute.model_validate(record.data)


def disputes(run: RunContext) -> list[tuple[str, BillDispute]]:
    """(id, dispute) of every bill the store holds, by municipality and month."""
    hub, exchange = run.hub, run.exchange
    read: list[audit.Access] = []
    with hub.store.transaction() as conn:
        lines = _read(conn, hub.keys, BillingLine, run, read)
        people = sorted({subject for subject, _ in lines if subject is not None})
        counts = _read(conn, hub.keys, BenefitDays, run, read, subjects=people)
        clients = _read(conn, hub.keys, Client, run, read, subjects=people)
        audit.log_access(
            conn,
            actor=f"exchange:{exchange.name}",
            action="reconcile",
            purpose=f"reconcile Kela's bills for {exchange.target} under: {exchange.legal_basis}",
            items=read,
            exchange=exchange.name,
        )
    bills: dict[tuple[str, str], list[BillingLine]] = defaultdict(list)
    for _, line in lines:
        bills[line.municipality_code, line.billing_month].append(line)
    reconciler = Reconciler([c for _, c in counts], [c for _, c in clients], hub.rules)
    out, seen = [], Counter()
    for key in sorted(bills):
        for found in reconciler.bill(bills[key]):
            native = native_id(found.dispute, hub.keys)
            seen[native] += 1
            out.append((native if seen[native] == 1 else f"{native}.{seen[native]}", found.dispute))
    return out


def native_id(dispute: BillDispute, keys: Keyring) -> str:
    """The dispute's id in the hub: its line's key and its reason, with a keyed pseudonym in
    place of the identity code."""
    person = keys.pseudonym(str(dispute.client_hetu), scope=ID_SCOPE)
    return (
        f"{dispute.billing_month}/{dispute.municipality_code}/{person}/{dispute.benefit_type}/"
        f"{dispute.days_from}-{dispute.days_to}/{dispute.reason_code}"
    )


def _read(
    conn: Connection,
    keys: Keyring,
    entity: type[CanonicalEntity],
    run: RunContext,
    read: list[audit.Access],
    *,
    subjects: list[int] | None = None,
) -> list[tuple[int | None, CanonicalEntity]]:
    """(subject id, model) of every stored record of ``entity`` — of the people ``subjects``
    only, when given — in id order (the order they were stored: Kela's order of a bill's
    lines); each record read is added to ``read``. A record the model refuses today (stored
    under an older model) is left out with a warning."""
    r = t.records.c
    query = select(r.id, r.subject_id, r.payload).where(r.entity == entity.entity_name)
    if subjects is None:
        rows = conn.execute(query.order_by(r.id)).all()
    else:
        rows = sorted(rows_in(conn, query, r.subject_id, subjects), key=lambda row: row[0])
    out = []
    for rid, subject, payload in rows:
        data = records.decrypt_row(keys, rid, entity.entity_name, payload)
        try:
            model = entity.model_validate(data)
        except ValidationError:
            log.warning(
                "%s: record %s is not a valid %s today; left out",
                run.exchange.name,
                rid,
                entity.entity_name,
            )
            continue
        out.append((subject, model))
        if subject is not None:
            read.append(audit.Access(subject, rid))
    return out
