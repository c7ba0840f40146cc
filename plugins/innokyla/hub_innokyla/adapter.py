"""Adapter of Innokylä: reads the practice-model catalogue, publishes and reads indicators.

Both lists are paged by ``(modified, id)``; the cursor is that pair as JSON
(:class:`hub.cursors.KeysetPaginator`: every answer parsed as strict JSON, a flawed record a
dead letter of its own, pages capped at :data:`.mapping.MAX_PAGE_BYTES`). Indicators are
published in batches with one idempotency key per indicator; the published value is a
string, the number or ``"<5"``. Every invented name is in :mod:`.mapping`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from hub import jsonsafe
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
from hub.cursors import KeysetNames, KeysetPaginator, decode_keyset, encode_keyset
from hub.errors import ConfigError, DeliveryError, PermanentError, RecordError
from hub.http import HttpService
from hub.model import SUPPRESSED, CanonicalEntity, Indicator, PracticeModel
from hub_innokyla import mapping as m

PATHS = {"practice_models": m.PATH_MODELS, "indicators": m.PATH_INDICATORS}
ID_FIELD = {"practice_models": m.MODEL_ID, "indicators": m.IND_ID}
MODIFIED_FIELD = {"practice_models": m.MODIFIED, "indicators": m.IND_PUBLISHED}
#: Innokylä's names for paging (see hub.cursors)
PAGING = KeysetNames(
    items=m.PAGE_ITEMS,
    has_more=m.PAGE_HAS_MORE,
    limit=m.Q_LIMIT,
    modified_after=m.Q_MODIFIED_AFTER,
    after_id=m.Q_AFTER_ID,
)


def encode_cursor(modified: str, record_id: str) -> str:
    """The opaque cursor after the record ``(modified, record_id)``."""
    return encode_keyset(modified, record_id)


def decode_cursor(cursor: str | None) -> tuple[str, str]:
    """``(modified, record_id)`` of a cursor; ``("", "")`` for None (from the beginning)."""
    return decode_keyset(cursor, m.SYSTEM)


def describe_error(response: httpx.Response, body: bytes) -> str:
    """Innokylä's ``{error, message}`` as ``error: message``; other bodies as text. The error
    body is read as strictly as any answer: its words end up in logs and the store."""
    try:
        error = jsonsafe.parse(body, what="the error")
    except jsonsafe.JsonDocumentError:
        error = None
    if type(error) is not dict or jsonsafe.flaw(error) is not None:
        return body[:200].decode("utf-8", "replace")
    return f"{error.get('error', '')}: {error.get('message', '')}".strip(": ")


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

    def _request(self, method: str, path: str, **kwargs: Any) -> bytes:
        """One request; the body of the answer, capped at MAX_PAGE_BYTES."""
        _, body = self.http.request(method, path, max_bytes=m.MAX_PAGE_BYTES, **kwargs)
        return body

    def _page(self, stream: str, params: dict[str, Any]) -> Any:
        """One page of a list, parsed strictly: the paginator's fetch."""
        body = self._request("GET", PATHS[stream], params=params)
        return jsonsafe.parse(body, what=f"{m.SYSTEM} GET {PATHS[stream]}")

    def check(self) -> CheckResult:
        try:
            page = self._page("practice_models", {m.Q_LIMIT: 1})
        except (DeliveryError, httpx.HTTPError, jsonsafe.JsonDocumentError) as exc:
            return CheckResult(False, str(exc))
        if type(page) is not dict or type(page.get(m.PAGE_ITEMS)) is not list:
            return CheckResult(False, f"{m.PROVIDER} answered, but not with a catalogue page")
        return CheckResult(True, f"{m.PROVIDER} answers with its practice-model catalogue")

    def read(self, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        if stream not in PATHS:
            raise PermanentError(f"{m.SYSTEM} has no readable stream {stream!r}")
        yield from KeysetPaginator(
            lambda params: self._page(stream, params),
            system=m.SYSTEM,
            stream=stream,
            id_field=ID_FIELD[stream],
            modified_field=MODIFIED_FIELD[stream],
            cursor=cursor,
            limit=min(batch_size, m.MAX_PAGE),
            names=PAGING,
            max_bytes=m.MAX_PAGE_BYTES,
        )

    def _results(self, stream: str, payload: Mapping[str, Any]) -> list[Any]:
        """The per-item results of a publication (an answer without them is transient: the
        indicators may have been published; resending them is safe)."""
        return jsonsafe.results_of(
            lambda: self._request("POST", m.PATH_PUBLISH, json=payload),
            what=f"{m.SYSTEM} POST {m.PATH_PUBLISH}",
            key=m.BATCH_RESULTS,
        )

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
        outcomes: dict[str, WriteOutcome] = {}
        for r in self._results(stream, {m.BATCH_ITEMS: batch}):
            key = r.get(m.IND_KEY) if type(r) is dict else None
            if type(key) is str and key:
                outcomes[key] = _outcome(key, r)
        return [
            outcomes.get(i.idempotency_key)
            or WriteOutcome.transient(i.idempotency_key, "no result was returned for it")
            for i in items
        ]


def _outcome(key: str, result: Mapping[str, Any]) -> WriteOutcome:
    """One per-item result of the publication as an outcome; a result that is not strict
    JSON is no verdict (transient: the same key is judged again)."""
    flawed = jsonsafe.flaw(result)
    if flawed is not None:
        return WriteOutcome.transient(
            key, f"its result is not strict JSON: {flawed.field}: {flawed.message}"
        )
    kind, native_id = result.get(m.R_RESULT), result.get(m.IND_ID)
    if kind in (m.RESULT_PUBLISHED, m.RESULT_DUPLICATE):
        return WriteOutcome.ok(key, native_id=native_id if type(native_id) is str else None)
    if kind == m.RESULT_REJECTED:
        reason = result.get(m.R_REASON) or "no reason given"
        return WriteOutcome.permanent(key, f"refused by {m.PROVIDER}: {reason}")
    return WriteOutcome.transient(key, f"not published: {kind}")
