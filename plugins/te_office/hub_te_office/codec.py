"""Helpers that translate between the service's JSON and canonical entities.

They know no name of the service: the names, code lists and the ``*_to_canonical`` /
``*_to_native`` functions that use these helpers are in :mod:`.mapping` (and, for the
labour-policy statements, :mod:`.statements`). Errors are :class:`hub.errors.RecordError`
naming the record and the native field, never its value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import RecordError


def required_value(data: Mapping[str, Any], key: str, where: str) -> Any:
    """The value of ``key``; missing or empty is an error naming the record ``where``."""
    value = data.get(key)
    if value is None or value == "":
        raise RecordError(where, key, "is missing")
    return value


def code_of(table: Mapping[str, str], data: Mapping[str, Any], key: str, where: str) -> str:
    """The canonical value of the native code at ``key`` (``table``: native -> canonical)."""
    value = required_value(data, key, where)
    if not isinstance(value, str) or value not in table:
        raise RecordError(where, key, f"is not one of the known codes ({', '.join(table)})")
    return table[value]


def number_of(data: Mapping[str, Any], key: str, where: str, *, whole: bool = False) -> Any:
    """The number at ``key`` (None when absent); a whole number when ``whole``."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(where, key, "is not a number")
    if whole:
        if value != int(value):
            raise RecordError(where, key, "is not a whole number")
        return int(value)
    return value


def flag_of(data: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> Any:
    """The JSON boolean at ``key`` (None when absent and not ``required``); anything else, a
    ``"true"`` or a 1 as much as a word, is an error."""
    value = data.get(key)
    if value is None and not required:
        return None
    if value is None:
        raise RecordError(where, key, "is missing")
    if type(value) is not bool:
        raise RecordError(where, key, "is not true or false")
    return value


def copied(data: Mapping[str, Any], fields: Mapping[str, str], *names: str) -> dict[str, Any]:
    """Canonical keyword arguments for fields copied as they are (the model validates them);
    ``fields`` maps canonical to native names."""
    return {name: data.get(fields[name]) for name in names if data.get(fields[name]) is not None}


def renamed(record: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    """The canonical ``record``'s fields under their native names; None left out."""
    return {
        native: record[canonical]
        for canonical, native in fields.items()
        if record.get(canonical) is not None
    }


def coded(
    record: Mapping[str, Any], fields: Mapping[str, str], codes: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """:func:`renamed`, with the fields of ``codes`` (canonical field -> canonical value ->
    native code) coded; unknown values and missing fields are left out."""
    native = renamed(record, fields)
    for canonical, table in codes.items():
        native.pop(fields[canonical], None)
        code = table.get(record.get(canonical) or "")
        if code:
            native[fields[canonical]] = code
    return native
