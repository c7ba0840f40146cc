"""Adapter of a municipal case system: reads its nightly XML exports by streaming, validated
against the XSD, and delivers through its XML import endpoint."""

from __future__ import annotations

import json
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
from hub.errors import DeliveryError, PermanentError
from hub.http import HttpService
from hub.model import CanonicalEntity
from hub.xmlsafe import UnsafeXmlError, XmlSyntaxError, iter_elements
from hub_municipal import mapping
from hub_municipal.xmlformat import import_document, q, read_results, record_fields, schema

DONE = "done"


def encode_cursor(export_id: str, position: int | str) -> str:
    """``EXPORT#N``: N records of the stream in EXPORT are stored; ``EXPORT#done``: all."""
    return f"{export_id}#{position}"


def decode_cursor(cursor: str | None) -> tuple[str | None, int | None]:
    """(export id, records done in it; None when the export is done)."""
    if not cursor:
        return None, 0
    export_id, _, position = cursor.rpartition("#")
    if not export_id:
        raise PermanentError(f"municipal: not a cursor of this adapter: {cursor!r}")
    return export_id, None if position == DONE else int(position)


class MunicipalAdapter(Adapter):
    system_id = "municipal"
    title = "Municipal social-welfare case system (nightly XML export, XML import)"
    streams = {
        stream: StreamSpec(rt.entity, readable=True, writable=True, description=rt.element)
        for stream, rt in mapping.RECORD_TYPES.items()
    }

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        self.http = HttpService(config, headers={"Accept": "application/xml, application/json"})

    def close(self) -> None:
        self.http.close()

    def _exports(self) -> list[str]:
        _, body = self.http.request("GET", mapping.EXPORTS_PATH)
        try:
            return [e["id"] for e in json.loads(body)["exports"]]
        except (ValueError, KeyError, TypeError):
            raise PermanentError("municipal: the export list is not {exports: [{id}]}") from None

    def check(self) -> CheckResult:
        try:
            exports = self._exports()
        except DeliveryError as exc:
            return CheckResult(False, str(exc))
        return CheckResult(True, f"{len(exports)} exports available")

    def read(self, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        rt = mapping.RECORD_TYPES[stream]
        exports = self._exports()
        start, done = decode_cursor(cursor)
        if start is None:
            todo = exports
        elif start in exports:
            todo = exports[exports.index(start) + (1 if done is None else 0) :]
        else:  # the export has been purged: continue with those after it
            todo = [e for e in exports if e > start]
        for export_id in todo:
            skip = done if (export_id == start and done) else 0
            yield from self._read_export(export_id, rt, skip, batch_size)

    def _read_export(
        self, export_id: str, rt: mapping.RecordType, skip: int, batch_size: int
    ) -> Iterator[Batch]:
        position, batch = 0, []
        try:
            with self.http.stream("GET", f"{mapping.EXPORTS_PATH}/{export_id}") as (_, chunks):
                for elem in iter_elements(chunks, q(rt.element), schema=schema()):
                    position += 1
                    if position <= skip:
                        continue
                    batch.append(NativeRecord(elem.get("id"), record_fields(elem)))
                    if len(batch) >= batch_size:
                        yield Batch(batch, encode_cursor(export_id, position))
                        batch = []
        except (XmlSyntaxError, UnsafeXmlError) as exc:
            raise PermanentError(
                f"municipal: export {export_id} refused against {mapping.XSD.name}: {exc}"
            ) from None
        yield Batch(batch, encode_cursor(export_id, DONE))

    def to_canonical(self, stream: str, record: NativeRecord) -> CanonicalEntity:
        return mapping.to_canonical(stream, record.native_id, record.data)

    def to_native(self, stream: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return mapping.to_native(stream, record)

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        rt = mapping.RECORD_TYPES[stream]
        outcomes: dict[str, WriteOutcome] = {}
        sendable = []
        for item in items:
            missing = mapping.missing_required(stream, item.payload)
            if missing:  # refused here, so that one bad record does not fail the batch
                outcomes[item.idempotency_key] = WriteOutcome.permanent(
                    item.idempotency_key,
                    f"the case system requires {', '.join(missing)}, which the record lacks "
                    "(or the exchange may not send)",
                )
            else:
                sendable.append((rt.element, item.idempotency_key, item.native_id, item.payload))
        if sendable:
            _, body = self.http.request(
                "POST",
                mapping.IMPORT_PATH,
                content=import_document(sendable),
                headers={"Content-Type": "application/xml"},
            )
            try:
                results = read_results(body)
            except (XmlSyntaxError, UnsafeXmlError) as exc:
                raise PermanentError(f"municipal: the import result is not valid: {exc}") from None
            for key, status, record_id, reason in results:
                if status in ("accepted", "duplicate"):
                    outcomes[key] = WriteOutcome.ok(key, native_id=record_id)
                else:
                    outcomes[key] = WriteOutcome.permanent(key, reason or "rejected")
        return [
            outcomes.get(i.idempotency_key)
            or WriteOutcome.transient(i.idempotency_key, "no result returned for this record")
            for i in items
        ]
