"""Adapter of Innokylä: reads the practice-model catalogue, publishes and reads indicators.

The adapter is the connection (the API key, :meth:`InnokylaAdapter.check`); each stream is a
class of its own. Both lists are paged by ``(modified, id)``; the cursor is that pair as
JSON (:class:`hub.paging.keyset.KeysetStream`: every answer parsed as strict JSON, a flawed
record a dead letter of its own, pages capped at :data:`.mapping.MAX_PAGE_BYTES`).
Indicators are published in batches with one idempotency key per indicator
(:class:`hub.writing.BatchOutcomes`); the published value is a string, the number or ``"x"``
for a withheld figure (the hub never sends ``"<5"``, which the platform also takes); an
indicator's id names its model, period, code, category and municipality
(:func:`.mapping.indicator_id`). Every invented name is in :mod:`.mapping`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from hub import jsonsafe
from hub.adapter import (
    Adapter,
    CheckResult,
    NativeRecord,
    RunContext,
    SystemConfig,
    WriteItem,
    WriteOutcome,
)
from hub.errors import ConfigError, DeliveryError, RecordError
from hub.http import HttpService
from hub.model import Indicator, PracticeModel
from hub.model.practice import COUNTS
from hub.paging.keyset import KeysetNames, KeysetStream, decode_keyset, encode_keyset
from hub.writing import BatchOutcomes
from hub_innokyla import mapping as m

#: Innokylä's names for paging (see hub.paging.keyset)
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


def model_to_canonical(where: str, data: Mapping[str, Any]) -> PracticeModel:
    """A catalogue entry as the canonical practice model; errors name the record ``where``."""
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


def indicator_to_canonical(where: str, data: Mapping[str, Any]) -> Indicator:
    """A listed indicator as the canonical indicator; errors name the record ``where``.
    ``"x"`` (and ``"<5"``, which other publishers use) says only that the figure is
    withheld: it is read back suppressed, without a reason."""
    value = data.get(m.IND_VALUE)
    if not isinstance(value, str) or not m.VALUE_PATTERN.match(value):
        raise RecordError(where, m.IND_VALUE, 'is neither a number, "<5" nor "x"')
    fields = {c: data[n] for c, n in m.IND_FIELDS.items() if data.get(n) is not None}
    if value in (m.CONFIDENTIAL, m.SMALL):
        return Indicator(**fields, suppressed=True)
    return Indicator(**fields, value=float(value))


def indicator_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    """The publication of an indicator: only the indicator's own fields (no municipality
    list for a figure of all municipalities), the value as published: ``"x"`` for every
    withheld figure, whatever the reason (a reader who could tell a small count from a
    secondary suppression would know more than the disclosure control allows)."""
    native = {n: record[c] for c, n in m.IND_FIELDS.items() if record.get(c) not in (None, [])}
    value = record.get("value")
    if record.get("suppressed") or value is None:
        native[m.IND_VALUE] = m.CONFIDENTIAL
    else:
        # as Indicator.published_value(): counts whole, other figures with one decimal
        counts = record.get("code") in COUNTS
        native[m.IND_VALUE] = f"{int(value)}" if counts else f"{float(value):.1f}"
    return native


class _Listed(KeysetStream):
    """A list of Innokylä, ordered by ``(modified, id)`` and paged after the cursor."""

    adapter: InnokylaAdapter
    names = PAGING
    max_page = m.MAX_PAGE
    max_page_bytes = m.MAX_PAGE_BYTES

    def get(self, params: dict[str, Any]) -> bytes:
        return self.adapter.request("GET", self.path, self.max_page_bytes, params=params)

    def ref(self, record: NativeRecord) -> str:
        """How ``record`` is named in errors: ``innokyla/{stream}/{native id}``."""
        return f"{self.system}/{self.name}/{record.native_id}"


class PracticeModelsStream(_Listed):
    name = "practice_models"
    entity = PracticeModel
    description = "the practice-model catalogue"
    path = m.PATH_MODELS
    id_field = m.MODEL_ID
    modified_field = m.MODIFIED

    def to_canonical(self, record: NativeRecord) -> PracticeModel:
        return model_to_canonical(self.ref(record), record.data)

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return model_to_native(record)


class IndicatorsStream(_Listed):
    """Indicators as Innokylä lists them (ordered by when they were published), and their
    publication: a batch posted to :data:`.mapping.PATH_PUBLISH`, results matched by key."""

    name = "indicators"
    entity = Indicator
    description = "aggregate indicators published for a practice model"
    #: what names a figure: its practice model, indicator and period
    requires = ("practice_model", "code", "period_start", "period_end")
    path = m.PATH_INDICATORS
    id_field = m.IND_ID
    modified_field = m.IND_PUBLISHED

    def to_canonical(self, record: NativeRecord) -> Indicator:
        return indicator_to_canonical(self.ref(record), record.data)

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return indicator_to_native(record)

    def write(self, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        outcomes = BatchOutcomes(items)
        batch = [{**item.payload, m.IND_KEY: item.idempotency_key} for item in items]
        for result in self._results({m.BATCH_ITEMS: batch}):
            key = result.get(m.IND_KEY) if type(result) is dict else None
            if type(key) is str and key:
                outcomes.settle(_outcome(key, result))
        return outcomes.result()

    def _results(self, payload: Mapping[str, Any]) -> list[Any]:
        """The per-item results of a publication (an answer without them is transient: the
        indicators may have been published; resending them is safe)."""
        return jsonsafe.results_of(
            lambda: self.adapter.request("POST", m.PATH_PUBLISH, m.MAX_PAGE_BYTES, json=payload),
            what=f"{self.system} POST {m.PATH_PUBLISH}",
            key=m.BATCH_RESULTS,
        )


class InnokylaAdapter(Adapter):
    """Innokylä over JSON HTTP. Options: ``api_key`` (required)."""

    system_id = m.SYSTEM
    title = m.TITLE
    streams = (PracticeModelsStream, IndicatorsStream)
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": [m.OPTION_KEY],
        "properties": {m.OPTION_KEY: {"type": "string", "minLength": 1}},
    }

    def __init__(self, config: SystemConfig, context: RunContext | None = None):
        super().__init__(config, context)
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

    def request(self, method: str, path: str, max_bytes: int, **kwargs: Any) -> bytes:
        """One request; the body of the answer, capped at ``max_bytes``."""
        _, body = self.http.request(method, path, max_bytes=max_bytes, **kwargs)
        return body

    def check(self) -> CheckResult:
        try:
            page = self.stream(PracticeModelsStream.name).fetch({m.Q_LIMIT: 1})
        except (DeliveryError, httpx.HTTPError, jsonsafe.JsonDocumentError) as exc:
            return CheckResult(False, str(exc))
        if type(page) is not dict or type(page.get(m.PAGE_ITEMS)) is not list:
            return CheckResult(False, f"{m.PROVIDER} answered, but not with a catalogue page")
        return CheckResult(True, f"{m.PROVIDER} answers with its practice-model catalogue")


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
