"""Adapter of a municipal social-welfare case system: reads its nightly XML exports by
streaming them through the validating parser, and delivers through its XML import endpoint.

Cursor (opaque to the engine): ``<export id>#<n>`` — n records of the stream in that export
are done; ``<export id>#done`` — the whole export is done.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hub.adapter import (
    Adapter,
    Batch,
    CheckResult,
    NativeRecord,
    StreamSpec,
    SystemConfig,
    WriteItem,
    WriteOutcome,
)
from hub.errors import ConfigError, DeliveryError, PermanentError
from hub.http import HttpService
from hub.model import CanonicalEntity
from hub.privacy import redact
from hub.xmlsafe import UnsafeXmlError, XmlSyntaxError
from hub_municipal import mapping as m
from hub_municipal.xmlformat import (
    DocumentError,
    ImportItem,
    import_document,
    item_problem,
    read_export,
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

    def exports(self) -> list[str]:
        """The ids of the exports the case system offers, oldest first."""
        _, body = self.http.request("GET", m.EXPORTS_PATH)
        try:
            listed = [e[m.LIST_ID] for e in json.loads(body)[m.LIST_EXPORTS]]
        except (ValueError, KeyError, TypeError):
            raise PermanentError(f"{m.SYSTEM}: {m.EXPORTS_PATH} is not a list of exports") from None
        if not all(isinstance(e, str) and "#" not in e for e in listed):
            raise PermanentError(f"{m.SYSTEM}: {m.EXPORTS_PATH} lists an invalid export id")
        return listed

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
        for export_id, skip in exports_to_read(self.exports(), cursor):
            yield from self._read_export(export_id, rt, skip, batch_size)

    def _read_export(
        self, export_id: str, rt: m.RecordType, skip: int, batch_size: int
    ) -> Iterator[Batch]:
        position, batch = 0, []
        try:
            with self.http.stream(
                "GET", f"{m.EXPORTS_PATH}/{export_id}", max_bytes=m.EXPORT_MAX_BYTES
            ) as (_, chunks):
                for record_id, fields in read_export(
                    chunks, rt.element, municipality=self.municipality
                ):
                    position += 1
                    if position <= skip:
                        continue
                    batch.append(NativeRecord(record_id, fields))
                    if len(batch) >= batch_size:
                        yield Batch(batch, encode_cursor(export_id, position))
                        batch = []
        except (XmlSyntaxError, UnsafeXmlError, DocumentError) as exc:
            raise PermanentError(
                f"{m.SYSTEM}: export {export_id} refused ({m.EXPORT_XSD.name}): {redact(exc)}"
            ) from None
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
            raise PermanentError(
                f"{m.SYSTEM}: the import response is not valid: {redact(exc)}"
            ) from None
        outcomes = {}
        for r in results:
            if r.status in (m.ACCEPTED, m.DUPLICATE):
                outcomes[r.key] = WriteOutcome.ok(r.key, native_id=r.record_id)
            else:
                reason = redact(r.reason or "no reason given")
                outcomes[r.key] = WriteOutcome.permanent(
                    r.key, f"{m.SYSTEM}/{stream}: the case system rejected the record: {reason}"
                )
        return outcomes
