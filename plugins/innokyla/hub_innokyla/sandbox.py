"""Sandbox of Innokylä: the practice-model catalogue and the indicator publication service.

- every request needs the API key header (401 otherwise);
- lists are ordered by ``(modified, id)`` and paged by ``modifiedAfter`` + ``afterId``;
- publications come in batches with one idempotency key per indicator: a key seen before
  returns the earlier result and publishes nothing new. Like a real publication platform
  it refuses what must never be published: unknown fields, an unknown practice model or
  indicator code, a category missing, unknown or given where none belongs, more than one
  municipality, a count of 1–4 that is not ``"<5"``, a value that is not a number, ``"<5"``
  or ``"x"``, and anything that looks like an identity code;
- an indicator's id is computed from what is published (:func:`.mapping.indicator_id`:
  model, period start, code, category, municipality), the id the hub gives it too; a
  publication of an id replaces what ``GET /api/v1/indicators`` lists for it, and is a new
  version of it when its value or another field changed (one the same as the latest is
  accepted and changes nothing);
- faults from :class:`hub.sandbox.FaultState`; ``/_sandbox/received`` lists the accepted
  publications, one per key;
- ``GET /_sandbox/releases`` lists every version of every indicator the sandbox accepted
  since the last reset, oldest first, each as listed (``id``, ``published``: when that
  version was published, and its fields): all that Innokylä ever showed of the hub's
  figures, which the attacker test (tests/test_disclosure_attacks.py) attacks;
- for tests, ``/_sandbox/hostile`` serves what no well-behaved service would
  (:class:`hub.sandbox.HostilePages`: raw records, pages cut short, garbled answers to
  publications).
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import datetime as dt
import json
import math
import re
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.model import EpisodeOutcome, IndicatorCode, InterruptionReason
from hub.model.practice import COUNTS
from hub.sandbox import FaultState, HostilePages, control_routes
from hub_innokyla import data
from hub_innokyla import mapping as m

#: the categories of each indicator given per category: where people went (transitions),
#: why their episode was interrupted (interruptions; ``uncoded`` when no coded reason)
CATEGORIES = {
    IndicatorCode.TRANSITIONS.value: {c.value for c in EpisodeOutcome},
    IndicatorCode.INTERRUPTIONS.value: {c.value for c in InterruptionReason} | {"uncoded"},
}
MUNICIPALITY = re.compile(r"^\d{3}$")
#: the adapter's stream of each list (how Hostile names them)
STREAM_OF = {"models": "practice_models", "indicators": "indicators"}
CODES = {c.value for c in IndicatorCode}


def _error(status: int, kind: str, message: str, headers: dict | None = None) -> Response:
    return JSONResponse({"error": kind, "message": message}, status_code=status, headers=headers)


def refusal(item: Any, models: set[str]) -> str | None:
    """Why a publication is refused, or None. Never quotes a value."""
    if not isinstance(item, dict):
        return "not an object"
    unknown = sorted(set(item) - m.PUBLISH_FIELDS)
    if unknown:
        return f"unknown fields: {', '.join(unknown)}"
    content = {key: v for key, v in item.items() if key != m.IND_KEY}  # the key is the sender's
    if m.HETU_LIKE.search(json.dumps(content, ensure_ascii=False)):
        return "looks like personal data (an identity code): refused"
    if item.get("practiceModel") not in models:
        return "practiceModel: no such practice model"
    code = item.get("indicator")
    if code not in CODES:
        return "indicator: unknown indicator code"
    category = item.get("category")
    if code in CATEGORIES and category not in CATEGORIES[code]:
        return f"category: {code} needs one of {', '.join(sorted(CATEGORIES[code]))}"
    if code not in CATEGORIES and category is not None:
        return f"category: {code} has no categories"
    places = item.get("municipalities", [])
    if not isinstance(places, list) or len(places) > 1:
        return "municipalities: a figure is of one municipality, or of all (absent)"
    if not all(isinstance(p, str) and MUNICIPALITY.match(p) for p in places):
        return "municipalities: a municipality code is three digits"
    value = item.get(m.IND_VALUE)
    if not isinstance(value, str) or not m.VALUE_PATTERN.match(value):
        return 'value: must be a number, "<5" or "x"'
    if code in COUNTS and value not in (m.SMALL, m.CONFIDENTIAL):
        if float(value) < 0 or 0 < float(value) < 5:
            return 'value: a count is never negative, and one under 5 must be published as "<5"'
    for name in ("periodStart", "periodEnd"):
        try:
            dt.date.fromisoformat(str(item.get(name)))
        except ValueError:
            return f"{name}: must be an ISO date"
    return None


class _State:
    def __init__(self, seed: int):
        self.seed = seed
        self.lock = threading.Lock()
        self.hostile = HostilePages(m.PAGE_ITEMS, m.PAGE_HAS_MORE)
        self.reset()

    def reset(self) -> None:
        self.hostile.reset()
        models = data.catalogue(self.seed)
        with self.lock:
            self.models = sorted(models, key=lambda r: (r[m.MODIFIED], r[m.MODEL_ID]))
            self.model_ids = {r[m.MODEL_ID] for r in models}
            self.indicators = {r[m.IND_ID]: r for r in data.published(models)}
            self.results: dict[str, dict[str, Any]] = {}
            self.accepted: dict[str, dict[str, Any]] = {}
            #: every version accepted, oldest first (as listed: id, published and fields)
            self.versions: list[dict[str, Any]] = []
            self.last_stamp = ""

    def listing(self, stream: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        if stream == "models":
            rows = self.models
            return rows, [(r[m.MODIFIED], r[m.MODEL_ID]) for r in rows]
        rows = sorted(self.indicators.values(), key=lambda r: (r[m.IND_PUBLISHED], r[m.IND_ID]))
        return rows, [(r[m.IND_PUBLISHED], r[m.IND_ID]) for r in rows]

    def publish(self, item: Any, reject_all: bool) -> dict[str, Any]:
        key = item.get(m.IND_KEY) if isinstance(item, dict) else None
        if not key:
            return {m.R_RESULT: m.RESULT_REJECTED, m.R_REASON: f"{m.IND_KEY} is missing"}
        if key in self.results and self.results[key][m.R_RESULT] != m.RESULT_REJECTED:
            return {**self.results[key], m.R_RESULT: m.RESULT_DUPLICATE}
        problem = refusal(item, self.model_ids)
        if reject_all:
            problem = "publication refused (fault)"
        if problem:
            result = {m.IND_KEY: key, m.R_RESULT: m.RESULT_REJECTED, m.R_REASON: problem}
        else:
            stored = {k: v for k, v in item.items() if k != m.IND_KEY}
            ind_id = self.release(stored)
            self.accepted[key] = {"idempotency_key": key, **stored}
            result = {m.IND_KEY: key, m.R_RESULT: m.RESULT_PUBLISHED, m.IND_ID: ind_id}
        self.results[key] = result
        return result

    def release(self, fields: dict[str, Any]) -> str:
        """Publish ``fields`` under their id: a new version when they differ from the
        latest one (the time it was published: now, later than every earlier version)."""
        ind_id = m.native_indicator_id(fields)
        latest = self.indicators.get(ind_id)
        if latest is not None and _fields(latest) == fields:
            return ind_id
        version = {**fields, m.IND_ID: ind_id, m.IND_PUBLISHED: self.stamp()}
        self.indicators[ind_id] = version
        self.versions.append(version)
        return ind_id

    def stamp(self) -> str:
        """Now (UTC, to the microsecond), always later than the stamp before."""
        now = dt.datetime.now(dt.UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if stamp <= self.last_stamp:
            last = dt.datetime.strptime(self.last_stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
            stamp = (last + dt.timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.last_stamp = stamp
        return stamp

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.accepted.values())

    def releases(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(v) for v in self.versions]


def _fields(listed: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in listed.items() if k not in (m.IND_ID, m.IND_PUBLISHED)}


def corrupt(record: dict[str, Any]) -> dict[str, Any]:
    """A record that breaks the canonical model (the id stays, so paging still works): a
    small count published as a number, a value that is no number, a municipality by name."""
    bad = copy.deepcopy(record)
    if m.IND_VALUE in bad:
        bad[m.IND_VALUE] = "3" if bad.get("indicator") in COUNTS else "kolme"
    else:
        bad["municipalities"] = ["Seinäjoki"]
    return bad


def create_app(seed: int = 1, size: int = 50) -> Starlette:
    """The sandbox app; ``size`` is unused (the catalogue does not depend on clients)."""
    state = _State(seed)
    faults = FaultState()

    async def refuse(request: Request) -> Response | None:
        if request.headers.get(m.H_KEY) != m.SANDBOX_KEY:
            return _error(401, "unauthorized", f"{m.H_KEY} missing or not valid")
        status, delay = faults.next_request()
        if delay:
            await asyncio.sleep(delay)
        if status is None:
            return None
        after = {"Retry-After": str(max(1, math.ceil(faults.faults.retry_after)))}
        kind = "rate_limited" if status == 429 else "unavailable"
        return _error(status, kind, "try again later", after)

    def lister(stream: str):
        async def handler(request: Request) -> Response:
            if (refused := await refuse(request)) is not None:
                return refused
            q = request.query_params
            try:
                limit = min(int(q.get(m.Q_LIMIT, 50)), m.MAX_PAGE)
            except ValueError:
                return _error(400, "bad_request", f"{m.Q_LIMIT} must be a number")
            if limit < 1:
                return _error(400, "bad_request", f"{m.Q_LIMIT} must be positive")
            since = q.get(m.Q_MODIFIED_AFTER, "")
            after_id = q.get(m.Q_AFTER_ID) or ("\U0010ffff" if since else "")
            with state.lock:
                rows, keys = state.listing(stream)
                start = bisect.bisect_right(keys, (since, after_id))
                chosen = list(enumerate(rows[start : start + limit], start))
                more = start + limit < len(rows)
            rows = [(i, corrupt(r) if faults.is_malformed(i) else r) for i, r in chosen]
            raw = state.hostile.page(STREAM_OF[stream], limit, rows, more)
            if raw is not None:
                return Response(raw, media_type="application/json")
            return JSONResponse({m.PAGE_ITEMS: [r for _, r in rows], m.PAGE_HAS_MORE: more})

        return handler

    async def publish(request: Request) -> Response:
        if (refused := await refuse(request)) is not None:
            return refused
        try:
            items = (await request.json())[m.BATCH_ITEMS]
            if not isinstance(items, list):
                raise TypeError
        except (ValueError, TypeError, KeyError):
            return _error(400, "bad_request", f"expected {{{m.BATCH_ITEMS}: [...]}}")
        with state.lock:
            results = [state.publish(i, faults.faults.reject_writes) for i in items]
        if (raw := state.hostile.answer()) is not None:
            return Response(raw, media_type="application/json")
        return JSONResponse({m.BATCH_RESULTS: results})

    async def releases(request: Request) -> Response:
        return JSONResponse(state.releases())

    async def hostile(request: Request) -> Response:
        if request.method == "PUT":
            problem = state.hostile.set(await request.json())
            if problem:
                return _error(400, "bad_request", problem)
        return JSONResponse(state.hostile.show())

    return Starlette(
        routes=[
            Route(m.PATH_MODELS, lister("models"), methods=["GET"]),
            Route(m.PATH_INDICATORS, lister("indicators"), methods=["GET"]),
            Route(m.PATH_PUBLISH, publish, methods=["POST"]),
            Route("/_sandbox/hostile", hostile, methods=["GET", "PUT"]),
            Route("/_sandbox/releases", releases, methods=["GET"]),
            control_routes(faults, state.reset, state.received),
        ]
    )
