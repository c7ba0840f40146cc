"""Adapter of a municipal social-welfare case system: reads its nightly XML exports by
streaming them through the validating parser, and delivers through its XML import endpoint.

Cursor (opaque to the engine): ``<export id>#<n>`` — n records of the stream in that export
are done; ``<export id>#done`` — the whole export is done.

An export is done only when it was read whole: its document ended (no premature end), it is
the export it was listed as (``exportId``), of this municipality, and it held as many
records of each kind (and bytes) as the export listing declared. Anything less is a
:class:`~hub.errors.TransientError` naming the export: the records read so far are kept
(each one whole and valid), the export is not marked done, and the next run reads on from
where this one stopped. A record that is not valid against export.xsd, and an element of no
known kind among the records, fails alone (a dead letter) while the rest flows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub import jsonsafe
from hub.adapter import (
    Adapter,
    Batch,
    CheckResult,
    ContractViolation,
    NativeRecord,
    StreamSpec,
    SystemConfig,
    WriteItem,
    WriteOutcome,
)
from hub.errors import ConfigError, DeliveryError, PermanentError, TransientError
from hub.http import HttpService
from hub.model import CanonicalEntity
from hub.privacy import redact
from hub.xmlsafe import IncompleteXmlError, UnsafeXmlError, XmlSyntaxError
from hub_municipal import mapping as m
from hub_municipal.xmlformat import (
    DocumentError,
    ExportMismatch,
    ExportReader,
    ImportItem,
    import_document,
    item_problem,
    read_response,
    valid_import,
)

DONE = "done"
_CURSOR = re.compile(r"^(?P<export>[^#]+)#(?P<position>\d+|done)$")


def encode_cursor(export_id: str, position: int | None) -> str:
    """``EXPORT#N`` (N records of the stream in EXPORT done) or ``EXPORT#done`` (None)."""
    return f"{export_id}#{DONE if position is None else position}"


def decode_cursor(cursor: str) -> tuple[str, int | None]:
    """(export id, records done in it, or None when the whole export is done)."""
    match = _CURSOR.match(cursor)
    if not match:
        raise PermanentError(f"{m.SYSTEM}: not a cursor of this adapter: {cursor!r}")
    position = match["position"]
    return match["export"], None if position == DONE else int(position)


def exports_to_read(exports: Sequence[str], cursor: str | None) -> list[tuple[str, int]]:
    """(export id, records of the stream to skip) for every export left after ``cursor``."""
    if cursor is None:
        return [(e, 0) for e in exports]
    start, done = decode_cursor(cursor)
    if start not in exports:  # purged from the list: carry on with the later ones
        return [(e, 0) for e in exports if e > start]
    later = [(e, 0) for e in exports[exports.index(start) + 1 :]]
    return later if done is None else [(start, done), *later]


#: an export id as a cursor and a URL path segment can hold it
_EXPORT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)


@dataclass(frozen=True)
class Listed:
    """An export as the listing declares it: its id, and what it holds when the listing
    says (records of each kind, all records, bytes)."""

    id: str
    counts: Mapping[str, int] | None = None
    records: int | None = None
    bytes: int | None = None

    def differences(self, counts: Mapping[str, int], size: int) -> list[str]:
        """How a document that held ``counts`` records and ``size`` bytes differs from this
        declaration (empty: it does not)."""
        found = []
        if self.counts is not None:
            for kind in sorted(set(self.counts) | {k for k, n in counts.items() if n}):
                declared, held = self.counts.get(kind, 0), counts.get(kind, 0)
                if declared != held:
                    found.append(f"{declared} <{kind}> declared, {held} held")
        total = sum(counts.values())
        if self.records is not None and self.records != total:
            found.append(f"{self.records} records declared, {total} held")
        if self.bytes is not None and self.bytes != size:
            found.append(f"{self.bytes} bytes declared, {size} received")
        return found


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


class MunicipalAdapter(Adapter):
    """Streams clients, service episodes and activation plans (read and write), attendance
    weeks and assessments (read), Kela's billing lines, benefit days and notices (write).

    Options: ``municipality_code`` (required): the municipality whose case system this is;
    exports of another municipality are refused and imports are addressed to it.
    """

    system_id = m.SYSTEM
    title = m.TITLE
    streams = {
        stream: StreamSpec(
            rt.entity,
            readable=rt.exported,
            writable=rt.imported,
            description=f"<{rt.element}> records",
            carries=rt.carries(),
        )
        for stream, rt in m.RECORD_TYPES.items()
    }

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        self.municipality = str(config.options.get(m.OPTION_MUNICIPALITY, ""))
        if not re.fullmatch(r"\d{3}", self.municipality):
            raise ConfigError(
                f"systems.{config.system}.options.{m.OPTION_MUNICIPALITY}: "
                "a three-digit municipality code is required"
            )
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

    def read(self, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        rt = m.record_type(stream)
        if not rt.exported:
            raise PermanentError(f"{m.SYSTEM}: {stream} is not in the nightly export")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        listed = {e.id: e for e in self.listing()}
        for export_id, skip in exports_to_read(list(listed), cursor):
            yield from self._read_export(listed[export_id], rt, skip, batch_size)

    def _read_export(
        self, listed: Listed, rt: m.RecordType, skip: int, batch_size: int
    ) -> Iterator[Batch]:
        """The records of one export after the first ``skip``; the export is done (its
        last batch carries the ``done`` cursor) only once it was read whole."""
        export_id = listed.id
        where = f"{m.SYSTEM}: export {export_id}"
        position, batch = 0, []
        try:
            with self.http.stream(
                "GET", f"{m.EXPORTS_PATH}/{export_id}", max_bytes=m.EXPORT_MAX_BYTES
            ) as (_, chunks):
                reader = ExportReader(
                    chunks, rt.element, export_id=export_id, municipality=self.municipality
                )
                for item in reader:
                    if item.foreign:  # not a record of the stream: not counted, but kept
                        if position < skip:  # with the batch it came in, committed already
                            continue
                    else:
                        position += 1
                        if position <= skip:
                            continue
                    problem = ContractViolation(*item.problem) if item.problem else None
                    batch.append(NativeRecord(item.record_id, item.fields, problem))
                    if len(batch) >= batch_size:
                        yield Batch(batch, encode_cursor(export_id, position))
                        batch = []
        except (IncompleteXmlError, ExportMismatch) as exc:
            raise TransientError(
                f"{where} is not whole ({redact(exc)}): not taken as complete; the next run "
                "reads it again"
            ) from None
        except (XmlSyntaxError, UnsafeXmlError, DocumentError) as exc:
            raise PermanentError(f"{where} refused ({m.EXPORT_XSD.name}): {redact(exc)}") from None
        differences = listed.differences(reader.counts, reader.bytes)
        if differences:
            if batch:  # whole, valid records: kept, and the export read on from after them
                yield Batch(batch, encode_cursor(export_id, position))
            raise TransientError(
                f"{where} does not hold what the listing declares ({'; '.join(differences)}): "
                "not taken as complete; the next run reads it again"
            )
        yield Batch(batch, encode_cursor(export_id, None))

    def to_canonical(self, stream: str, record: NativeRecord) -> CanonicalEntity:
        return m.to_canonical(stream, record.native_id, record.data)

    def to_native(self, stream: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return m.to_native(stream, record)

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Deliver ``items`` in one ``<import>`` document. A record the case system would
        refuse for a missing or invalid field is refused here, naming the field, so that it
        does not fail the rest of the batch; an idempotency key given twice is sent once."""
        rt = m.record_type(stream)
        if not rt.imported:
            raise PermanentError(f"{m.SYSTEM}: the import does not take {stream}")
        outcomes: dict[str, WriteOutcome] = {}
        sendable: dict[str, ImportItem] = {}
        for item in items:
            key = item.idempotency_key
            if key in outcomes or key in sendable:
                continue
            missing = m.missing_required(stream, item.payload)
            if missing:
                names = ", ".join(f"{f.native} ({f.canonical})" for f in missing)
                outcomes[key] = WriteOutcome.permanent(
                    key,
                    f"{m.SYSTEM}/{stream}: the case system requires {names}, which the "
                    "record lacks or the exchange may not send",
                )
                continue
            sendable[key] = ImportItem(rt.element, key, item.native_id, dict(item.payload))
        document = valid_import(self.municipality, list(sendable.values())) if sendable else None
        if sendable and document is None:
            for key, imported in list(sendable.items()):  # which ones: each on its own
                problem = item_problem(self.municipality, imported)
                if problem:
                    del sendable[key]
                    outcomes[key] = WriteOutcome.permanent(
                        key,
                        f"{m.SYSTEM}/{stream}: {m.describe(stream, problem[0])} is not valid "
                        f"for the case system ({m.IMPORT_XSD.name}): {problem[1]}",
                    )
        if sendable:
            if document is None:
                document = import_document(self.municipality, list(sendable.values()))
            outcomes.update(self._post(stream, document))
        return [
            outcomes.get(i.idempotency_key)
            or WriteOutcome.transient(i.idempotency_key, "the case system returned no result")
            for i in items
        ]

    def _post(self, stream: str, document: bytes) -> dict[str, WriteOutcome]:
        _, body = self.http.request(
            "POST", m.IMPORT_PATH, content=document, headers={"Content-Type": "application/xml"}
        )
        try:
            results = read_response(body)
        except (XmlSyntaxError, UnsafeXmlError, DocumentError) as exc:
            # the import may have been applied: sending it again with the same keys is safe
            raise TransientError(
                f"{m.SYSTEM}: the answer to the import cannot be read ({redact(exc)}); the "
                "records may have been stored, and are sent again with the same keys"
            ) from None
        outcomes = {}
        for r in results:
            if r.status not in (m.ACCEPTED, m.DUPLICATE, m.REJECTED):
                continue  # no verdict: left without a result, which is transient
            if r.status in (m.ACCEPTED, m.DUPLICATE):
                outcomes[r.key] = WriteOutcome.ok(r.key, native_id=r.record_id)
            else:
                reason = redact(r.reason or "no reason given")
                outcomes[r.key] = WriteOutcome.permanent(
                    r.key, f"{m.SYSTEM}/{stream}: the case system rejected the record: {reason}"
                )
        return outcomes
