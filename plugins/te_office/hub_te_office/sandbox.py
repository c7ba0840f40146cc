"""Sandbox of the employment authority's client-data service, behind X-Road REST.

Over real HTTP it behaves as the real service is modelled (names in :mod:`.mapping`):

- the ``X-Road-Client`` header (``INSTANCE/CLASS/MEMBER/SUBSYSTEM``) is required: missing or
  malformed gives 400; every response carries ``X-Road-Id`` (the client's, echoed, or a new
  one), ``X-Road-Request-Id`` and ``X-Road-Request-Hash``; every error carries
  ``X-Road-Error`` and a JSON body ``{type, message, detail}``;
- lists are ordered by ``(modified, id)`` and paged by ``modifiedAfter`` + ``afterId``
  (records after that pair; without ``afterId``, records modified strictly after
  ``modifiedAfter``); ``limit`` is capped at :data:`.mapping.MAX_PAGE`;
- period notifications and activation-plan obligations are posted in batches (``WRITES``),
  each item judged alone (:func:`invalid_notification`, :func:`invalid_obligation`: an
  obligation's identity code, trigger code and dates, due not before reached, the plan's
  date exactly when one was drawn up) and deduplicated by idempotency key: a key that was
  accepted before returns the earlier item's result and stores nothing; a rejected key may
  be sent again (after a fix) and is judged afresh.

Faults come from :class:`hub.sandbox.FaultState` (``/_sandbox/faults``): every protocol
request passes ``next_request()`` (429 / 503 with ``Retry-After``, slow responses); a record
at a malformed position is served corrupted (a period's ``daysPerWeek`` becomes a word,
other records get an identity code with a wrong check character); ``reject_writes`` rejects
every write. ``/_sandbox/received`` lists the accepted writes (notifications, then
obligations), one per key; ``/_sandbox/reset`` restores the seeded state. For tests,
``/_sandbox/hostile`` serves what no well-behaved service would
(:class:`hub.sandbox.HostilePages`: raw records, pages cut short, garbled answers to writes).
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import copy
import datetime as dt
import hashlib
import math
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from stdnum.fi import hetu as stdnum_hetu

from hub.sandbox import FaultState, HostilePages, control_routes
from hub_te_office import data
from hub_te_office import mapping as m
from hub_te_office.obligations import WINDOWED_CODES

Handler = Callable[[Request], Awaitable[Response]]
SortKey = tuple[dt.datetime, str]


def _timestamp(value: str) -> dt.datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _request_hash(request: Request, body: bytes) -> str:
    message = f"{request.method} {request.url.path}?{request.url.query}\n".encode() + body
    return base64.b64encode(hashlib.sha512(message).digest()).decode()


async def _stamp(response: Response, request: Request) -> Response:
    """Add the X-Road headers every response carries."""
    response.headers[m.H_ID] = request.headers.get(m.H_ID) or str(uuid.uuid4())
    response.headers[m.H_REQUEST_ID] = str(uuid.uuid4())
    response.headers[m.H_REQUEST_HASH] = _request_hash(request, await request.body())
    return response


async def xroad_error(
    request: Request, status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """An X-Road REST error: header ``X-Road-Error`` and body ``{type, message, detail}``."""
    response = JSONResponse(
        {"type": kind, "message": message, "detail": str(uuid.uuid4())},
        status_code=status,
        headers={m.H_ERROR: kind, **(headers or {})},
    )
    return await _stamp(response, request)


def corrupt(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    """A malformed copy of a record: breaks the model in a field the adapter must name."""
    bad = copy.deepcopy(record)
    if m.ID_FIELD[stream] == m.PERIOD_ID:  # a list of periods
        bad[m.DAYS_PER_WEEK] = "viisi"
    else:  # an identity code with a wrong check character
        code = str(bad[m.PERSON_ID])
        bad[m.PERSON_ID] = code[:-1] + ("A" if code[-1] != "A" else "B")
    return bad


def invalid_notification(item: dict[str, Any]) -> str | None:
    """Why a notification is refused, or None. Never quotes a value."""
    unknown = sorted(set(item) - set(m.NOTIFICATION_FIELDS))
    if unknown:
        return f"unknown fields: {', '.join(unknown)}"
    if not stdnum_hetu.is_valid(str(item.get(m.N_PERSON_ID, "")), allow_temporary=True):
        return f"{m.N_PERSON_ID} is not a valid identity code"
    if item.get(m.N_SERVICE_CODE) not in m.NOTIFIED_SERVICE_CODES:
        return f"{m.N_SERVICE_CODE} must be one of {', '.join(sorted(m.NOTIFIED_SERVICE_CODES))}"
    event = item.get(m.N_EVENT)
    if event not in m.NOTIFIED_EVENTS:
        return f"{m.N_EVENT} must be one of {', '.join(sorted(m.NOTIFIED_EVENTS))}"
    try:
        dt.date.fromisoformat(str(item.get(m.N_EVENT_DATE)))
    except ValueError:
        return f"{m.N_EVENT_DATE} must be an ISO date"
    try:
        dt.date.fromisoformat(str(item.get(m.N_PERIOD_START)))
    except ValueError:
        return f"{m.N_PERIOD_START} must be an ISO date"
    if event == m.EVENT_INTERRUPTED and not item.get(m.N_REASON):
        return f"{m.N_REASON} is required when {m.N_EVENT} is {m.EVENT_INTERRUPTED}"
    return None


def _iso_date(value: Any) -> dt.date | None:
    """The date a ``YYYY-MM-DD`` string names, or None."""
    if type(value) is not str or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def invalid_obligation(item: dict[str, Any]) -> str | None:
    """Why an activation-plan obligation is refused, or None. Never quotes a value."""
    f = m.OBLIGATION_FIELDS
    unknown = sorted(set(item) - {*f.values(), m.O_KEY})
    if unknown:
        return f"unknown fields: {', '.join(unknown)}"
    if not stdnum_hetu.is_valid(str(item.get(f["client_hetu"], "")), allow_temporary=True):
        return f"{f['client_hetu']} is not a valid identity code"
    code = item.get(f["trigger"])
    if code not in m.TRIGGER_CODES:
        return f"{f['trigger']} must be one of {', '.join(sorted(m.TRIGGER_CODES))}"
    reached, due = _iso_date(item.get(f["reached_on"])), _iso_date(item.get(f["due_by"]))
    if reached is None or due is None:
        field = f["reached_on"] if reached is None else f["due_by"]
        return f"{field} must be an ISO date (YYYY-MM-DD)"
    if due < reached:
        return f"{f['due_by']} is before {f['reached_on']}"
    age = item.get(f["age_on_reached"])
    if age is not None and (type(age) is not int or not 0 <= age <= 150):
        return f"{f['age_on_reached']} must be a whole number of years (0-150)"
    has_plan, drawn_up = item.get(f["has_plan"]), item.get(f["plan_drawn_up"])
    if type(has_plan) is not bool:
        return f"{f['has_plan']} must be true or false"
    if has_plan and _iso_date(drawn_up) is None:
        return f"{f['plan_drawn_up']} must be an ISO date when {f['has_plan']} is true"
    if not has_plan and drawn_up is not None:
        return f"{f['plan_drawn_up']} is only given when {f['has_plan']} is true"
    window = item.get(f["window_assumed"])
    if window is not None and type(window) is not bool:
        return f"{f['window_assumed']} must be true or false"
    if window and code not in WINDOWED_CODES:
        return f"{f['window_assumed']} is only true for {', '.join(sorted(WINDOWED_CODES))}"
    return None


#: what the service takes in posted batches: batch key -> (path, what an item is, its
#: check, the id field of its results, the format of its ids)
WRITES: dict[str, tuple[str, str, Callable[[dict[str, Any]], str | None], str, str]] = {
    m.BATCH_NOTIFICATIONS: (
        m.PATH_NOTIFICATIONS,
        "notification",
        invalid_notification,
        m.N_ID,
        m.NOTIFICATION_ID_FORMAT,
    ),
    m.BATCH_OBLIGATIONS: (
        m.PATH_OBLIGATIONS,
        "activation-plan obligation",
        invalid_obligation,
        m.O_ID,
        m.OBLIGATION_ID_FORMAT,
    ),
}


class _Store:
    """The sandbox's records and notifications, behind one lock."""

    def __init__(self, seed: int, size: int):
        self.seed, self.size = seed, size
        self.lock = threading.Lock()
        self.hostile = HostilePages(m.PAGE_ITEMS, m.PAGE_HAS_MORE)
        self.reset()

    def reset(self) -> None:
        self.hostile.reset()
        generated = data.generate(self.seed, self.size)
        records: dict[str, list[dict[str, Any]]] = {}
        keys: dict[str, list[SortKey]] = {}
        for stream, items in generated.items():
            id_field = m.ID_FIELD[stream]
            ordered = sorted(items, key=lambda r: (_timestamp(r[m.MODIFIED]), r[id_field]))
            records[stream] = ordered
            keys[stream] = [(_timestamp(r[m.MODIFIED]), r[id_field]) for r in ordered]
        with self.lock:
            self.records, self.keys = records, keys
            #: accepted writes per batch key, by idempotency key
            self.written: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in WRITES}

    def page(
        self, stream: str, after: SortKey, limit: int
    ) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
        """Up to ``limit`` (position, record) pairs after ``after``, and whether more follow."""
        with self.lock:
            start = bisect.bisect_right(self.keys[stream], after)
            chosen = self.records[stream][start : start + limit]
            more = start + limit < len(self.records[stream])
        return list(enumerate(chosen, start)), more

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {"idempotency_key": k, **item}
                for kept in self.written.values()
                for k, item in kept.items()
            ]


def create_app(seed: int = 1, size: int = 50) -> Starlette:
    """The sandbox app with ``size`` synthetic clients of ``seed`` in memory."""
    store = _Store(seed, size)
    faults = FaultState()

    async def refuse(request: Request) -> Response | None:
        """The X-Road checks and the injected faults every protocol request passes."""
        client = request.headers.get(m.H_CLIENT)
        if not client or not m.CLIENT_ID_PATTERN.match(client):
            return await xroad_error(
                request,
                400,
                m.ERR_CLIENT_HEADER,
                f"{m.H_CLIENT} header missing or not INSTANCE/CLASS/MEMBER/SUBSYSTEM",
            )
        status, delay = faults.next_request()
        if delay:
            await asyncio.sleep(delay)
        if status is None:
            return None
        retry_after = {"Retry-After": str(max(1, math.ceil(faults.faults.retry_after)))}
        kind = m.ERR_RATE_LIMITED if status == 429 else m.ERR_UNAVAILABLE
        return await xroad_error(request, status, kind, "try again later", retry_after)

    def lister(stream: str) -> Handler:
        async def handler(request: Request) -> Response:
            if (refused := await refuse(request)) is not None:
                return refused
            q = request.query_params
            try:
                limit = min(int(q.get(m.Q_LIMIT, m.DEFAULT_PAGE)), m.MAX_PAGE)
                since = q.get(m.Q_MODIFIED_AFTER)
                after_time = _timestamp(since) if since else dt.datetime.min.replace(tzinfo=dt.UTC)
            except ValueError:
                return await xroad_error(
                    request,
                    400,
                    m.ERR_BAD_REQUEST,
                    f"{m.Q_LIMIT} must be a number and {m.Q_MODIFIED_AFTER} an ISO timestamp",
                )
            if limit < 1:
                return await xroad_error(
                    request, 400, m.ERR_BAD_REQUEST, f"{m.Q_LIMIT} must be positive"
                )
            # without afterId: strictly after the stamp ("\U0010ffff" sorts after every id)
            after_id = q.get(m.Q_AFTER_ID) or ("\U0010ffff" if since else "")
            page, more = store.page(stream, (after_time, after_id), limit)
            rows = [(i, corrupt(stream, r) if faults.is_malformed(i) else r) for i, r in page]
            raw = store.hostile.page(stream, limit, rows, more)
            if raw is not None:
                return await _stamp(Response(raw, media_type="application/json"), request)
            body = {m.PAGE_ITEMS: [r for _, r in rows], m.PAGE_HAS_MORE: more}
            return await _stamp(JSONResponse(body), request)

        return handler

    def judge(kind: str, item: Any) -> dict[str, Any]:
        """The result of one item of a ``kind`` of write (its batch key); stores it when
        accepted, once per key. Caller holds the lock."""
        _, what, invalid, id_field, id_format = WRITES[kind]
        if not isinstance(item, dict) or not item.get(m.N_KEY):
            return {m.R_RESULT: m.RESULT_REJECTED, m.R_REASON: f"{m.N_KEY} is missing"}
        key, kept = item[m.N_KEY], store.written[kind]
        if key in kept:
            return {m.N_KEY: key, m.R_RESULT: m.RESULT_DUPLICATE, id_field: kept[key][id_field]}
        problem = invalid(item)
        if faults.faults.reject_writes:
            problem = f"{what} refused by the employment authority (fault)"
        if problem:
            return {m.N_KEY: key, m.R_RESULT: m.RESULT_REJECTED, m.R_REASON: problem}
        new_id = id_format.format(len(kept) + 1)
        kept[key] = {**item, id_field: new_id}
        return {m.N_KEY: key, m.R_RESULT: m.RESULT_ACCEPTED, id_field: new_id}

    def taker(kind: str) -> Handler:
        async def take(request: Request) -> Response:
            if (refused := await refuse(request)) is not None:
                return refused
            try:
                items = (await request.json())[kind]
                if not isinstance(items, list):
                    raise TypeError
            except (ValueError, TypeError, KeyError):
                return await xroad_error(
                    request, 400, m.ERR_BAD_REQUEST, f"body must be {{{kind}: [...]}}"
                )
            with store.lock:
                results = [judge(kind, item) for item in items]
            if (raw := store.hostile.answer()) is not None:
                return await _stamp(Response(raw, media_type="application/json"), request)
            return await _stamp(JSONResponse({m.BATCH_RESULTS: results}), request)

        return take

    async def hostile(request: Request) -> Response:
        if request.method == "PUT":
            problem = store.hostile.set(await request.json())
            if problem:
                return JSONResponse({"error": problem}, status_code=400)
        return JSONResponse(store.hostile.show())

    async def unknown(request: Request) -> Response:
        return await xroad_error(request, 404, m.ERR_UNKNOWN_SERVICE, "no such service")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        kind = m.ERR_BAD_REQUEST if status < 500 else m.ERR_INTERNAL
        return await xroad_error(request, status, kind, "the request cannot be served")

    routes: list[Any] = [
        Route(m.BASE_PATH + path, lister(name), methods=["GET"])
        for name, path in m.LIST_PATHS.items()
    ]
    routes += [
        Route(m.BASE_PATH + path, taker(kind), methods=["POST"])
        for kind, (path, *_) in WRITES.items()
    ]
    routes += [
        Route("/_sandbox/hostile", hostile, methods=["GET", "PUT"]),
        control_routes(faults, store.reset, store.received),
        Route("/{path:path}", unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
