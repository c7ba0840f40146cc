"""The shape of the case system's records, and their translation both ways.

A :class:`RecordType` is one kind of record of the batch interface: its element in the
schemas, the canonical entity it carries and its fields (:class:`Field`: a child element and
the canonical field it holds). The names themselves are in :mod:`.mapping` and
:mod:`.mapping_benefits`; this module holds none.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.errors import RecordError
from hub.model import CanonicalEntity


@dataclass(frozen=True)
class Field:
    """One child element of a record and the canonical field it carries."""

    native: str
    canonical: str
    required: bool = False  # the XSD requires it
    codes: Mapping[str, str] | None = None  # native code -> canonical value
    repeated: bool = False
    #: an xs:decimal: written in plain notation (JSON may give ``1E+3``, which XSD refuses)
    decimal: bool = False
    #: an xs:integer read as a number: the entity allows only certain ones (``Literal[3, 6]``),
    #: which a text does not match
    whole: bool = False


@dataclass(frozen=True)
class RecordType:
    """One kind of record of the interface: its element in the schemas, the canonical
    entity it carries, and its fields."""

    element: str
    #: prefix of the case system's ids of this record type (``E-000123``)
    id_prefix: str
    entity: type[CanonicalEntity]
    fields: tuple[Field, ...]  # in the XSD's order
    #: in the nightly export (export.xsd) / accepted by the import (import.xsd)
    exported: bool = True
    imported: bool = True
    #: name the canonical fields the record holds even when they are all of the entity's
    #: (:meth:`carries`): the records the hub derives and sends, whose entity may grow
    names_carried: bool = False

    @functools.cached_property
    def required_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.required)

    def required(self) -> tuple[Field, ...]:
        return self.required_fields

    def repeated(self) -> set[str]:
        return {f.native for f in self.fields if f.repeated}

    def carries(self) -> tuple[str, ...] | None:
        """The canonical fields the record holds, or None when it holds all of them (an
        assessment does not name its instrument: the case system records only Kykyviisari)
        and does not name them (:attr:`names_carried`)."""
        fields = tuple(f.canonical for f in self.fields)
        everything = set(fields) == set(self.entity.model_fields)
        return None if everything and not self.names_carried else fields

    @functools.cached_property
    def read_plan(self) -> tuple[tuple[str, str, Mapping[str, str] | None, bool], ...]:
        """(native, canonical, codes, whole) of every field, for the per-record loop."""
        return tuple((f.native, f.canonical, f.codes, f.whole) for f in self.fields)

    @functools.cached_property
    def write_plan(self) -> tuple[tuple[Field, dict[str, str] | None], ...]:
        """(field, canonical code -> native code) of every field, for writing."""
        return tuple(
            (f, {v: k for k, v in f.codes.items()} if f.codes is not None else None)
            for f in self.fields
        )


def to_canonical(rt: RecordType, data: Mapping[str, Any], where: str) -> CanonicalEntity:
    """The canonical entity of an exported record (``data`` from ``record_fields``);
    ``where`` names the record in errors (``municipal/service_episodes/E-000001``)."""
    values: dict[str, Any] = {}
    for native, canonical, codes, whole in rt.read_plan:
        value = data.get(native)
        if value is None or value == "" or value == []:  # absent, empty, no repeated element
            continue
        if codes is not None:
            try:
                value = [codes[v] for v in value] if type(value) is list else codes[value]
            except (KeyError, TypeError):
                raise RecordError(where, native, "not a code of the case system") from None
        if whole:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise RecordError(where, native, "not a whole number") from None
        values[canonical] = value
    return rt.entity.model_validate(values)


def to_native(rt: RecordType, record: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Native fields (text, or lists of text) from a canonical record as JSON; fields the
    record lacks are left out. ``where`` names the stream in errors (``municipal/clients``)."""
    native: dict[str, Any] = {}
    for f, reverse in rt.write_plan:
        value = record.get(f.canonical)
        if value is None or value == []:
            continue
        if reverse is not None:
            values = value if f.repeated and isinstance(value, list) else [value]
            if not all(isinstance(v, str) and v in reverse for v in values):
                raise RecordError(where, f.canonical, "no code in the case system")
            value = [reverse[v] for v in values] if f.repeated else reverse[value]
        if f.decimal:
            value = _decimal_text(value)
        if f.repeated:
            native[f.native] = [_text(v) for v in value]
        else:
            native[f.native] = value if type(value) is str else _text(value)
    return native


def describe(rt: RecordType, native: str) -> str:
    """``native (canonical)`` for a field of the record type, else the name alone."""
    for f in rt.fields:
        if f.native == native:
            return f"{f.native} ({f.canonical})"
    return native


def missing_required(rt: RecordType, native: Mapping[str, Any]) -> list[Field]:
    """The fields the XSD requires that ``native`` lacks."""
    return [f for f in rt.required_fields if not native.get(f.native)]


def _decimal_text(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value  # left for the import schema to refuse, naming the field
    return format(number, "f") if number.is_finite() else value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
