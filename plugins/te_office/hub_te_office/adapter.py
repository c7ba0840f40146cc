"""Adapter of the employment authority's client-data service (X-Road REST, JSON).

Reads clients, service periods and activation plans page by page with a
``(modified, id)`` cursor, and writes the municipality's period notifications in batches,
one idempotency key per notification. Every invented name is in :mod:`.mapping`.
"""

from __future__ import annotations

import json
import uuid
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
from hub.model import ActivationPlan, CanonicalEntity, Client, ServiceEpisode
from hub_te_office import mapping as m

NOTIFICATIONS = "period_notifications"


def encode_cursor(modified: str, record_id: str) -> str:
    """The opaque cursor after the record ``(modified, record_id)``."""
    return encode_keyset(modified, record_id)


def decode_cursor(cursor: str | None) -> tuple[str, str]:
    """``(modified, record_id)`` of a cursor; ``("", "")`` for None (from the beginning)."""
    return decode_keyset(cursor, m.SYSTEM)


def describe_xroad_error(response: httpx.Response, body: bytes) -> str:
    """An X-Road REST error as ``type: message (detail)``; other bodies as text."""
    try:
        error = json.loads(body)
        kind = error.get("type") or response.headers.get(m.H_ERROR, "")
        text = f"{kind}: {error.get('message', '')}"
        return f"{text} ({error['detail']})" if error.get("detail") else text
    except (ValueError, AttributeError):
        kind = response.headers.get(m.H_ERROR, "")
        return f"{kind} {body[:200].decode('utf-8', 'replace')}".strip()


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

    def _call(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, Any]:
        """One request with a fresh ``X-Road-Id``; the JSON body of the answer."""
        headers = {m.H_ID: str(uuid.uuid4())}
        response, body = self.http.request(method, path, headers=headers, **kwargs)
        try:
            return response, json.loads(body)
        except ValueError:
            raise PermanentError(f"{m.SYSTEM} {method} {path}: the answer is not JSON") from None

    def check(self) -> CheckResult:
        try:
            response, page = self._call("GET", m.PATHS["clients"], params={m.Q_LIMIT: 1})
        except (DeliveryError, httpx.HTTPError) as exc:
            return CheckResult(False, str(exc))
        if not isinstance(page, dict) or not isinstance(page.get(m.PAGE_ITEMS), list):
            return CheckResult(False, f"{m.PROVIDER} answered, but not with a page of clients")
        return CheckResult(
            True,
            f"{m.PROVIDER} answers {self.client_id} (X-Road-Id {response.headers.get(m.H_ID)})",
        )

    def read(self, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        if stream not in m.TO_CANONICAL:
            raise PermanentError(f"{m.SYSTEM} has no readable stream {stream!r}")
        position = decode_cursor(cursor)
        id_field = m.ID_FIELD[stream]
        limit = max(1, min(batch_size, m.MAX_PAGE))
        while True:
            params: dict[str, Any] = {m.Q_LIMIT: limit}
            if position[0]:
                params[m.Q_MODIFIED_AFTER] = position[0]
            if position[1]:
                params[m.Q_AFTER_ID] = position[1]
            _, page = self._call("GET", m.PATHS[stream], params=params)
            items = page.get(m.PAGE_ITEMS) if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise PermanentError(f"{m.SYSTEM}/{stream}: the answer is not a page of records")
            if not items:
                return
            records = [self._record(stream, id_field, item) for item in items]
            last = items[-1]
            following = (str(last.get(m.MODIFIED) or ""), records[-1].native_id)
            if not following[0] or following <= position:
                raise PermanentError(f"{m.SYSTEM}/{stream}: the page does not move the cursor on")
            position = following
            yield Batch(records, encode_cursor(*position))
            if not page.get(m.PAGE_HAS_MORE):
                return

    @staticmethod
    def _record(stream: str, id_field: str, item: Any) -> NativeRecord:
        native_id = item.get(id_field) if isinstance(item, dict) else None
        if not isinstance(native_id, str) or not native_id:
            raise PermanentError(f"{m.SYSTEM}/{stream}: a record without {id_field}")
        return NativeRecord(native_id, item)

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
            _, answer = self._call(
                "POST", m.PATHS[NOTIFICATIONS], json={m.BATCH_NOTIFICATIONS: batch}
            )
            results = answer.get(m.BATCH_RESULTS) if isinstance(answer, dict) else None
            if not isinstance(results, list):
                # it may have been stored: resending with the same keys is safe
                raise TransientError(f"{m.SYSTEM}/{stream}: the answer has no per-item results")
            for result in results:
                if isinstance(result, dict) and result.get(m.N_KEY):
                    outcomes.setdefault(result[m.N_KEY], _outcome(result))
        return [
            outcomes.get(i.idempotency_key)
            or WriteOutcome.transient(i.idempotency_key, "no result was returned for it")
            for i in items
        ]


def _outcome(result: Mapping[str, Any]) -> WriteOutcome:
    """One per-item result of the notification service as an outcome."""
    key, kind = result[m.N_KEY], result.get(m.R_RESULT)
    reason = str(result.get(m.R_REASON) or kind or "no result")
    if kind in (m.RESULT_ACCEPTED, m.RESULT_DUPLICATE):
        return WriteOutcome.ok(key)
    if kind == m.RESULT_REJECTED:
        return WriteOutcome.permanent(key, f"rejected by the employment authority: {reason}")
    return WriteOutcome.transient(key, f"not stored this time: {reason}")
