"""Reading the case system's nightly exports as they stream in, one kind of record at a
time, each record checked on its own against export.xsd.

Every parse goes through :mod:`hub.xmlsafe`; the XSD as a whole is never given to the
streaming parser (see there).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from lxml import etree

from hub.xmlsafe import ElementStream, Foreign, RecordValidator, XmlContractError, XmlSyntaxError
from hub_municipal import mapping as m
from hub_municipal.xmlformat import DocumentError, fields_as_read, localname, qname, record_fields

#: the most of an invalid record's XML kept for its dead letter
KEEP_XML = 64 * 1024


class ExportMismatch(DocumentError):
    """The document is not the export it was asked for (its ``exportId`` differs)."""


class ExportItem(NamedTuple):
    """One record of an export read for a stream: the case system's id, its fields and,
    when it breaks the export's contract, what is wrong (then ``fields`` keeps everything
    that was read, and ``fields["_xml"]`` the record as it came)."""

    record_id: str
    fields: dict[str, Any]
    problem: tuple[str, str] | None = None
    #: an element of no known kind among the records (not a record of the stream's kind)
    foreign: bool = False


@functools.cache
def _exported() -> tuple[str, ...]:
    """The record elements of the export."""
    return tuple(rt.element for rt in m.RECORD_TYPES if rt.exported)


@functools.cache
def _record_validator() -> RecordValidator:
    return RecordValidator(m.EXPORT_XSD)


class ExportReader:
    """An export streamed for one kind of record, checked in parts (the XSD as a whole is
    never given to the streaming parser, see :mod:`hub.xmlsafe`):

    - the start tag: valid (``exportId``, ``municipality``, ``generated``), the export id
      the one asked for, every municipality it names one the adapter's system serves;
    - each record of the kind on its own against its declaration in export.xsd: an
      invalid record is yielded with its problem (it becomes a dead letter; the others flow);
    - every element among the records that is none of the export's kinds is yielded as a
      record with a problem too (it may be a record of any kind: nothing is dropped unseen);
    - the document must end: :class:`hub.xmlsafe.IncompleteXmlError` if it stops short.

    After the iteration ``counts`` holds the records of each kind the document held, for
    the adapter to compare with what the export listing declared. Raises
    :class:`DocumentError` (a municipality not served), :class:`ExportMismatch` (another export)
    and the errors of :mod:`hub.xmlsafe`.
    """

    def __init__(
        self,
        chunks: Iterable[bytes],
        element: str,
        *,
        export_id: str | None = None,
        municipalities: str | Sequence[str] | None = None,
    ):
        self.element, self.export_id = element, export_id
        if isinstance(municipalities, str):
            municipalities = (municipalities,)
        self.municipalities = None if municipalities is None else tuple(municipalities)
        others = [qname(m.EXPORT_NS, e) for e in _exported() if e != element]
        self.stream = ElementStream(
            chunks,
            qname(m.EXPORT_NS, element),
            siblings=others,
            max_bytes=m.EXPORT_MAX_BYTES,
            foreign=True,
        )
        self._checked = False
        self._where = f"{export_id}/" if export_id else ""
        #: elements among the records of no known kind, by name
        self.foreign: dict[str, int] = {}

    @property
    def counts(self) -> dict[str, int]:
        """Elements among the records of each name (the export's kinds and any other) the
        document held."""
        counts = {localname(tag): n for tag, n in self.stream.counts.items()}
        for name, n in self.foreign.items():
            counts[name] = counts.get(name, 0) + n
        return counts

    @property
    def bytes(self) -> int:
        return self.stream.bytes

    def __iter__(self) -> Iterator[ExportItem]:
        validator = _record_validator()
        for item in self.stream:
            if not self._checked:
                self._check_root()
            if isinstance(item, Foreign):
                self.foreign[item.name] = self.foreign.get(item.name, 0) + 1
                yield self._foreign(item)
                continue
            record_id = item.get(m.RECORD_ID_ATTR) or f"{self._where}line-{item.sourceline}"
            invalid = validator.invalid(item)
            if invalid is None:
                yield ExportItem(record_id, record_fields(item))
                continue
            fields = fields_as_read(item)
            fields["_xml"] = etree.tostring(item, encoding="unicode", with_tail=False)[:KEEP_XML]
            where = f" (line {invalid.line})" if invalid.line else ""
            message = f"not valid against {m.EXPORT_XSD.name}{where}: {invalid.message}"
            yield ExportItem(record_id, fields, (invalid.name, message))
        if not self._checked:  # an export without records
            self._check_root()

    def _check_root(self) -> None:
        root = self.stream.root
        self._checked = True
        if (
            root is None
            or etree.QName(root).localname != m.EXPORT_ROOT
            or (etree.QName(root).namespace != m.EXPORT_NS)
        ):
            name = etree.QName(root).text if root is not None else "none"
            raise XmlContractError(f"the root element is {name}, not <{m.EXPORT_ROOT}>")
        invalid = _record_validator().invalid_shallow(root)
        if invalid is not None:
            raise XmlContractError(f"<{m.EXPORT_ROOT}> {invalid.name}: {invalid.message}")
        found = root.get(m.EXPORT_ID_ATTR)
        if self.export_id is not None and found != self.export_id:
            raise ExportMismatch(f"the document is export {found}, not {self.export_id}")
        served = self.municipalities
        for found in (root.get(m.EXPORT_MUNICIPALITY_ATTR) or "").split():
            if served is not None and found not in served:
                raise DocumentError(
                    f"the export is of municipality {found}, which this system does not serve "
                    f"({', '.join(served)})"
                )

    def _foreign(self, item: Foreign) -> ExportItem:
        where = f"line {item.line}" if item.line else "somewhere"
        return ExportItem(
            f"{self._where}{item.name}@line-{item.line}",
            {"_xml": item.xml},
            (item.name, f"<{item.name}> ({where}) is none of the export's records"),
            foreign=True,
        )


def read_export(
    chunks: Iterable[bytes], element: str, *, municipalities: Sequence[str] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, fields) of each valid ``element`` record of an export (:class:`ExportReader`);
    a record that is not valid raises :class:`hub.xmlsafe.XmlSyntaxError` naming it."""
    for item in ExportReader(chunks, element, municipalities=municipalities):
        if item.problem is not None:
            raise XmlSyntaxError(f"record {item.record_id}, {item.problem[0]}: {item.problem[1]}")
        yield item.record_id, item.fields
