"""Adapter of the employment authority's client-data service (X-Road REST, JSON).

The adapter is the connection (the X-Road client header, a fresh ``X-Road-Id`` per request,
:meth:`TeOfficeAdapter.check`); each stream is a class of its own. Clients, service periods
(KTT and social rehabilitation), activation plans, the employment services' periods (work
trial, pay subsidy, coaching, labour-market training) and labour-policy statements are lists
read page by page with a ``(modified, id)`` cursor
(:class:`hub.paging.keyset.KeysetStream`: every answer parsed as strict JSON, a flawed record
a dead letter of its own, pages capped at :data:`.mapping.MAX_PAGE_BYTES`); the
municipality's period notifications, and the activation-plan obligations the hub derives
(:mod:`.obligations`), are written in batches, one idempotency key per item
(:class:`.posting.PostedStream`). Every invented name is in :mod:`.mapping`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from hub import jsonsafe
from hub.adapter import (
    Adapter,
    CheckResult,
    NativeRecord,
    RunContext,
    SystemConfig,
    WriteOutcome,
)
from hub.errors import ConfigError, DeliveryError
from hub.http import HttpService
from hub.model import ActivationPlan, Client, LabourPolicyStatement, ServiceEpisode
from hub.paging.keyset import KeysetNames, KeysetStream, decode_keyset, encode_keyset
from hub_te_office import mapping as m
from hub_te_office import statements
from hub_te_office.obligations import ActivationPlanObligationsStream
from hub_te_office.posting import PostedStream

#: the service's names for paging (see hub.paging.keyset)
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


def notification_needs(event: str) -> list[str]:
    """The notification fields an event must carry."""
    needed = [m.N_PERSON_ID, m.N_SERVICE_CODE, m.N_EVENT_DATE, m.N_PERIOD_START]
    return needed + [m.N_REASON] if event == m.EVENT_INTERRUPTED else needed


def canonical_name(notification_field: str, event: str) -> str:
    """The canonical field a notification field is filled from (names it in reasons)."""
    if notification_field == m.N_EVENT_DATE:
        return m.EVENT_DATE_FIELD.get(event, "start_date")
    return m.NOTIFICATION_SOURCE.get(notification_field, notification_field)


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
    needs = notification_needs(event)
    missing = [canonical_name(f, event) for f in needs if not payload.get(f)]
    if missing:
        return WriteOutcome.permanent(
            key,
            f"field {', '.join(missing)} is missing: a {event} notification needs it "
            "(absent from the record, or not allowed by the exchange)",
        )
    return None


class _Listed(KeysetStream):
    """A list of the service, ordered by ``(modified, id)`` and paged after the cursor."""

    adapter: TeOfficeAdapter
    modified_field = m.MODIFIED
    names = PAGING
    max_page = m.MAX_PAGE
    max_page_bytes = m.MAX_PAGE_BYTES

    def get(self, params: dict[str, Any]) -> bytes:
        return self.adapter.request("GET", self.path, self.max_page_bytes, params=params)[1]


class ClientsStream(_Listed):
    name = "clients"
    entity = Client
    description = "client basic data"
    path = m.PATH_CLIENTS
    id_field = m.CLIENT_ID

    def to_canonical(self, record: NativeRecord) -> Client:
        return m.client_to_canonical(m.ref(self.name, record.native_id), record.data)

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return m.client_to_native(record)


class ServicePeriodsStream(_Listed):
    name = "service_periods"
    entity = ServiceEpisode
    description = "rehabilitative work activity and social rehab periods"
    path = m.PATH_PERIODS
    id_field = m.PERIOD_ID

    def to_canonical(self, record: NativeRecord) -> ServiceEpisode:
        return m.period_to_canonical(m.ref(self.name, record.native_id), record.data)

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return m.period_to_native(record)


class ActivationPlansStream(_Listed):
    name = "activation_plans"
    entity = ActivationPlan
    description = "activation plans"
    path = m.PATH_PLANS
    id_field = m.PLAN_ID

    def to_canonical(self, record: NativeRecord) -> ActivationPlan:
        return m.plan_to_canonical(m.ref(self.name, record.native_id), record.data)

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return m.plan_to_native(record)


class EmploymentPeriodsStream(ServicePeriodsStream):
    """Periods of the employment services, a list apart from the KTT and social
    rehabilitation periods, in the same format (an exchange reads it by naming it:
    ``source_stream``)."""

    name = "employment_periods"
    description = "work trial, pay subsidy, coaching and labour-market training periods"
    path = m.PATH_EMPLOYMENT_PERIODS


class LabourPolicyStatementsStream(_Listed):
    name = "labour_policy_statements"
    entity = LabourPolicyStatement
    description = "labour-policy statements on unemployment benefit (to Kela or a fund)"
    path = m.PATH_STATEMENTS
    id_field = m.STATEMENT_ID

    def to_canonical(self, record: NativeRecord) -> LabourPolicyStatement:
        where = m.ref(self.name, record.native_id)
        return statements.statement_to_canonical(where, record.data)

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return statements.statement_to_native(record)


class PeriodNotificationsStream(PostedStream):
    """The municipality's notices of KTT periods, posted in batches (written, never read)."""

    name = "period_notifications"
    entity = ServiceEpisode
    description = "the municipality's notice that a KTT period started, was interrupted or ended"
    carries = m.NOTIFICATION_CARRIES
    #: whose period, of which service, its start and the event (from the status)
    requires = ("client_hetu", "service_type", "status", "start_date")
    path = m.PATH_NOTIFICATIONS
    batch_key = m.BATCH_NOTIFICATIONS

    def to_canonical(self, record: NativeRecord) -> ServiceEpisode:
        """A notification this stream wrote, read back (the conformance kit's round trip)."""
        return m.notification_to_canonical(m.ref(self.name, record.native_id), record.data)

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return m.notification_to_native(record)

    def problem(self, key: str, payload: Mapping[str, Any]) -> WriteOutcome | None:
        return notification_problem(key, payload)


class TeOfficeAdapter(Adapter):
    """The employment authority's client data behind X-Road REST.

    Options: ``xroad_client`` (required), the hub's X-Road client subsystem
    ``INSTANCE/CLASS/MEMBER/SUBSYSTEM``; ``base_url`` already ends with the service prefix
    ``/r1/{instance}/{class}/{member}/{subsystem}``.
    """

    system_id = m.SYSTEM
    title = m.TITLE
    #: service_periods before employment_periods: an exchange that names no stream of
    #: ServiceEpisode reads the former (the first readable one)
    streams = (
        ClientsStream,
        ServicePeriodsStream,
        ActivationPlansStream,
        PeriodNotificationsStream,
        EmploymentPeriodsStream,
        LabourPolicyStatementsStream,
        ActivationPlanObligationsStream,
    )
    options_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": [m.OPTION_CLIENT],
        "properties": {
            m.OPTION_CLIENT: {
                "type": "string",
                "pattern": m.CLIENT_ID_PATTERN.pattern,
                "description": "the hub's X-Road client as INSTANCE/CLASS/MEMBER/SUBSYSTEM",
            },
        },
    }

    def __init__(self, config: SystemConfig, context: RunContext | None = None):
        super().__init__(config, context)
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

    def request(
        self, method: str, path: str, max_bytes: int, **kwargs: Any
    ) -> tuple[httpx.Response, bytes]:
        """One request with a fresh ``X-Road-Id``; the answer capped at ``max_bytes``."""
        headers = {m.H_ID: str(uuid.uuid4())}
        return self.http.request(method, path, headers=headers, max_bytes=max_bytes, **kwargs)

    def check(self) -> CheckResult:
        path = m.PATH_CLIENTS
        try:
            response, body = self.request("GET", path, m.MAX_PAGE_BYTES, params={m.Q_LIMIT: 1})
            page = jsonsafe.parse(body, what=f"{m.SYSTEM} GET {path}")
        except (DeliveryError, httpx.HTTPError, jsonsafe.JsonDocumentError) as exc:
            return CheckResult(False, str(exc))
        if type(page) is not dict or type(page.get(m.PAGE_ITEMS)) is not list:
            return CheckResult(False, f"{m.PROVIDER} answered, but not with a page of clients")
        return CheckResult(
            True,
            f"{m.PROVIDER} answers {self.client_id} (X-Road-Id {response.headers.get(m.H_ID)})",
        )
