"""What the screen of a batch looks up in the store: the decisions (service episodes) and the
disclosure prohibitions of the batch's people, as recorded by the systems their records came
from. Reading them is a read of client data, logged like any other."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from hub.privacy import Keyring
from hub.store import audit
from hub.store import schema as t
from hub.store.records import decrypt_row

DECISION, PROHIBITION = "ServiceEpisode", "DisclosureProhibition"
_IN_CHUNK = 500


@dataclass(frozen=True)
class Known:
    """A decision or prohibition: its record, its system and its data."""

    record_id: str
    origin: str
    data: Mapping[str, Any]


def load(
    conn: Connection,
    keys: Keyring,
    subjects: Iterable[int],
    entities: Sequence[str],
    exchange: str,
) -> dict[tuple[int, str], list[Known]]:
    """The records of ``entities`` about ``subjects``, by (subject, entity). Only the rows of
    those entities are decrypted, and their reading is logged."""
    wanted = sorted(set(subjects))
    found: dict[tuple[int, str], list[Known]] = {}
    if not wanted or not entities:
        return found
    r = t.records.c
    read: list[audit.Access] = []
    for i in range(0, len(wanted), _IN_CHUNK):
        rows = conn.execute(
            select(r.id, r.entity, r.subject_id, r.origin_system, r.payload).where(
                r.subject_id.in_(wanted[i : i + _IN_CHUNK]), r.entity.in_(list(entities))
            )
        )
        for rid, entity, subject, origin, payload in rows:
            data = decrypt_row(keys, rid, entity, payload)
            found.setdefault((subject, entity), []).append(Known(rid, origin, data))
            read.append(audit.Access(subject, rid))
    audit.log_access(
        conn,
        actor="hub",
        action="read",
        purpose="screening a disclosure: the decisions and disclosure prohibitions that "
        "decide which records the legal basis covers",
        items=read,
        exchange=exchange,
    )
    return found
