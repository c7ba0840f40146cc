"""Checking an ``<import>`` document against import.xsd before it is sent: the whole batch
at once (the common case), and an item on its own to find which ones the case system would
refuse, so that one bad record does not make it refuse the whole document.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from hub.privacy import redact
from hub.xmlsafe import describe_invalid, load_schema, make_parser
from hub_municipal import mapping as m
from hub_municipal.xmlformat import ImportItem, import_root, record_children


@functools.cache
def _item_schema() -> etree.XMLSchema:
    """import.xsd for checking single items (an instance of its own: a validator keeps its
    error log, so it is used under :data:`_checking` only)."""
    return load_schema(m.IMPORT_XSD)


_checking = threading.Lock()
#: text an XML 1.0 document can hold
_XML_TEXT = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def _import_text(municipality: str, items: Iterable[ImportItem]) -> bytes:
    """An ``<import>`` document written as text (names from :mod:`.mapping`, values escaped
    by the standard library): a third faster than building it element by element, and
    :func:`valid_import` parses it back against the schema before it is sent."""
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{m.IMPORT_ROOT} xmlns={quoteattr(m.IMPORT_NS)} '
        f"{m.IMPORT_MUNICIPALITY_ATTR}={quoteattr(municipality)}>"
    ]
    for item in items:
        record_id = f" {m.RECORD_ID_ATTR}={quoteattr(item.record_id)}" if item.record_id else ""
        parts.append(f"<{item.element} {m.KEY_ATTR}={quoteattr(item.key)}{record_id}>")
        for name, text in record_children(item.element, item.fields):
            parts.append(f"<{name}>{escape(text)}</{name}>")
        parts.append(f"</{item.element}>")
    parts.append(f"</{m.IMPORT_ROOT}>")
    return "".join(parts).encode()


@functools.cache
def _validating_parser() -> etree.XMLParser:
    return make_parser(_item_schema())


def valid_import(municipality: str, items: list[ImportItem]) -> bytes | None:
    """The ``<import>`` document of ``items`` if it is valid against import.xsd, else None:
    one validation of the whole batch, the common case (:func:`item_problem` then finds
    which items are not)."""
    document = _import_text(municipality, items)
    with _checking:
        try:
            etree.fromstring(document, _validating_parser())
        except etree.XMLSyntaxError:  # not valid (or a value XML cannot hold)
            return None
    return document


def item_problem(municipality: str, item: ImportItem) -> tuple[str, str] | None:
    """(native field, what is wrong) when ``item`` alone is not valid against import.xsd,
    else None. Checked before sending, so that one bad record does not make the case system
    refuse the whole document. The description never quotes the record's values."""
    try:
        root = import_root(municipality, [item])
    except ValueError:  # lxml: a control character or the like in a value
        for name, text in record_children(item.element, item.fields):
            if not _XML_TEXT.fullmatch(text):
                return name, "contains characters an XML document cannot hold"
        return item.element, "contains characters an XML document cannot hold"
    schema = _item_schema()
    with _checking:
        if schema.validate(root):
            return None
        message = schema.error_log[0].message if schema.error_log else "not valid"
    values = {
        str(v)
        for value in item.fields.values()
        for v in (value if isinstance(value, list) else [value])
    }
    name, text = describe_invalid(message, values, item.element)
    return name, redact(text)
