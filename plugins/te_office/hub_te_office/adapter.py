"""Adapter of the employment authority's client-data service (X-Road REST, JSON)."""

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
from hub.errors import DeliveryError, PermanentError, RecordError
from hub.http import HttpService
from hub.model import ActivationPlan, CanonicalEntity, Client, ServiceEpisode
from hub_te_office import mapping

CURSOR_SEPARATOR = "|"


def encode_cursor(modified: str, record_id: str) -> str:
    return f"{modified}{CURSOR_SEPARATOR}{record_id}"


def decode_cursor(cursor: str | None) -> tuple[str, str]:
    if not cursor:
        return "", ""
    modified, _, record_id = cursor.partition(CURSOR_SEPARATOR)
    return modified, record_id


def describe_xroad_error(response: httpx.Response, body: bytes) -> str:
    """X-Road REST errors: header ``X-Road-Error`` and a JSON body ``{type, message}``."""
    code = response.headers.get("X-Road-Error", "")
    try:
        detail = json.loads(body)
        message = detail.get("message", "")
    except (ValueError, AttributeError):
        message = body[:200].decode("utf-8", "replace")
    return f"{code} {message}".strip()


class TeOfficeAdapter(Adapter):
    system_id = "te_office"
    title = "Employment authority client data (X-Road REST)"
    streams = {
        "clients": StreamSpec(Client, description="client basic data"),
        "service_periods": StreamSpec(ServiceEpisode, description="KTT and social rehab periods"),
        "activation_plans": StreamSpec(ActivationPlan, description="activation plans"),
        "period_notifications": StreamSpec(
            ServiceEpisode,
            readable=False,
            writable=True,
            description="the municipality's notice that a period started, was interrupted or ended",
        ),
    }

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        self.http = HttpService(
            config,
            headers={
                "X-Road-Client": config.options.get("xroad_client", mapping.DEFAULT_CLIENT),
                "Accept": "application/json",
            },
            describe_error=describe_xroad_error,
        )

    def close(self) -> None:
        self.http.close()

    def check(self) -> CheckResult:
        try:
            response, _ = self.http.request("GET", mapping.PATHS["clients"], params={"limit": 1})
        except DeliveryError as exc:
            return CheckResult(False, str(exc))
        return CheckResult(
            True, f"{mapping.PROVIDER} answers (X-Road-Id {response.headers.get('X-Road-Id')})"
        )

    def read(self, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        if stream not in mapping.TO_CANONICAL:
            raise PermanentError(f"te_office has no readable stream {stream!r}")
        modified, after_id = decode_cursor(cursor)
        id_field = mapping.ID_FIELD[stream]
        while True:
            _, body = self.http.request(
                "GET",
                mapping.PATHS[stream],
                params={
                    "modifiedAfter": modified,
                    "afterId": after_id,
                    "limit": min(batch_size, mapping.MAX_PAGE),
                },
            )
            try:
                page = json.loads(body)
                items = page["items"]
            except (ValueError, KeyError, TypeError):
                raise PermanentError(
                    f"te_office/{stream}: the page is not {{items: [...]}}"
                ) from None
            if not items:
                return
            records = []
            for item in items:
                native_id = str(item.get(id_field, ""))
                if not native_id:
                    raise PermanentError(f"te_office/{stream}: a record without {id_field}")
                records.append(NativeRecord(native_id, item))
            last = items[-1]
            modified, after_id = str(last.get("modified", "")), str(last[id_field])
            yield Batch(records, encode_cursor(modified, after_id))
            if not page.get("hasMore"):
                return

    def to_canonical(self, stream: str, record: NativeRecord) -> CanonicalEntity:
        if stream not in mapping.TO_CANONICAL:
            raise RecordError(f"te_office/{stream}/{record.native_id}", None, "unknown stream")
        return mapping.TO_CANONICAL[stream](record.native_id, record.data)

    def to_native(self, stream: str, record: Mapping[str, Any]) -> dict[str, Any]:
        if stream == "period_notifications":
            try:
                return mapping.notification_from_canonical(record)
            except KeyError as exc:
                raise RecordError(
                    "ServiceEpisode",
                    exc.args[0],
                    "is needed for the notification but missing "
                    "(not sent, or not allowed by the exchange)",
                ) from None
        if stream == "service_periods":
            return mapping.period_from_canonical(record)
        raise PermanentError(f"te_office cannot translate to stream {stream!r}")

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        if stream != "period_notifications":
            raise PermanentError(f"te_office stream {stream!r} is not writable")
        outcomes: dict[str, WriteOutcome] = {}
        to_send = []
        for item in items:
            if not item.payload:
                outcomes[item.idempotency_key] = WriteOutcome.skipped(
                    item.idempotency_key, "a planned period: nothing to notify yet"
                )
            else:
                to_send.append({**item.payload, "idempotencyKey": item.idempotency_key})
        if to_send:
            _, body = self.http.request(
                "POST", mapping.PATHS["period_notifications"], json={"notifications": to_send}
            )
            for result in json.loads(body).get("results", []):
                key = result.get("idempotencyKey")
                if not key:
                    continue
                if result.get("status") in ("accepted", "duplicate"):
                    outcomes[key] = WriteOutcome.ok(key)
                else:
                    outcomes[key] = WriteOutcome.permanent(key, result.get("error", "rejected"))
        return [
            outcomes.get(i.idempotency_key)
            or WriteOutcome.transient(i.idempotency_key, "no result returned for this record")
            for i in items
        ]
