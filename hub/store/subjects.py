"""The people whose data the hub holds, each once: the keyed pseudonym of the identity code
and a surrogate id that records and the access and disclosure logs refer to.

Ids are handed out in the order people first arrive, so the indexes of everything that
refers to them grow at their end during a bulk load (a random pseudonym in each of those
indexes would touch a random page of each for every record).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from hub.privacy import Keyring
from hub.privacy.identity import canonical_hetu
from hub.store import schema as t
from hub.store.bulk import insert_new_returning, rows_in


def _lookup(conn: Connection, pseudonyms: list[bytes]) -> dict[bytes, int]:
    s = t.subjects.c
    return dict(rows_in(conn, select(s.pseudonym, s.id), s.pseudonym, pseudonyms))


def ids_for(conn: Connection, pseudonyms: Iterable[bytes | None], stamp) -> dict[bytes, int]:
    """pseudonym -> subject id for every given pseudonym, adding the people new to the hub
    (in the order given; a person another transaction added meanwhile is kept once)."""
    wanted = list(dict.fromkeys(p for p in pseudonyms if p))
    found = _lookup(conn, wanted)
    new = [p for p in wanted if p not in found]
    if new:
        inserted = insert_new_returning(
            conn,
            t.subjects,
            ("pseudonym", "created_at"),
            [(p, stamp) for p in new],
            ("pseudonym", "id"),
            "pseudonym",
        )
        found.update({bytes(p): i for p, i in inserted})
        if len(inserted) < len(new):  # added by another transaction meanwhile
            found.update(_lookup(conn, [p for p in new if p not in found]))
    return found


def id_of(conn: Connection, keys: Keyring, hetu: str) -> int | None:
    """The subject id of the person with identity code ``hetu``, if the hub knows them.
    Raises ``ValueError`` (without the value) for a code that is not valid."""
    pseudonym = keys.pseudonym_bytes(canonical_hetu(hetu))
    return _lookup(conn, [pseudonym]).get(pseudonym)
