"""Canonical fields read out of a native record of Kela: shared by the streams' translations.

A record that broke the contract is kept whole (:func:`.contract.record_data`): a field
given more than once as the list of its values. Such a field is refused here, naming it,
never narrowed to one of its values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import RecordError


def code(table: Mapping[str, str], value: Any, where: str, field: str) -> str:
    """The canonical value of Kela's code ``value`` of ``field`` (``table``: Kela's code →
    the canonical one); a code Kela does not have is a :class:`RecordError` naming
    ``where`` (the record) and ``field``."""
    if isinstance(value, list):
        raise RecordError(where, field, "is given more than once")
    if value not in table:
        raise RecordError(where, field, "is not one of Kela's codes")
    return table[value]


def fields(data: Mapping[str, Any], names: Mapping[str, str], where: str) -> dict[str, Any]:
    """The canonical fields of ``names`` (canonical → native) that ``data`` holds; an empty
    one is left out. A field given more than once is a :class:`RecordError`."""
    out = {}
    for canonical, native in names.items():
        value = data.get(native)
        if isinstance(value, list):
            raise RecordError(where, native, "is given more than once")
        if value not in (None, ""):
            out[canonical] = value
    return out
