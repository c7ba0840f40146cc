"""The people whose data the hub holds, each once: the keyed pseudonym of the identity code
and a surrogate id that records and the access and disclosure logs refer to.

Ids are handed out in the order people first arrive, so the indexes of everything that
refers to them grow at their end during a bulk load (a random pseudonym in each of those
indexes would touch a random page of each for every record).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, select

from hub.privacy import Keyring
from hub.privacy.identity import canonical_hetu
from hub.store import pgcopy, statistics
from hub.store import schema as t
from hub.store.bulk import insert_new_returning, rows_in
from hub.store.keys import lookup_subjects

_COLUMNS = ("pseudonym", "created_at")


def _lookup(conn: Connection, pseudonyms: list[bytes]) -> dict[bytes, int]:
    s = t.subjects.c
    return dict(rows_in(conn, select(s.pseudonym, s.id), s.pseudonym, pseudonyms))


def ids_for(
    conn: Connection,
    pseudonyms: Iterable[bytes | None],
    stamp,
    previous: Mapping[bytes, Sequence[bytes]] | None = None,
    created: set[bytes] | None = None,
) -> dict[bytes, int]:
    """pseudonym -> subject id for every given pseudonym, adding the people new to the hub
    (in the order given; a person another transaction added meanwhile is kept once). On
    PostgreSQL one staged merge for the batch (:func:`hub.store.pgcopy.ensure`).

    During a key rotation ``previous`` gives a pseudonym's forms under the previous keys: a
    person not found under the current key is looked for under those before being added.
    The pseudonyms of the people added are put in ``created``."""
    wanted = list(dict.fromkeys(p for p in pseudonyms if p))
    if conn.dialect.name == "postgresql" and not previous and wanted:
        found, new = pgcopy.ensure(
            conn, t.subjects, "pseudonym", [(p, stamp) for p in wanted], _COLUMNS, "id"
        )
        statistics.wrote(conn, t.subjects.name, len(new))
        if created is not None:
            created.update(new)
        return found
    found = lookup_subjects(conn, wanted, previous) if previous else _lookup(conn, wanted)
    new = [p for p in wanted if p not in found]
    if created is not None:
        created.update(new)
    if new:
        inserted = insert_new_returning(
            conn,
            t.subjects,
            _COLUMNS,
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
    code = canonical_hetu(hetu)
    forms = [keys.pseudonym_bytes(code), *keys.previous_pseudonyms(code)]  # current key first
    found = _lookup(conn, forms)
    return next((found[p] for p in forms if p in found), None)
