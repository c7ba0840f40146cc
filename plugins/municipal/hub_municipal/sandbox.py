"""Sandbox of a municipal social-welfare case system: nightly XML exports and an XML import.

- ``GET  /exports``            the exports in order: ``{"exports": [{"id": ...}, ...]}``
- ``GET  /exports/{id}``       one export, streamed (chunked) and valid against the XSD
- ``POST /import``             a delivery batch (``<import>``); answers ``<importResult>``
  with one result per record; a repeated idempotency key returns the earlier result
- ``POST /_sandbox/nightly``   run the nightly job: a new export with every record imported
  since the last one
- the common control API of :mod:`hub.sandbox` (faults, reset, received)
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from stdnum.fi import hetu as stdnum_hetu

from hub.sandbox import FaultState, control_routes
from hub.xmlsafe import UnsafeXmlError, XmlSyntaxError
from hub_municipal import data
from hub_municipal.mapping import EXPORTS_PATH, IMPORT_PATH
from hub_municipal.xmlformat import export_chunks, read_import, result_document

XML = "application/xml"
ID_PREFIX = {"client": "C", "episode": "E", "plan": "P"}


def create_app(seed: int = 1, size: int = 50, municipality: str = "743") -> Starlette:
    lock = threading.Lock()
    faults = FaultState()
    state: dict[str, Any] = {}

    def reset() -> None:
        with lock:
            state["results"] = {}  # idempotency key -> id of the accepted record
            state["received"] = {}  # idempotency key -> accepted record
            state["records"] = {}  # id -> (element, fields) of imported records
            state["pending"] = []  # ids changed since the last nightly export
            state["nightly"] = []  # (export id, [(element, id, fields)])
            state["next_id"] = 100_000

    reset()

    def received() -> list[dict[str, Any]]:
        with lock:
            return list(state["received"].values())

    async def refuse(request: Request) -> Response | None:
        status, delay = faults.next_request()
        if delay:
            await asyncio.sleep(delay)
        if status:
            retry = str(max(1, round(faults.faults.retry_after)))
            return Response("try again later", status, headers={"Retry-After": retry})
        return None

    async def list_exports(request: Request) -> Response:
        if (refused := await refuse(request)) is not None:
            return refused
        with lock:
            nightly = [export_id for export_id, _ in state["nightly"]]
        return JSONResponse({"exports": [{"id": e} for e in (*data.EXPORT_IDS, *nightly)]})

    async def get_export(request: Request) -> Response:
        if (refused := await refuse(request)) is not None:
            return refused
        export_id = request.path_params["export_id"]
        if export_id in data.EXPORT_IDS:
            index = data.EXPORT_IDS.index(export_id)
            records = data.export_records(seed, size, index, faults.is_malformed)
        else:
            with lock:
                found = [r for e, r in state["nightly"] if e == export_id]
            if not found:
                return Response(f"no export {export_id}", 404)
            records = iter(found[0])
        generated = f"{export_id[:10]}T23:30:00Z"
        return StreamingResponse(
            export_chunks(export_id, municipality, generated, records), media_type=XML
        )

    async def import_batch(request: Request) -> Response:
        if (refused := await refuse(request)) is not None:
            return refused
        body = await request.body()
        try:
            items = read_import(body)
        except (XmlSyntaxError, UnsafeXmlError) as exc:
            return Response(f"invalid import document: {exc}", 400, media_type="text/plain")
        results = []
        with lock:
            for element, key, record_id, fields in items:
                if key in state["results"]:  # only accepted deliveries consume their key
                    results.append((key, "duplicate", state["results"][key], ""))
                    continue
                problem = None
                if not stdnum_hetu.is_valid(fields.get("hetu", ""), allow_temporary=True):
                    problem = "hetu is not a valid identity code"
                elif faults.faults.reject_writes:
                    problem = "the case system refused the record (fault)"
                if problem:
                    results.append((key, "rejected", None, problem))
                    continue
                if not record_id or record_id not in state["records"]:
                    state["next_id"] += 1
                    record_id = f"{ID_PREFIX[element]}-{state['next_id']:06d}"
                state["records"][record_id] = (element, fields)
                state["pending"].append(record_id)
                state["results"][key] = record_id
                state["received"][key] = {
                    "idempotencyKey": key,
                    "kind": element,
                    "id": record_id,
                    **fields,
                }
                results.append((key, "accepted", record_id, ""))
        return Response(result_document(results), media_type=XML)

    async def nightly(request: Request) -> Response:
        with lock:
            export_id = f"2026-11-23.{len(state['nightly']) + 1:03d}"
            ids = list(dict.fromkeys(state["pending"]))
            records = [(state["records"][i][0], i, state["records"][i][1]) for i in ids]
            state["nightly"].append((export_id, records))
            state["pending"] = []
        return JSONResponse({"exportId": export_id, "records": len(records)})

    routes = [
        Route(EXPORTS_PATH, list_exports),
        Route(EXPORTS_PATH + "/{export_id}", get_export),
        Route(IMPORT_PATH, import_batch, methods=["POST"]),
        Route("/_sandbox/nightly", nightly, methods=["POST"]),
        control_routes(faults, reset, received),
    ]
    return Starlette(routes=routes)
