"""Adapter of a municipal social-welfare case system: the connection. It lists the nightly
XML exports, streams one export through the validating parser for a stream, and posts
``<import>`` documents to the XML import endpoint. The streams themselves are in
:mod:`.streams`; the exports are paged by :mod:`hub.paging.listing`.

An export is done only when it was read whole: its document ended (no premature end), it is
the export it was listed as (``exportId``), of municipalities this system serves, and it held
as many records of each kind (and bytes) as the export listing declared. Anything less is a
:class:`~hub.errors.TransientError` naming the export: the records read so far are kept
(each one whole and valid), the export is not marked done, and the next run reads on from
where this one stopped. A record that is not valid against export.xsd, and an element of no
known kind among the records, fails alone (a dead letter) while the rest flows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hub import codelists, jsonsafe
from hub.adapter import (
    Adapter,
    CheckResult,
    ContractViolation,
    NativeRecord,
    RunContext,
    SystemConfig,
)
from hub.errors import DeliveryError, PermanentError, TransientError
from hub.http import HttpService
from hub.paging.listing import Entry, Listed, NotWhole
from hub.privacy import redact
from hub.xmlsafe import IncompleteXmlError, UnsafeXmlError, XmlSyntaxError
from hub_municipal import mapping as m
from hub_municipal.export_reader import ExportMismatch, ExportReader
from hub_municipal.streams import STREAMS
from hub_municipal.xmlformat import DocumentError, ImportResult, read_response

#: an export id as a cursor and a URL path segment can hold it
_EXPORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def parse_listing(body: bytes) -> list[Listed]:
    """The export listing, read strictly: any flaw makes the listing unusable."""
    what = f"{m.SYSTEM}: {m.EXPORTS_PATH}"
    try:
        page = jsonsafe.parse(body, what=what)
    except jsonsafe.IncompleteJsonError as exc:
        raise TransientError(str(exc)) from None
    except jsonsafe.JsonDocumentError as exc:
        raise PermanentError(str(exc)) from None
    problem = jsonsafe.flaw(page)
    entries = page.get(m.LIST_EXPORTS) if isinstance(page, dict) else None
    if problem is not None or not isinstance(entries, list):
        why = f"{problem.field}: {problem.message}" if problem else "no list of exports"
        raise PermanentError(f"{what} is not a valid export listing ({why})")
    listed = []
    for i, entry in enumerate(entries):
        export_id = entry.get(m.LIST_ID) if isinstance(entry, dict) else None
        if not isinstance(export_id, str) or not _EXPORT_ID.fullmatch(export_id):
            raise PermanentError(f"{what}: export #{i + 1} has no valid id")
        counts = entry.get(m.LIST_COUNTS)
        records, size = entry.get(m.LIST_RECORDS), entry.get(m.LIST_BYTES)
        if not (
            (counts is None or (isinstance(counts, dict) and all(map(_count, counts.values()))))
            and (records is None or _count(records))
            and (size is None or _count(size))
        ):
            raise PermanentError(f"{what}: export {export_id}: a count is not a whole number")
        listed.append(Listed(export_id, counts, records, size))
    ids = [e.id for e in listed]
    if len(set(ids)) != len(ids):
        raise PermanentError(f"{what} lists an export twice")
    return listed


def municipality_codes(config: SystemConfig) -> tuple[str, ...]:
    """The codes of ``municipality_codes`` (a list) or ``municipality_code`` (one): exactly
    one of the two options, each code three digits and a municipality in force on THL's code
    list (:mod:`hub.codelists`), none twice; a :class:`ConfigError` naming the option
    otherwise."""
    return codelists.municipality_option(
        config,
        m.OPTION_MUNICIPALITIES,
        m.OPTION_MUNICIPALITY,
        "the municipalities whose data the system holds",
    )


class ExportDocument:
    """An export opened for one kind of record, as :mod:`hub.paging.listing` reads it: its
    records in order (an element of no known kind among them is an uncounted entry), and
    once they are read, what it held. A document that is cut short or is another export is
    :class:`NotWhole`; one this adapter refuses (not export.xsd's, unsafe, another
    municipality's) a :class:`PermanentError` naming it."""

    def __init__(
        self, chunks: Iterable[bytes], element: str, export_id: str, municipalities: Sequence[str]
    ):
        self.export_id = export_id
        self.reader = ExportReader(
            chunks, element, export_id=export_id, municipalities=municipalities
        )

    @property
    def counts(self) -> dict[str, int]:
        return self.reader.counts

    @property
    def bytes(self) -> int:
        return self.reader.bytes

    def __iter__(self) -> Iterator[Entry]:
        try:
            for item in self.reader:
                problem = ContractViolation(*item.problem) if item.problem else None
                yield NativeRecord(item.record_id, item.fields, problem), not item.foreign
        except (IncompleteXmlError, ExportMismatch) as exc:
            raise NotWhole(str(exc)) from None
        except (XmlSyntaxError, UnsafeXmlError, DocumentError) as exc:
            raise PermanentError(
                f"{m.SYSTEM}: export {self.export_id} refused ({m.EXPORT_XSD.name}): {redact(exc)}"
            ) from None


class MunicipalAdapter(Adapter):
    """Streams clients, service episodes and activation plans (read and write), attendance
    weeks, assessments, follow-ups, feedback, disclosure prohibitions and income support
    months (read), Kela's billing lines, benefit days and notices, and what the hub
    derives: activation-plan obligations and the disputed lines of Kela's bill (write).

    Options (one of the two is required): ``municipality_codes``, the three-digit codes of
    the municipalities whose data this system holds (a wellbeing services county's case
    system lists all of its municipalities), or ``municipality_code``, one code (a
    municipality's own system). An export naming a municipality not among them is refused.
    An import is addressed to the first code, the system's own address; each of Kela's
    records in it names its municipality, which the case system checks against the ones it
    serves.
    """

    system_id = m.SYSTEM
    title = m.TITLE
    streams = STREAMS
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            m.OPTION_MUNICIPALITIES: {
                "type": "array",
                "items": {"type": "string", "pattern": "^[0-9]{3}$"},
                "minItems": 1,
                "uniqueItems": True,
            },
            m.OPTION_MUNICIPALITY: {"type": "string", "pattern": "^[0-9]{3}$"},
        },
        "oneOf": [{"required": [m.OPTION_MUNICIPALITIES]}, {"required": [m.OPTION_MUNICIPALITY]}],
        "description": f"give exactly one of {m.OPTION_MUNICIPALITIES} (three-digit codes) "
        f"and {m.OPTION_MUNICIPALITY} (one)",
    }

    def __init__(self, config: SystemConfig, context: RunContext | None = None):
        super().__init__(config, context)
        #: the municipalities whose data the system holds; the first is its own address
        self.municipalities = municipality_codes(config)
        self.municipality = self.municipalities[0]
        self.http = HttpService(config, headers={"Accept": "application/json, application/xml"})

    def close(self) -> None:
        self.http.close()

    def listing(self) -> list[Listed]:
        """The exports the case system offers, oldest first, as its listing declares them."""
        _, body = self.http.request("GET", m.EXPORTS_PATH, max_bytes=m.LISTING_MAX_BYTES)
        return parse_listing(body)

    def exports(self) -> list[str]:
        """The ids of the exports the case system offers, oldest first."""
        return [e.id for e in self.listing()]

    def check(self) -> CheckResult:
        try:
            exports = self.exports()
        except DeliveryError as exc:
            return CheckResult(False, str(exc))
        latest = exports[-1] if exports else "none"
        return CheckResult(True, f"{len(exports)} exports available, latest {latest}")

    @contextmanager
    def export(self, listed: Listed, element: str) -> Iterator[ExportDocument]:
        """The export ``listed``, streamed for its ``element`` records (closed on leaving)."""
        with self.http.stream(
            "GET", f"{m.EXPORTS_PATH}/{listed.id}", max_bytes=m.EXPORT_MAX_BYTES
        ) as (_, chunks):
            yield ExportDocument(chunks, element, listed.id, self.municipalities)

    def post_import(self, document: bytes) -> list[ImportResult]:
        """Post an ``<import>`` document; the case system's result for each item."""
        _, body = self.http.request(
            "POST", m.IMPORT_PATH, content=document, headers={"Content-Type": "application/xml"}
        )
        try:
            return read_response(body)
        except (XmlSyntaxError, UnsafeXmlError, DocumentError) as exc:
            # the import may have been applied: sending it again with the same keys is safe
            raise TransientError(
                f"{m.SYSTEM}: the answer to the import cannot be read ({redact(exc)}); the "
                "records may have been stored, and are sent again with the same keys"
            ) from None
