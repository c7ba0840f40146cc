"""Adapter of Innokylä: reads the practice-model catalogue, publishes and reads indicators.

Both lists are paged by ``(modified, id)``; the cursor is that pair as JSON. Indicators are
published in batches with one idempotency key per indicator; the published value is a
string, the number or ``"<5"``. Every invented name is in :mod:`.mapping`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

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
from hub.cursors import decode_keyset, encode_keyset
from hub.errors import ConfigError, DeliveryError, PermanentError, RecordError, TransientError
from hub.http import HttpService
from hub.model import SUPPRESSED, CanonicalEntity, Indicator, PracticeModel
from hub_innokyla import mapping as m

PATHS = {"practice_models": m.PATH_MODELS, "indicators": m.PATH_INDICATORS}
ID_FIELD = {"practice_models": m.MODEL_ID, "indicators": m.IND_ID}
MODIFIED_FIELD = {"practice_models": m.MODIFIED, "indicators": m.IND_PUBLISHED}


def encode_cursor(modified: str, record_id: str) -> str:
    """The opaque cursor after the record ``(modified, record_id)``."""
    return encode_keyset(modified, record_id)


def decode_cursor(cursor: str | None) -> tuple[str, str]:
    """``(modified, record_id)`` of a cursor; ``("", "")`` for None (from the beginning)."""
    return decode_keyset(cursor, m.SYSTEM)


def describe_error(response: httpx.Response, body: bytes) -> str:
    try:
        error = json.loads(body)
        return f"{error.get('error', '')}: {error.get('message', '')}".strip(": ")
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")


def model_to_canonical(native_id: str, data: Mapping[str, Any]) -> PracticeModel:
    where = f"{m.SYSTEM}/practice_models/{native_id}"
    sections = data.get(m.SECTIONS) or []
    if not isinstance(sections, list) or not all(isinstance(s, dict) for s in sections):
        raise RecordError(where, m.SECTIONS, "is not a list of sections")
    modified = data.get(m.MODIFIED)
    return PracticeModel(
        **{c: data[n] for c, n in m.MODEL_FIELDS.items() if data.get(n) is not None},
        modified=str(modified)[:10] if modified else None,
        sections=[
            {"title": s.get(m.SECTION_TITLE), "body": s.get(m.SECTION_BODY) or ""} for s in sections
        ],
    )


def model_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    native = {n: record[c] for c, n in m.MODEL_FIELDS.items() if record.get(c) is not None}
    if record.get("modified"):
        native[m.MODIFIED] = f"{record['modified']}T00:00:00Z"
    native[m.SECTIONS] = [
        {m.SECTION_TITLE: s["title"], m.SECTION_BODY: s.get("body", "")}
        for s in record.get("sections") or []
    ]
    return native


def indicator_to_canonical(native_id: str, data: Mapping[str, Any]) -> Indicator:
    where = f"{m.SYSTEM}/indicators/{native_id}"
    value = data.get(m.IND_VALUE)
    if not isinstance(value, str) or not m.VALUE_PATTERN.match(value):
        raise RecordError(where, m.IND_VALUE, 'is neither a number nor "<5"')
    fields = {c: data[n] for c, n in m.IND_FIELDS.items() if data.get(n) is not None}
    suppressed = value == SUPPRESSED
    return Indicator(**fields, value=None if suppressed else float(value), suppressed=suppressed)


def indicator_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    """The publication of an indicator. Only the indicator's own fields: the value is the
    published string (``"<5"`` when suppressed)."""
    native = {n: record[c] for c, n in m.IND_FIELDS.items() if record.get(c) is not None}
    value = record.get("value")
    if record.get("suppressed") or value is None:
        native[m.IND_VALUE] = SUPPRESSED
    else:
        # as Indicator.published_value(): counts whole, other figures with one decimal
        counts = record.get("code") in ("participants", "sessions_held")
        native[m.IND_VALUE] = f"{int(value)}" if counts else f"{float(value):.1f}"
    return native


class InnokylaAdapter(Adapter):
    """Innokylä over JSON HTTP. Options: ``api_key`` (required)."""

    system_id = m.SYSTEM
    title = m.TITLE
    streams = {
        "practice_models": StreamSpec(PracticeModel, description="the practice-model catalogue"),
        "indicators": StreamSpec(
            Indicator,
            writable=True,
            description="aggregate indicators published for a practice model",
        ),
    }

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        key = config.options.get(m.OPTION_KEY)
        if not isinstance(key, str) or not key:
            raise ConfigError(f"systems.{config.system}.options.{m.OPTION_KEY}: required")
        self.http = HttpService(
            config,
            headers={m.H_KEY: key, "Accept": "application/json"},
            describe_error=describe_error,
        )

    def close(self) -> None:
        self.http.close()

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        _, body = self.http.request(method, path, **kwargs)
        try:
            return json.loads(body)
        except ValueError:
            raise PermanentError(f"{m.SYSTEM} {method} {path}: the answer is not JSON") from None

    def check(self) -> CheckResult:
        try:
            page = self._json("GET", m.PATH_MODELS, params={m.Q_LIMIT: 1})
        except (DeliveryError, httpx.HTTPError) as exc:
            return CheckResult(False, str(exc))
        if not isinstance(page, dict) or not isinstance(page.get(m.PAGE_ITEMS), list):
            return CheckResult(False, f"{m.PROVIDER} answered, but not with a catalogue page")
        return CheckResult(True, f"{m.PROVIDER} answers with its practice-model catalogue")

    def read(self, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        if stream not in PATHS:
            raise PermanentError(f"{m.SYSTEM} has no readable stream {stream!r}")
        position = decode_cursor(cursor)
        limit = max(1, min(batch_size, m.MAX_PAGE))
        while True:
            params: dict[str, Any] = {m.Q_LIMIT: limit}
            if position[0]:
                params[m.Q_MODIFIED_AFTER] = position[0]
            if position[1]:
                params[m.Q_AFTER_ID] = position[1]
            page = self._json("GET", PATHS[stream], params=params)
            items = page.get(m.PAGE_ITEMS) if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise PermanentError(f"{m.SYSTEM}/{stream}: the answer is not a page")
            if not items:
                return
            records = []
            for item in items:
                native_id = item.get(ID_FIELD[stream]) if isinstance(item, dict) else None
                if not isinstance(native_id, str) or not native_id:
                    raise PermanentError(f"{m.SYSTEM}/{stream}: a record without an id")
                records.append(NativeRecord(native_id, item))
            following = (str(items[-1].get(MODIFIED_FIELD[stream]) or ""), records[-1].native_id)
            if not following[0] or following <= position:
                raise PermanentError(f"{m.SYSTEM}/{stream}: the page does not move on")
            position = following
            yield Batch(records, encode_cursor(*position))
            if not page.get(m.PAGE_HAS_MORE):
                return

    def to_canonical(self, stream: str, record: NativeRecord) -> CanonicalEntity:
        if stream == "practice_models":
            return model_to_canonical(record.native_id, record.data)
        if stream == "indicators":
            return indicator_to_canonical(record.native_id, record.data)
        raise RecordError(f"{m.SYSTEM}/{stream}/{record.native_id}", None, "unknown stream")

    def to_native(self, stream: str, record: Mapping[str, Any]) -> dict[str, Any]:
        if stream == "indicators":
            return indicator_to_native(record)
        if stream == "practice_models":
            return model_to_native(record)
        raise PermanentError(f"{m.SYSTEM} cannot translate to stream {stream!r}")

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        if stream != "indicators":
            raise PermanentError(f"{m.SYSTEM} stream {stream!r} is not writable")
        batch = [{**i.payload, m.IND_KEY: i.idempotency_key} for i in items]
        answer = self._json("POST", m.PATH_PUBLISH, json={m.BATCH_ITEMS: batch})
        results = answer.get(m.BATCH_RESULTS) if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise TransientError(f"{m.SYSTEM}/{stream}: the answer has no per-item results")
        outcomes: dict[str, WriteOutcome] = {}
        for r in results:
            if not isinstance(r, dict) or not r.get(m.IND_KEY):
                continue
            key, kind = r[m.IND_KEY], r.get(m.R_RESULT)
            if kind in (m.RESULT_PUBLISHED, m.RESULT_DUPLICATE):
                outcomes[key] = WriteOutcome.ok(key, native_id=r.get(m.IND_ID))
            elif kind == m.RESULT_REJECTED:
                outcomes[key] = WriteOutcome.permanent(
                    key, f"refused by {m.PROVIDER}: {r.get(m.R_REASON) or 'no reason given'}"
                )
            else:
                outcomes[key] = WriteOutcome.transient(key, f"not published: {kind}")
        return [
            outcomes.get(i.idempotency_key)
            or WriteOutcome.transient(i.idempotency_key, "no result was returned for it")
            for i in items
        ]
