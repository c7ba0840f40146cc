"""Verifying the access and disclosure logs against their hash chain: one service for
``hub audit verify`` and the health DAG.

Three passes over one snapshot of the store, each streamed in order (memory: one event's or
disclosure's rows at a time):

1. the chain: sequence numbers without gaps from the start (or the pruning anchor), each
   entry following the hash before it and its hash matching its content, the hash at every
   checkpoint equal to the one sealed there, every seal verifying;
2. access events and their ``access_log`` rows against the ``access`` entries;
3. disclosures and their ``disclosure_log`` rows against the ``disclosure`` entries, and
   each row's outcome against the disclosure's latest ``settlement`` entry.

Every difference is a :class:`Problem` naming the table, the row id, the chain entry and what
differs. When the logs verify and a seal key is configured, a sealed checkpoint is made at the
last entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, select

from hub.audit.chain import ACCESS, DISCLOSURE, GENESIS, SETTLEMENT, link, timestamp
from hub.audit.report import Problem, Report
from hub.audit.report import stream as _stream
from hub.audit.rows import check_access, check_disclosures
from hub.audit.seal import ANCHOR, CHECKPOINT, SealKey, add_checkpoint, message
from hub.store import schema as t

__all__ = ["Problem", "Report", "snapshot", "verify", "verify_store"]


# --- the service ------------------------------------------------------------------------------


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection that sees one state of the store throughout (entries appended
    meanwhile are left for the next verification, not mistaken for unchained rows)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn
        else:  # SQLite: an explicit transaction reads one snapshot (WAL) from its first read
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()


def verify_store(store, key: SealKey | None, *, checkpoint: bool = True) -> Report:
    """Verify ``store``'s logs (a :class:`hub.store.Store`); when they are intact and ``key``
    is given, seal a checkpoint at the last entry (unless one is there already)."""
    with snapshot(store.engine) as conn:
        report = verify(conn, key)
    if checkpoint and key is not None and report.intact and report.entries:
        with store.transaction() as conn:
            k = t.log_checkpoints.c
            latest = conn.execute(
                select(k.seq)
                .where(k.kind == CHECKPOINT, k.key_id == key.key_id)
                .order_by(k.seq.desc())
                .limit(1)
            ).scalar()
            if latest != report.head_seq:
                add_checkpoint(conn, CHECKPOINT, report.head_seq, report.head_hash, key)
                at = conn.execute(
                    select(k.at).where(k.seq == report.head_seq).order_by(k.id.desc()).limit(1)
                ).scalar_one()
                report.checkpoint_made = {"seq": report.head_seq, "at": timestamp(at)}
    return report


def verify(conn: Connection, key: SealKey | None) -> Report:
    """Verify the chain, its checkpoints and the four log tables, in ``conn``'s snapshot."""
    report = Report(sealed=key is not None)
    _check_chain(conn, report, key)
    check_access(conn, report)
    check_disclosures(conn, report)
    return report


# --- 1. the chain -----------------------------------------------------------------------------


def _check_chain(conn: Connection, report: Report, key: SealKey | None) -> None:
    c, k = t.log_chain.c, t.log_checkpoints.c
    checkpoints = conn.execute(
        select(k.id, k.kind, k.seq, k.hash, k.at, k.key_id, k.seal).order_by(k.seq, k.id)
    ).all()
    anchors = [cp for cp in checkpoints if cp.kind == ANCHOR]
    start, prev = (anchors[-1].seq, bytes(anchors[-1].hash)) if anchors else (0, GENESIS)
    at_seq = defaultdict(list)
    for cp in checkpoints:
        if cp.kind == CHECKPOINT:
            at_seq[cp.seq].append(cp)
        elif cp.kind != ANCHOR:
            report.problem("log_checkpoints", cp.id, cp.seq, f"unknown kind {cp.kind!r}")
    expected = start + 1
    statement = select(c.seq, c.kind, c.ref_id, c.at, c.digest, c.prev_hash, c.hash)
    for e in _stream(conn, statement.order_by(c.seq)):
        report.entries += 1
        if report.first_seq is None:
            report.first_seq = e.seq
        if e.seq <= start:
            report.problem(
                "log_chain", None, e.seq, f"an entry at or before the pruning anchor (seq {start})"
            )
        elif e.seq > expected:
            gap = f"{expected}" if e.seq == expected + 1 else f"{expected}–{e.seq - 1}"
            report.problem("log_chain", None, e.seq, f"entries {gap} are missing: deleted")
        if bytes(e.prev_hash) != prev:
            report.problem(
                "log_chain",
                None,
                e.seq,
                "does not follow the entry before it (its previous hash differs): an entry was "
                "inserted, deleted or moved",
            )
        if e.kind not in (ACCESS, DISCLOSURE, SETTLEMENT):
            report.problem("log_chain", None, e.seq, f"unknown kind {e.kind!r}")
        if link(e.prev_hash, e.seq, e.kind, e.ref_id, e.at, e.digest) != bytes(e.hash):
            report.problem(
                "log_chain",
                None,
                e.seq,
                "its hash does not match the entry: the entry was edited (kind, reference, "
                "time or digest)",
            )
        for cp in at_seq.pop(e.seq, []):
            if bytes(cp.hash) != bytes(e.hash):
                report.problem(
                    "log_checkpoints",
                    cp.id,
                    e.seq,
                    f"the chain's hash at seq {e.seq} differs from the checkpoint made "
                    f"{timestamp(cp.at)}: the chain was rewritten after it",
                )
        prev, expected = bytes(e.hash), e.seq + 1
        report.head_seq, report.head_hash = e.seq, bytes(e.hash)
    if not report.entries:
        report.head_seq, report.head_hash = start, prev
    for seq, cps in at_seq.items():
        if seq > report.head_seq:
            for cp in cps:
                report.problem(
                    "log_checkpoints",
                    cp.id,
                    seq,
                    f"checkpoint beyond the chain's last entry (seq {report.head_seq}): entries "
                    f"after it were deleted",
                )
    _check_seals(report, checkpoints, key)


def _check_seals(report: Report, checkpoints: Sequence[Any], key: SealKey | None) -> None:
    other_keys = set()
    for cp in checkpoints:
        if cp.seal is None:
            if cp.kind == CHECKPOINT:
                report.problem(
                    "log_checkpoints", cp.id, cp.seq, "an unsealed checkpoint: not made by the hub"
                )
            elif key is not None:
                report.problem(
                    "log_checkpoints",
                    cp.id,
                    cp.seq,
                    "the pruning anchor is not sealed: the entries before it may have been "
                    "removed unseen (prune with the seal key configured)",
                )
            else:
                report.warnings.append(f"the pruning anchor at seq {cp.seq} is not sealed")
        elif key is None:
            report.checkpoints_unchecked += 1
        elif cp.key_id != key.key_id:
            report.checkpoints_unchecked += 1
            other_keys.add(cp.key_id)
        elif not key.verifies(message(cp.kind, cp.seq, cp.hash, cp.at), cp.seal):
            report.problem(
                "log_checkpoints",
                cp.id,
                cp.seq,
                "its seal does not verify: the checkpoint was edited or forged",
            )
        else:
            report.checkpoints_checked += 1
    if (
        key is not None
        and report.entries
        and not any(cp.kind == CHECKPOINT and cp.key_id == key.key_id for cp in checkpoints)
    ):
        report.warnings.append(
            "no checkpoint sealed with this key covers the chain yet (a first verification, "
            "or the checkpoints were deleted)"
        )
    if other_keys:
        report.warnings.append(
            "checkpoints sealed with another key were not checked (key ids "
            f"{', '.join(sorted(str(k) for k in other_keys))})"
        )
