"""Adapter of the employment authority's client-data service (X-Road REST, JSON).

Reads clients, service periods and activation plans page by page with a
``(modified, id)`` cursor (:class:`hub.cursors.KeysetPaginator`: every answer parsed as
strict JSON, a flawed record a dead letter of its own, pages capped at
:data:`.mapping.MAX_PAGE_BYTES`), and writes the municipality's period notifications in
batches, one idempotency key per notification. Every invented name is in :mod:`.mapping`.
"""

from __future__ import annotations

import uuid
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
from hub.model import ActivationPlan, CanonicalEntity, Client, ServiceEpisode
from hub_te_office import mapping as m

NOTIFICATIONS = "period_notifications"
#: the service's names for paging (see hub.cursors)
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


def describe_xroad_error(response: httpx.Response, body: bytes) -> str:
    """An X-Road REST error as ``type: message (detail)``; other bodies as text. The error
    body is read as strictly as any answer: its words end up in logs and the store."""
    try:
        error = jsonsafe.parse(body, what="the error")
    except jsonsafe.JsonDocumentError:
        error = None
    if type(error) is not dict or jsonsafe.flaw(error) is not None:
        kind = response.headers.get(m.H_ERROR, "")
        return f"{kind} {body[:200].decode('utf-8', 'replace')}".strip()
    kind = error.get("type") or response.headers.get(m.H_ERROR, "")
    text = f"{kind}: {error.get('message', '')}"
    return f"{text} ({error['detail']})" if error.get("detail") else text


def notification_problem(key: str, payload: Mapping[str, Any]) -> WriteOutcome | None:
    """Why a notification is not sent (skipped or permanently failed), or None to send it."""
    event = payload.get(m.N_EVENT)
    if not event:
        return WriteOutcome.permanent(
            key, "field status is missing: the notification's event comes from it"
        )
    if event == m.EVENT_NONE:
        return WriteOutcome.skipped(key, "a planned period: nothing to notify until it starts")
    service = payload.get(m.N_SERVICE_CODE)
    if service and service not in m.NOTIFIED_SERVICE_CODES:
        return WriteOutcome.skipped(
            key, "only rehabilitative work activity periods are notified to the authority"
        )
    needs = m.notification_needs(event)
    missing = [m.canonical_name(f, event) for f in needs if not payload.get(f)]
    if missing:
        return WriteOutcome.permanent(
            key,
            f"field {', '.join(missing)} is missing: a {event} notification needs it "
            "(absent from the record, or not allowed by the exchange)",
        )
    return None


class TeOfficeAdapter(Adapter):
    """The employment authority's client data behind X-Road REST.

    Options: ``xroad_client`` (required), the hub's X-Road client subsystem
    ``INSTANCE/CLASS/MEMBER/SUBSYSTEM``; ``base_url`` already ends with the service prefix
    ``/r1/{instance}/{class}/{member}/{subsystem}``.
    """

    system_id = m.SYSTEM
    title = m.TITLE
    streams = {
        "clients": StreamSpec(Client, description="client basic data"),
        "service_periods": StreamSpec(
            ServiceEpisode, description="rehabilitative work activity and social rehab periods"
        ),
        "activation_plans": StreamSpec(ActivationPlan, description="activation plans"),
        NOTIFICATIONS: StreamSpec(
            ServiceEpisode,
            readable=False,
            writable=True,
            description="the municipality's notice that a KTT period started, was interrupted "
            "or ended",
            carries=m.NOTIFICATION_CARRIES,
        ),
    }

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        client = config.options.get(m.OPTION_CLIENT)
        if not isinstance(client, str) or not m.CLIENT_ID_PATTERN.match(client):
            raise ConfigError(
                f"systems.{config.system}.options.{m.OPTION_CLIENT}: required, the hub's X-Road "
                "client as INSTANCE/CLASS/MEMBER/SUBSYSTEM"
            )
        self.client_id = client
        self.http = HttpService(
            config,
            headers={m.H_CLIENT: client, "Accept": "application/json"},
            describe_error=describe_xroad_error,
        )

    def close(self) -> None:
        self.http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        """One request with a fresh ``X-Road-Id``; the answer capped at MAX_PAGE_BYTES."""
        headers = {m.H_ID: str(uuid.uuid4())}
        return self.http.request(
            method, path, headers=headers, max_bytes=m.MAX_PAGE_BYTES, **kwargs
        )

    def _page(self, stream: str, params: dict[str, Any]) -> Any:
        """One page of a list, parsed strictly: the paginator's fetch."""
        path = m.PATHS[stream]
        _, body = self._request("GET", path, params=params)
        return jsonsafe.parse(body, what=f"{m.SYSTEM} GET {path}")

    def check(self) -> CheckResult:
        try:
            response, body = self._request("GET", m.PATHS["clients"], params={m.Q_LIMIT: 1})
            page = jsonsafe.parse(body, what=f"{m.SYSTEM} GET {m.PATHS['clients']}")
        except (DeliveryError, httpx.HTTPError, jsonsafe.JsonDocumentError) as exc:
            return CheckResult(False, str(exc))
        if type(page) is not dict or type(page.get(m.PAGE_ITEMS)) is not list:
            return CheckResult(False, f"{m.PROVIDER} answered, but not with a page of clients")
        return CheckResult(
            True,
            f"{m.PROVIDER} answers {self.client_id} (X-Road-Id {response.headers.get(m.H_ID)})",
        )

    def read(self, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        if stream not in m.TO_CANONICAL:
            raise PermanentError(f"{m.SYSTEM} has no readable stream {stream!r}")
        yield from KeysetPaginator(
            lambda params: self._page(stream, params),
            system=m.SYSTEM,
            stream=stream,
            id_field=m.ID_FIELD[stream],
            modified_field=m.MODIFIED,
            cursor=cursor,
            limit=min(batch_size, m.MAX_PAGE),
            names=PAGING,
            max_bytes=m.MAX_PAGE_BYTES,
        )

    def _results(self, stream: str, payload: Mapping[str, Any]) -> list[Any]:
        """The per-item results of a batch of notifications (an answer without them is
        transient: the notifications may have been stored; resending them is safe)."""
        path = m.PATHS[stream]
        return jsonsafe.results_of(
            lambda: self._request("POST", path, json=payload)[1],
            what=f"{m.SYSTEM} POST {path}",
            key=m.BATCH_RESULTS,
        )

    def to_canonical(self, stream: str, record: NativeRecord) -> CanonicalEntity:
        translate = m.TO_CANONICAL.get(stream) or m.WRITTEN_TO_CANONICAL.get(stream)
        if translate is None:
            raise RecordError(m.ref(stream, record.native_id), None, "not a stream of this system")
        return translate(record.native_id, record.data)

    def to_native(self, stream: str, record: Mapping[str, Any]) -> dict[str, Any]:
        if stream not in m.TO_NATIVE:
            raise PermanentError(f"{m.SYSTEM} cannot translate to stream {stream!r}")
        return m.TO_NATIVE[stream](record)

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        if stream != NOTIFICATIONS:
            raise PermanentError(f"{m.SYSTEM} stream {stream!r} is not writable")
        outcomes: dict[str, WriteOutcome] = {}
        batch = []
        for item in items:
            problem = notification_problem(item.idempotency_key, item.payload)
            if problem is not None:
                outcomes[item.idempotency_key] = problem
            else:
                batch.append({**item.payload, m.N_KEY: item.idempotency_key})
        if batch:
            for result in self._results(stream, {m.BATCH_NOTIFICATIONS: batch}):
                key = result.get(m.N_KEY) if type(result) is dict else None
                if type(key) is str and key:
                    outcomes.setdefault(key, _outcome(result))
        return [
            outcomes.get(i.idempotency_key)
            or WriteOutcome.transient(i.idempotency_key, "no result was returned for it")
            for i in items
        ]


def _outcome(result: Mapping[str, Any]) -> WriteOutcome:
    """One per-item result of the notification service as an outcome; a result that is not
    strict JSON is no verdict (transient: the same key is judged again)."""
    key, kind = result[m.N_KEY], result.get(m.R_RESULT)
    flawed = jsonsafe.flaw(result)
    if flawed is not None:
        return WriteOutcome.transient(
            key, f"its result is not strict JSON: {flawed.field}: {flawed.message}"
        )
    reason = str(result.get(m.R_REASON) or kind or "no result")
    if kind in (m.RESULT_ACCEPTED, m.RESULT_DUPLICATE):
        return WriteOutcome.ok(key)
    if kind == m.RESULT_REJECTED:
        return WriteOutcome.permanent(key, f"rejected by the employment authority: {reason}")
    return WriteOutcome.transient(key, f"not stored this time: {reason}")
