"""Keyset cursors for adapters of systems that list records ordered by (modified, id).

The cursor is the pair of the last record committed, as JSON: opaque to the engine, readable
by people who debug a run. Used by the te_office and innokyla adapters; a third-party adapter
paging the same way can use it too.
"""

from __future__ import annotations

import json

from hub.errors import PermanentError


def encode_keyset(modified: str, record_id: str) -> str:
    """The cursor after the record ``(modified, record_id)``."""
    return json.dumps([modified, record_id], ensure_ascii=False, separators=(",", ":"))


def decode_keyset(cursor: str | None, system: str) -> tuple[str, str]:
    """``(modified, record_id)`` of a cursor; ``("", "")`` for None (from the beginning).
    A cursor this encoding did not write is a :class:`PermanentError` naming ``system``."""
    if not cursor:
        return "", ""
    try:
        modified, record_id = json.loads(cursor)
        if isinstance(modified, str) and isinstance(record_id, str):
            return modified, record_id
    except (ValueError, TypeError):
        pass
    raise PermanentError(f"{system}: the cursor is not one this adapter wrote")
