"""Sandbox of a municipal social-welfare case system: nightly XML exports and an XML import.

Protocol (names from :mod:`hub_municipal.mapping`):

- ``GET  /exports``          the exports, oldest first, as JSON:
  ``{"exports": [{"id": "2026-11-20", "records": 130, "counts": {"client": 40, ...}}]}``
- ``GET  /exports/{id}``     one export, valid against export.xsd, generated while it is sent
  (chunked); 404 for an unknown id
- ``POST /import``           an ``<import>`` document (import.xsd); 400 with the reason when it
  is not valid; otherwise an ``<importResponse>`` with one result per item. A repeated
  idempotency key returns the earlier result and creates nothing (only accepted items use up
  their key, so a rejected item may be delivered again). Accepted items get the case
  system's id (``E-100001``), or update the record whose id they carry. An item is
  rejected, its result naming the element and the field, for an invalid identity code, an
  unknown id to update, a Kela record or a dispute of Kela's bill addressed to a
  municipality the system does not serve, a billing line whose days or amounts do not add
  up, a dispute whose days do not, or an activation-plan obligation due before it arose or
  whose plan date disagrees with whether it has a plan (:mod:`.sandbox_checks`). Kela's
  records (billing lines, benefit days, notices) and the hub's (activation-plan
  obligations, bill disputes) are kept but not exported.

Municipalities: the system serves ``municipality_codes`` (a wellbeing services county's
case system: several), or else the one ``municipality``. Its exports name them all (the
``municipality`` attribute, separated by spaces); an import must be addressed to one of
them, and each of Kela's records and each bill dispute in it to one of them.

Control (besides the common ``/_sandbox`` API of :mod:`hub.sandbox`):

- ``POST /_sandbox/nightly`` run the nightly job now: close a new export (the next night's
  date) with every record imported or changed since the last one; answers
  ``{"exportId": ..., "records": n}``;
- ``GET  /_sandbox/received`` the accepted import items, one per idempotency key:
  ``{"idempotency_key", "idempotencyKey", "kind" (element name), "id", **fields}``;
- ``POST /_sandbox/records`` add or replace records of the next nightly export, as the case
  system records what happened late (a Kykyviisari assessment filled in after the episode's
  figures were published, an outcome or a follow-up entered weeks later): a JSON list of
  ``{"kind": <element name>, "id": <optional>, "fields": {<element>: text or list of text}}``,
  each a record of the export (``episode``, ``assessment``, ``followUp``, ``feedback``, ...)
  valid against export.xsd. A record with an ``id`` replaces that record (a seeded one too:
  the hub reads a new version of it), one without gets a new id (``K-100001``); answers
  ``{"records": [{"kind", "id"}]}``, or 400 naming the first record refused (nothing is
  added then). They are exported by the next ``POST /_sandbox/nightly``, with what was
  imported since the last one; a reset forgets them.

Recorded exports: with ``export_dir`` the sandbox offers, after its seeded ones, every
``<id>.xml`` file in that folder (listed at each request, oldest id first) and serves it
from disk as it is, chunked; the listing then counts only its size in bytes. Benchmarks
and tests drop real-sized or hand-written exports there.

Faults: every protocol request counts for 429/503/slow; ``malformed_every`` corrupts the
records of every n-th person (still valid XML, but the episode ends before it starts and the
other records carry an identity code with a wrong check character); ``reject_writes``
rejects every import item.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from stdnum.fi import hetu as stdnum_hetu

from hub.sandbox import FaultState, control_routes
from hub.xmlsafe import UnsafeXmlError, XmlSyntaxError, parse_bytes
from hub_municipal import data, seeded
from hub_municipal import mapping as m
from hub_municipal.sandbox_checks import record_problem
from hub_municipal.xmlformat import (
    DocumentError,
    ExportRecord,
    ImportItem,
    ImportResult,
    export_chunks,
    export_schema,
    read_import,
    response_document,
)

XML = "application/xml"
MAX_IMPORT_BYTES = 16 * 1024 * 1024
RECORDED_CHUNK = 256 * 1024


class CaseSystem:
    """The sandbox's state: seeded exports (generated on demand) plus what was imported."""

    def __init__(
        self,
        seed: int,
        size: int,
        municipalities: Sequence[str],
        faults: FaultState,
        export_dir: Path | None = None,
    ):
        self.seed, self.size, self.faults = seed, size, faults
        self.municipalities = tuple(municipalities)
        self.export_dir = export_dir
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.results: dict[str, str] = {}  # idempotency key -> id of the accepted record
            self.received_items: dict[str, dict[str, Any]] = {}  # key -> accepted item
            self.records: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (element, fields)
            self.pending: dict[str, None] = {}  # ids changed since the last export, in order
            self.nightly_exports: dict[str, list[ExportRecord]] = {}
            self.next_number = data.first_import_number(self.size)

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received_items.values())

    def exports(self) -> list[dict[str, Any]]:
        listed = []
        for index, export_id in enumerate(data.EXPORT_IDS):
            listed.append(_listing(export_id, seeded.export_counts(self.size, index)))
        with self.lock:
            for export_id, records in self.nightly_exports.items():
                counts = {rt.element: 0 for rt in m.RECORD_TYPES if rt.exported}
                for element, _, _ in records:
                    counts[element] += 1
                listed.append(_listing(export_id, counts))
        for path in self._recorded():
            listed.append({m.LIST_ID: path.stem, "bytes": path.stat().st_size})
        return listed

    def _recorded(self) -> list[Path]:
        if self.export_dir is None:
            return []
        return sorted(self.export_dir.glob("*.xml"), key=lambda p: p.stem)

    def _recorded_chunks(self, path: Path) -> Iterator[bytes]:
        with path.open("rb") as fh:
            while block := fh.read(RECORDED_CHUNK):
                yield block

    def export_body(self, export_id: str) -> Iterator[bytes] | None:
        """The export's chunks, generated lazily; None if there is no such export."""
        if export_id in data.EXPORT_IDS:
            index = data.EXPORT_IDS.index(export_id)
            records = seeded.export_records(
                self.seed, self.size, index, self.faults.is_malformed, self.municipalities
            )
        else:
            with self.lock:
                found = self.nightly_exports.get(export_id)
            if found is None:
                recorded = {p.stem: p for p in self._recorded()}
                if export_id in recorded:
                    return self._recorded_chunks(recorded[export_id])
                return None
            records = iter(found)
        generated = export_id + data.GENERATED_AT
        return export_chunks(export_id, " ".join(self.municipalities), generated, records)

    def import_items(self, items: list[ImportItem]) -> list[ImportResult]:
        results = []
        with self.lock:
            for item in items:
                results.append(self._import(item))
        return results

    def _import(self, item: ImportItem) -> ImportResult:
        if item.key in self.results:
            return ImportResult(item.key, m.DUPLICATE, self.results[item.key], "")
        problem = self._problem(item)
        if problem:
            return ImportResult(item.key, m.REJECTED, None, problem)
        rid = item.record_id
        if not rid:
            self.next_number += 1
            rid = data.record_id(item.element, self.next_number)
        self.records[rid] = (item.element, item.fields)
        if m.BY_ELEMENT[item.element].exported:  # Kela's and the hub's records are not
            self.pending.pop(rid, None)
            self.pending[rid] = None
        self.results[item.key] = rid
        self.received_items[item.key] = {
            "idempotency_key": item.key,
            m.KEY_ATTR: item.key,
            "kind": item.element,
            m.RECORD_ID_ATTR: rid,
            **item.fields,
        }
        return ImportResult(item.key, m.ACCEPTED, rid, "")

    def _problem(self, item: ImportItem) -> str | None:
        """Why the case system refuses the item (naming it and the field), or None."""
        f = item.fields
        problem = None
        if not stdnum_hetu.is_valid(f.get("hetu", ""), allow_temporary=True):
            problem = "hetu: not a valid identity code"
        elif item.record_id and not self._known(item.element, item.record_id):
            problem = f"there is no {item.element} {item.record_id} to update"
        elif self.faults.faults.reject_writes:
            problem = "the case system refused the record (reject_writes fault)"
        else:
            problem = record_problem(item.element, f, self.municipalities)
        return f"<{item.element}>: {problem}" if problem else None

    def _known(self, element: str, rid: str) -> bool:
        if rid in self.records:
            return self.records[rid][0] == element
        return data.is_seeded(element, rid, self.size)

    def add_records(self, items: list[ExportRecord]) -> list[dict[str, str]]:
        """Add (no id: a new one) or replace (the id given) records of the next export."""
        added = []
        with self.lock:
            for element, rid, fields in items:
                if not rid:
                    self.next_number += 1
                    rid = data.record_id(element, self.next_number)
                self.records[rid] = (element, dict(fields))
                self.pending.pop(rid, None)
                self.pending[rid] = None
                added.append({"kind": element, m.RECORD_ID_ATTR: rid})
        return added

    def nightly(self) -> tuple[str, int]:
        """Close a new export of everything imported or changed since the last one."""
        with self.lock:
            export_id = seeded.nightly_export_id(len(self.nightly_exports))
            records = [(self.records[r][0], r, self.records[r][1]) for r in self.pending]
            self.nightly_exports[export_id] = records
            self.pending = {}
        return export_id, len(records)


def _text(value: Any, repeated: bool) -> bool:
    if repeated:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def late_records(body: Any) -> list[ExportRecord]:
    """The records of a ``POST /_sandbox/records`` body: (element, id or "", fields) of each
    ``{kind, id?, fields}``; a ValueError naming the first record that is not a record of the
    export valid against export.xsd (by its place in the list and its kind)."""
    if not isinstance(body, list) or not body:
        raise ValueError('a non-empty JSON list of {"kind", "id" (optional), "fields"}')
    exported = {rt.element: rt for rt in m.RECORD_TYPES if rt.exported}
    items: list[ExportRecord] = []
    for n, item in enumerate(body):
        kind = item.get("kind") if isinstance(item, dict) else None
        where = f"record {n} ({kind})" if isinstance(kind, str) else f"record {n}"
        if not isinstance(item, dict) or set(item) - {"kind", "id", "fields"}:
            raise ValueError(f"{where}: an object of kind, id (optional) and fields")
        rt = exported.get(kind) if isinstance(kind, str) else None
        if rt is None:
            raise ValueError(f"{where}: kind is one of the export's records: {', '.join(exported)}")
        rid, fields = item.get("id") or "", item.get("fields")
        if not isinstance(rid, str) or (rid and not rid.startswith(f"{rt.id_prefix}-")):
            raise ValueError(f"{where}: the id of a {kind} begins {rt.id_prefix}-")
        repeated = rt.repeated()
        names = {f.native for f in rt.fields}
        if not isinstance(fields, dict) or not all(
            name in names and _text(v, name in repeated) for name, v in fields.items()
        ):
            raise ValueError(
                f"{where}: fields map the record's elements ({', '.join(sorted(names))}) to "
                "text, or to a list of texts for a repeated one"
            )
        record = (kind, rid or f"{rt.id_prefix}-000000", fields)  # a new one: any valid id
        document = b"".join(export_chunks("2000-01-01", "000", "2000-01-01T00:00:00Z", [record]))
        try:
            parse_bytes(document, schema=export_schema())
        except (XmlSyntaxError, UnsafeXmlError) as exc:
            raise ValueError(f"{where}: not valid against {m.EXPORT_XSD.name}: {exc}") from None
        items.append((kind, rid, fields))
    return items


def _listing(export_id: str, counts: dict[str, int]) -> dict[str, Any]:
    return {m.LIST_ID: export_id, m.LIST_RECORDS: sum(counts.values()), m.LIST_COUNTS: counts}


def create_app(
    seed: int = 1,
    size: int = 50,
    municipality: str = m.SANDBOX_MUNICIPALITY,
    export_dir: str | Path | None = None,
    municipality_codes: Sequence[str] | None = None,
) -> Any:
    """The sandbox's ASGI app with deterministic data for ``size`` people of ``seed``, and
    the recorded exports of ``export_dir``; a case system of the ``municipality_codes``
    (several: a county's), or else of the one ``municipality``."""
    codes = tuple(municipality_codes) if municipality_codes is not None else (municipality,)
    if not codes or not all(isinstance(c, str) and len(c) == 3 and c.isdigit() for c in codes):
        raise ValueError(f"municipality codes are three digits: {codes!r}")
    faults = FaultState()
    system = CaseSystem(
        seed, size, codes, faults, Path(export_dir) if export_dir is not None else None
    )

    async def refuse() -> Response | None:
        status, delay = faults.next_request()
        if delay:
            await asyncio.sleep(delay)
        if status:
            retry = str(max(1, round(faults.faults.retry_after)))
            return Response("try again later", status, headers={"Retry-After": retry})
        return None

    async def list_exports(request: Request) -> Response:
        if (refused := await refuse()) is not None:
            return refused
        return JSONResponse({m.LIST_EXPORTS: system.exports()})

    async def get_export(request: Request) -> Response:
        if (refused := await refuse()) is not None:
            return refused
        body = system.export_body(request.path_params["export_id"])
        if body is None:
            return Response("no such export", 404, media_type="text/plain")
        return StreamingResponse(body, media_type=XML)

    async def post_import(request: Request) -> Response:
        if (refused := await refuse()) is not None:
            return refused
        body = await request.body()
        try:
            if len(body) > MAX_IMPORT_BYTES:
                raise UnsafeXmlError(f"import documents are limited to {MAX_IMPORT_BYTES} bytes")
            municipality, items = read_import(body)
            if municipality not in system.municipalities:
                served = ", ".join(system.municipalities)
                word = "municipality" if len(system.municipalities) == 1 else "municipalities"
                raise DocumentError(f"this case system serves {word} {served}")
        except (XmlSyntaxError, UnsafeXmlError, DocumentError) as exc:
            return Response(f"invalid import document: {exc}", 400, media_type="text/plain")
        results = system.import_items(items)
        return Response(response_document(results), media_type=XML)

    async def post_records(request: Request) -> Response:
        try:
            items = late_records(await request.json())
        except ValueError as exc:  # JSON that cannot be read is a ValueError too
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"records": system.add_records(items)})

    async def post_nightly(request: Request) -> Response:
        export_id, count = system.nightly()
        return JSONResponse({"exportId": export_id, "records": count})

    return Starlette(
        routes=[
            Route(m.EXPORTS_PATH, list_exports, methods=["GET"]),
            Route(m.EXPORTS_PATH + "/{export_id}", get_export, methods=["GET"]),
            Route(m.IMPORT_PATH, post_import, methods=["POST"]),
            Route(m.NIGHTLY_PATH, post_nightly, methods=["POST"]),
            Route(m.RECORDS_PATH, post_records, methods=["POST"]),
            control_routes(faults, system.reset, system.received),
        ]
    )
