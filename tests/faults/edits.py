"""Edits of a record element that the fault suite's XML scenarios share."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree


def attribute(name: str, value: str | None) -> Callable[[etree._Element], None]:
    """Set the record's attribute ``name`` to ``value``, or remove it (None)."""

    def change(record: etree._Element) -> None:
        if value is None:
            del record.attrib[name]
        else:
            record.set(name, value)

    return change


def first_to_last(record: etree._Element) -> None:
    """The record's first child moved to its end (its fields out of order)."""
    record.append(record[0])
