"""Sandbox of the employment authority's client-data service, behind X-Road REST.

Over real HTTP it behaves as the real service would: the ``X-Road-Client`` header is
required, responses carry ``X-Road-Id``, ``X-Road-Request-Id`` and ``X-Road-Request-Hash``,
errors carry ``X-Road-Error`` and a JSON body ``{type, message, detail}``; lists are paged
by a modified-since cursor ``(modifiedAfter, afterId)``; notifications are deduplicated by
idempotency key. Faults (429, 503, slow, malformed records, rejected writes) are switched
through ``/_sandbox/faults`` (see :mod:`hub.sandbox`).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import re
import threading
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from stdnum.fi import hetu as stdnum_hetu

from hub.sandbox import FaultState, control_routes
from hub_te_office import data
from hub_te_office.mapping import BASE_PATH, ID_FIELD, MAX_PAGE, PATHS, SERVICE_CODES

CLIENT_HEADER = re.compile(r"^(FI|FI-TEST)/(GOV|MUN|COM|ORG)/[^/]+/[^/]+$")
EVENTS = {"STARTED", "INTERRUPTED", "ENDED"}


def _xroad_error(status: int, code: str, message: str, request: Request, **headers) -> JSONResponse:
    response = JSONResponse(
        {"type": code, "message": message, "detail": str(uuid.uuid4())},
        status_code=status,
        headers={"X-Road-Error": code, **headers},
    )
    return _stamp(response, request)


def _stamp(response, request: Request, body: bytes = b""):
    response.headers["X-Road-Id"] = request.headers.get("X-Road-Id") or str(uuid.uuid4())
    response.headers["X-Road-Request-Id"] = str(uuid.uuid4())
    response.headers["X-Road-Request-Hash"] = hashlib.sha512(body).hexdigest()[:88]
    return response


def _corrupt(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(record)
    if stream == "service_periods":
        bad["daysPerWeek"] = "viisi"
    else:  # an identity code with a wrong check character
        code = bad["personId"]
        bad["personId"] = code[:-1] + ("A" if code[-1] != "A" else "B")
    return bad


def create_app(seed: int = 1, size: int = 50) -> Starlette:
    lock = threading.Lock()
    faults = FaultState()
    state: dict[str, Any] = {}

    def reset() -> None:
        with lock:
            records = data.generate(seed, size)
            state["records"] = {
                stream: sorted(items, key=lambda r: (r["modified"], r[ID_FIELD[stream]]))
                for stream, items in records.items()
            }
            state["notifications"] = {}  # idempotency key -> stored notification

    reset()

    def received() -> list[dict[str, Any]]:
        with lock:
            return list(state["notifications"].values())

    async def guard(request: Request) -> JSONResponse | None:
        client = request.headers.get("X-Road-Client")
        if not client or not CLIENT_HEADER.match(client):
            return _xroad_error(
                400,
                "Client.InvalidClientHeader",
                "X-Road-Client header missing or not INSTANCE/CLASS/MEMBER/SUBSYSTEM",
                request,
            )
        status, delay = faults.next_request()
        if delay:
            await asyncio.sleep(delay)
        if status:
            retry = str(max(1, round(faults.faults.retry_after)))
            code = (
                "Server.ServerProxy.RateLimited"
                if status == 429
                else "Server.ServerProxy.ServiceUnavailable"
            )
            return _xroad_error(status, code, "try again later", request, **{"Retry-After": retry})
        return None

    def lister(stream: str):
        async def handler(request: Request):
            if (refused := await guard(request)) is not None:
                return refused
            q = request.query_params
            after = (q.get("modifiedAfter") or "", q.get("afterId") or "")
            try:
                limit = min(int(q.get("limit", "100")), MAX_PAGE)
            except ValueError:
                return _xroad_error(400, "Client.BadRequest", "limit must be a number", request)
            if limit < 1:
                return _xroad_error(400, "Client.BadRequest", "limit must be positive", request)
            id_field = ID_FIELD[stream]
            with lock:
                items = state["records"][stream]
                page, positions = [], []
                for position, record in enumerate(items):
                    if (record["modified"], record[id_field]) > after:
                        page.append(record)
                        positions.append(position)
                        if len(page) == limit:
                            break
            page = [
                _corrupt(stream, r) if faults.is_malformed(pos) else r
                for r, pos in zip(page, positions, strict=True)
            ]
            more = bool(page) and positions[-1] < len(items) - 1
            body = {"items": page, "hasMore": more}
            return _stamp(JSONResponse(body), request)

        return handler

    async def notify(request: Request):
        if (refused := await guard(request)) is not None:
            return refused
        try:
            payload = await request.json()
            items = payload["notifications"]
            assert isinstance(items, list)
        except Exception:
            return _xroad_error(
                400, "Client.BadRequest", "body must be {notifications: [...]}", request
            )
        results = []
        with lock:
            for item in items:
                key = item.get("idempotencyKey") if isinstance(item, dict) else None
                if not key:
                    results.append({"status": "rejected", "error": "idempotencyKey is missing"})
                    continue
                if key in state["notifications"]:
                    earlier = state["notifications"][key]
                    results.append(
                        {
                            "idempotencyKey": key,
                            "status": "duplicate",
                            "notificationId": earlier["notificationId"],
                        }
                    )
                    continue
                problem = _invalid(item)
                if faults.faults.reject_writes:
                    problem = "notification refused by the employment authority (fault)"
                if problem:
                    results.append({"idempotencyKey": key, "status": "rejected", "error": problem})
                    continue
                stored = {**item, "notificationId": f"N-{len(state['notifications']) + 1:06d}"}
                state["notifications"][key] = stored
                results.append(
                    {
                        "idempotencyKey": key,
                        "status": "accepted",
                        "notificationId": stored["notificationId"],
                    }
                )
        return _stamp(JSONResponse({"results": results}), request)

    async def unknown(request: Request):
        return _xroad_error(404, "Server.ServerProxy.UnknownService", "no such service", request)

    routes = [Route(BASE_PATH + PATHS[s], lister(s)) for s in ID_FIELD]
    routes.append(Route(BASE_PATH + PATHS["period_notifications"], notify, methods=["POST"]))
    routes.append(control_routes(faults, reset, received))
    routes.append(Route("/{path:path}", unknown, methods=["GET", "POST", "PUT", "DELETE"]))
    return Starlette(routes=routes)


def _invalid(item: dict[str, Any]) -> str | None:
    if not stdnum_hetu.is_valid(str(item.get("personId", "")), allow_temporary=True):
        return "personId is not a valid identity code"
    if item.get("serviceCode") not in SERVICE_CODES:
        return "serviceCode is unknown"
    if item.get("event") not in EVENTS:
        return "event must be STARTED, INTERRUPTED or ENDED"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(item.get("eventDate", ""))):
        return "eventDate must be an ISO date"
    if item["event"] == "INTERRUPTED" and not item.get("reason"):
        return "reason is required for INTERRUPTED"
    return None
