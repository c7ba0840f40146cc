"""Kela's responses judged against their contract, ``schemas/kunta.xsd`` of this package.

The schema ships inside the package (a wheel carries it) and is loaded through
:mod:`importlib.resources`, once (:func:`validator`). Each record is validated on its own
against the global declaration of its name, so an invalid record is quarantined (a
:class:`~hub.adapter.ContractViolation`: the element to blame and what is wrong, values never
quoted) while the records around it flow. What is read of a record is kept whole
(:func:`record_data`): a field given twice as the list of its values, unknown children under
their names, never only the first of anything.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence
from typing import Any

from lxml import etree

from hub.adapter import ContractViolation
from hub.resources import PackagedFile
from hub.xmlsafe import FOREIGN_KEEP, Invalid, RecordValidator
from hub_kela import mapping as m

PACKAGE = "hub_kela"
SCHEMA_DIR, SCHEMA_FILE = "schemas", "kunta.xsd"
#: what a record's own text (text outside its children) is kept under
TEXT_KEY = "#text"
#: the prefix under which a record's attributes are kept
ATTRIBUTE_PREFIX = "@"

_KELA = f"{{{m.KELA_NS}}}"
_MISSING_CHILD = re.compile(r"^Missing child element\(s\)\. Expected is \( (\w+) \)")
_MISSING_ATTRIBUTE = re.compile(r"^The attribute '(\w+)' is required but missing")
_NOT_EXPECTED = re.compile(r"^This element is not expected\. Expected is \( (\w+) \)")
#: the lexical forms of a positive integer the schema accepts
_NUMBER = re.compile(r"\s*\+?([0-9]+)\s*")


@functools.cache
def validator() -> RecordValidator:
    """The validator of Kela's body schema (one for the process; it is thread-safe)."""
    # a real file even from a zip; a missing one is a ConfigError naming the distribution
    return RecordValidator(PackagedFile(PACKAGE, SCHEMA_DIR, SCHEMA_FILE).path())


def local(tag: str) -> str:
    """An element's name as kept: the local name in Kela's namespace, else ``{ns}name``."""
    return tag[len(_KELA) :] if tag.startswith(_KELA) else tag


def number_of(text: str | None) -> int | None:
    """The number a line or sequence number attribute gives (None: missing or not a
    number; 0 is a number here, though not a valid one)."""
    found = _NUMBER.fullmatch(text) if text is not None else None
    return int(found[1]) if found else None


def blamed(invalid: Invalid, own: str, order: Sequence[str] = ()) -> str:
    """The element or attribute to blame for ``invalid`` in a record named ``own`` whose
    fields come in ``order``: for a required child or attribute that is missing, that one
    rather than the record; for a field met where an earlier one of ``order`` was expected,
    the earlier one (it is missing). Otherwise the element libxml2 names: an unknown one,
    or one given twice."""
    if invalid.name == own:
        for pattern in (_MISSING_CHILD, _MISSING_ATTRIBUTE):
            if found := pattern.match(invalid.message):
                return found[1]
    found = _NOT_EXPECTED.match(invalid.message)
    if found and invalid.name in order and found[1] in order:
        if order.index(invalid.name) > order.index(found[1]):
            return found[1]
    return invalid.name


def violation(
    invalid: Invalid, own: str, where: str, order: Sequence[str] = ()
) -> ContractViolation:
    """``invalid`` as the contract violation of a record named ``own`` (fields in
    ``order``); ``where`` says where in the response it is (``line 7 of the 2026-10
    list``)."""
    line = f", response line {invalid.line}" if invalid.line else ""
    return ContractViolation(
        blamed(invalid, own, order),
        f"not valid against {m.PROVIDER}'s schema ({where}{line}): {invalid.message}",
    )


def why_invalid(
    elem: etree._Element, *, shallow: bool = False, order: Sequence[str] = ()
) -> str | None:
    """Why ``elem`` (a response element, its start tag alone with ``shallow``) is not valid
    against the schema, naming the element or attribute (a field missing before others of
    ``order``: that one, :func:`blamed`); None if it is."""
    check = validator().invalid_shallow if shallow else validator().invalid
    invalid = check(elem)
    if invalid is None:
        return None
    own = etree.QName(elem).localname
    line = f" (response line {invalid.line})" if invalid.line else ""
    return f"<{blamed(invalid, own, order)}>: {invalid.message}{line}"


def _value(child: etree._Element) -> str:
    """A child's text; a child with children of its own as its XML (capped)."""
    if len(child) == 0:
        return child.text or ""
    return etree.tostring(child, encoding="unicode", with_tail=False)[:FOREIGN_KEEP]


def record_data(elem: etree._Element, numbered: Collection[str] = ()) -> dict[str, Any]:
    """Everything ``elem`` holds, as read: each child's text under its name (a list of the
    texts when the child is given more than once), attributes other than ``numbered`` under
    ``@name``, text outside the children under ``#text``. For a record valid against the
    schema this is exactly its fields; for an invalid one, all there was to see."""
    data: dict[str, Any] = {}
    for name, value in elem.attrib.items():
        if name not in numbered:
            data[ATTRIBUTE_PREFIX + local(name)] = value
    stray = [elem.text] if elem.text and elem.text.strip() else []
    for child in elem:
        if child.tail and child.tail.strip():
            stray.append(child.tail)
        if not isinstance(child.tag, str):  # comments and PIs are dropped by the parser
            continue
        name, value = local(child.tag), _value(child)
        if name not in data:
            data[name] = value
        elif isinstance(data[name], list):
            data[name].append(value)
        else:
            data[name] = [data[name], value]
    if stray:
        data[TEXT_KEY] = "".join(stray)
    return data


def valid_record_data(elem: etree._Element) -> dict[str, str]:
    """The fields of a record valid against the schema (so: children of Kela's namespace,
    each once, text only, no other attribute than its number): :func:`record_data` for
    it, in a fraction of the time (a billing list has a million lines)."""
    skip = len(_KELA)
    return {child.tag[skip:]: child.text or "" for child in elem}


def foreign_record_data(xml: str) -> dict[str, Any]:
    """What is kept of an element no stream knows: its XML as it came."""
    return {"xml": xml}


def foreign_xml(elem: etree._Element) -> str:
    """An unknown element's XML (capped) for :func:`foreign_record_data`."""
    return etree.tostring(elem, encoding="unicode", with_tail=False)[:FOREIGN_KEEP]
