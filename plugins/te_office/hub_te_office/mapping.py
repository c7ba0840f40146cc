"""Every name of the employment authority's client-data service that the hub had to invent.

No public API exists for the employment authority's client data (DOMAIN.md). The service is
modelled as REST/JSON behind X-Road REST; the member code, subsystem, paths, query
parameters, JSON field names, code values and result codes below are ours. When a real
specification appears, this module changes; the adapter, sandbox and data import their
names from here.

Translation both ways lives here too: ``*_to_canonical`` (native JSON → canonical entity,
raising :class:`hub.errors.RecordError` naming the record and the native field, never its
value) and ``*_to_native`` (canonical JSON → native JSON, tolerating missing fields). The
adapter's stream classes say which of them each stream uses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from hub.errors import RecordError
from hub.model import ActivationPlan, Client, ServiceEpisode

SYSTEM = "te_office"
TITLE = "Employment authority client data (X-Road REST)"

# --- X-Road addressing ---------------------------------------------------------------------
#: instances a client may belong to (production and test)
XROAD_INSTANCES = ("FI", "FI-TEST")
XROAD_MEMBER_CLASSES = ("GOV", "MUN", "COM", "ORG")
#: ``X-Road-Client: INSTANCE/CLASS/MEMBER/SUBSYSTEM``
CLIENT_ID_PATTERN = re.compile(
    rf"^({'|'.join(XROAD_INSTANCES)})/({'|'.join(XROAD_MEMBER_CLASSES)})/[^/\s]+/[^/\s]+$"
)
#: the service provider: the KEHA Centre's client-data subsystem on the test instance
PROVIDER = "FI-TEST/GOV/0245437-2/asiakastiedot"
BASE_PATH = "/r1/" + PROVIDER
#: the hub as a client subsystem of a municipality (the sandbox's adapter option)
SANDBOX_CLIENT = "FI-TEST/MUN/0211675-2/hub"
SANDBOX_PORT = 8701
#: adapter option holding the hub's X-Road client id
OPTION_CLIENT = "xroad_client"

# X-Road REST headers (protocol names, listed here so the sandbox and adapter share them)
H_CLIENT = "X-Road-Client"
H_ID = "X-Road-Id"
H_REQUEST_ID = "X-Road-Request-Id"
H_REQUEST_HASH = "X-Road-Request-Hash"
H_ERROR = "X-Road-Error"
#: error ``type`` values (header ``X-Road-Error`` and body field ``type``)
ERR_CLIENT_HEADER = "Client.InvalidClientHeader"
ERR_BAD_REQUEST = "Client.BadRequest"
ERR_UNKNOWN_SERVICE = "Server.ServerProxy.UnknownService"
ERR_RATE_LIMITED = "Server.ServerProxy.RateLimited"
ERR_UNAVAILABLE = "Server.ServerProxy.ServiceUnavailable"
ERR_INTERNAL = "Server.ServerProxy.ServiceFailed"

# --- resources and paging ------------------------------------------------------------------
#: service paths below :data:`BASE_PATH`
PATH_CLIENTS = "/clients"
PATH_PERIODS = "/service-periods"
PATH_PLANS = "/activation-plans"
PATH_NOTIFICATIONS = "/period-notifications"
#: the native id field of each kind of record
CLIENT_ID = "clientId"
PERIOD_ID = "periodId"
PLAN_ID = "planId"
#: the lists the service offers, by the name the sandbox and its data give them (the same
#: as the adapter's streams): the path of each and its records' id field
LIST_PATHS = {
    "clients": PATH_CLIENTS,
    "service_periods": PATH_PERIODS,
    "activation_plans": PATH_PLANS,
}
ID_FIELD = {"clients": CLIENT_ID, "service_periods": PERIOD_ID, "activation_plans": PLAN_ID}
#: how the service formats its ids (from a running number)
ID_FORMAT = {"clients": "C-{:06d}", "service_periods": "SP-{:06d}", "activation_plans": "AP-{:06d}"}
NOTIFICATION_ID_FORMAT = "N-{:06d}"
#: when a record last changed (ISO 8601, UTC); lists are ordered by (modified, id)
MODIFIED = "modified"
Q_MODIFIED_AFTER = "modifiedAfter"
Q_AFTER_ID = "afterId"
Q_LIMIT = "limit"
DEFAULT_PAGE = 100
MAX_PAGE = 500
#: the most bytes one answer may hold (a page, a batch's results): parsed, a page takes up
#: to about ten times its size in memory; a larger page is asked for again with half the limit
MAX_PAGE_BYTES = 8 * 1024 * 1024
#: the page envelope: ``{"items": [...], "hasMore": bool}``
PAGE_ITEMS = "items"
PAGE_HAS_MORE = "hasMore"

# --- native records ------------------------------------------------------------------------
PERSON_ID = "personId"
DAYS_PER_WEEK = "daysPerWeek"
#: canonical field -> native field
CLIENT_FIELDS = {
    "hetu": PERSON_ID,
    "first_name": "firstName",
    "last_name": "lastName",
    "home_municipality": "homeMunicipality",
    "language": "language",
}
PERIOD_FIELDS = {
    "client_hetu": PERSON_ID,
    "service_type": "serviceCode",
    "provider_business_id": "providerBusinessId",
    "decision_date": "decisionDate",
    "start_date": "startDate",
    "planned_end_date": "plannedEndDate",
    "actual_end_date": "actualEndDate",
    "days_per_week": DAYS_PER_WEEK,
    "hours_per_day": "hoursPerDay",
    "status": "status",
    "interruption_reason": "interruptionReason",
}
PLAN_FIELDS = {
    "client_hetu": PERSON_ID,
    "drawn_up_date": "drawnUp",
    "goals": "goals",
    "measures": "measures",
    "responsible_official": "responsibleOfficial",
    "review_date": "reviewDate",
}

# --- code lists ----------------------------------------------------------------------------
#: native service code -> canonical service type
SERVICE_CODES = {
    "KTT": "rehabilitative_work_activity",
    "SOKU-YV": "social_rehabilitation_individual_coaching",
    "SOKU-RV": "social_rehabilitation_group_coaching",
    "SOKU-TT": "social_rehabilitation_intensified_work",
}
SERVICE_CODE_OF = {v: k for k, v in SERVICE_CODES.items()}
KTT = "KTT"
#: native period status -> canonical status
STATUS_CODES = {
    "SUUNNITELTU": "planned",
    "VOIMASSA": "active",
    "KESKEYTETTY": "interrupted",
    "PAATTYNYT": "ended",
}
STATUS_CODE_OF = {v: k for k, v in STATUS_CODES.items()}

# --- period notifications (municipality -> employment authority) --------------------------
N_PERSON_ID = PERSON_ID
N_SERVICE_CODE = "serviceCode"
N_EVENT = "event"
N_EVENT_DATE = "eventDate"
#: the period's start date: with the person and the service it identifies the period
N_PERIOD_START = "periodStart"
N_REASON = "reason"
N_KEY = "idempotencyKey"
N_ID = "notificationId"
#: the fields a notification may carry (the sandbox refuses any other)
NOTIFICATION_FIELDS = (
    N_PERSON_ID,
    N_SERVICE_CODE,
    N_EVENT,
    N_EVENT_DATE,
    N_PERIOD_START,
    N_REASON,
    N_KEY,
)
#: the canonical fields a notification carries
NOTIFICATION_CARRIES = (
    "client_hetu",
    "service_type",
    "status",
    "start_date",
    "actual_end_date",
    "interruption_reason",
)
#: only rehabilitative work activity periods are notified (law 189/2001)
NOTIFIED_SERVICE_CODES = frozenset({KTT})
EVENT_STARTED, EVENT_INTERRUPTED, EVENT_ENDED = "STARTED", "INTERRUPTED", "ENDED"
#: a planned period has no event yet; the adapter never sends this code
EVENT_NONE = "PLANNED"
NOTIFIED_EVENTS = frozenset({EVENT_STARTED, EVENT_INTERRUPTED, EVENT_ENDED})
#: canonical status -> event
EVENT_OF_STATUS = {
    "planned": EVENT_NONE,
    "active": EVENT_STARTED,
    "interrupted": EVENT_INTERRUPTED,
    "ended": EVENT_ENDED,
}
#: event -> the canonical field its date comes from
EVENT_DATE_FIELD = {
    EVENT_STARTED: "start_date",
    EVENT_INTERRUPTED: "actual_end_date",
    EVENT_ENDED: "actual_end_date",
}
#: the canonical field behind each notification field (for reasons that name the field)
NOTIFICATION_SOURCE = {
    N_PERSON_ID: "client_hetu",
    N_SERVICE_CODE: "service_type",
    N_EVENT: "status",
    N_PERIOD_START: "start_date",
    N_REASON: "interruption_reason",
}
#: the batch envelope: ``{"notifications": [...]}`` -> ``{"results": [...]}``
BATCH_NOTIFICATIONS = "notifications"
BATCH_RESULTS = "results"
#: per-item result: ``{idempotencyKey, result, notificationId?, reason?}``
R_RESULT = "result"
R_REASON = "reason"
RESULT_ACCEPTED = "accepted"
#: the key was seen before: the earlier notification, nothing new created
RESULT_DUPLICATE = "duplicate"
RESULT_REJECTED = "rejected"
#: the service could not store the item this time; resending with the same key may succeed
RESULT_FAILED = "failed"


# --- native -> canonical -------------------------------------------------------------------
def ref(stream: str, native_id: str) -> str:
    """How a record is named in errors: ``te_office/{stream}/{native id}`` (``where`` of the
    ``*_to_canonical`` functions)."""
    return f"{SYSTEM}/{stream}/{native_id}"


def _required(data: Mapping[str, Any], key: str, where: str) -> Any:
    value = data.get(key)
    if value is None or value == "":
        raise RecordError(where, key, "is missing")
    return value


def _code(table: Mapping[str, str], data: Mapping[str, Any], key: str, where: str) -> str:
    value = _required(data, key, where)
    if not isinstance(value, str) or value not in table:
        raise RecordError(where, key, f"is not one of the known codes ({', '.join(table)})")
    return table[value]


def _number(data: Mapping[str, Any], key: str, where: str, *, whole: bool = False) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(where, key, "is not a number")
    if whole:
        if value != int(value):
            raise RecordError(where, key, "is not a whole number")
        return int(value)
    return value


def _plain(data: Mapping[str, Any], fields: Mapping[str, str], *names: str) -> dict[str, Any]:
    """Canonical keyword arguments for fields copied as they are (the model validates them)."""
    return {name: data.get(fields[name]) for name in names if data.get(fields[name]) is not None}


def client_to_canonical(where: str, data: Mapping[str, Any]) -> Client:
    """A client record as the canonical client; errors name the record ``where``."""
    return Client(
        hetu=_required(data, PERSON_ID, where),
        **_plain(data, CLIENT_FIELDS, "first_name", "last_name", "home_municipality", "language"),
    )


def period_to_canonical(where: str, data: Mapping[str, Any]) -> ServiceEpisode:
    """A service period as the canonical episode; errors name the record ``where``."""
    f = PERIOD_FIELDS
    return ServiceEpisode(
        client_hetu=_required(data, PERSON_ID, where),
        service_type=_code(SERVICE_CODES, data, f["service_type"], where),
        status=_code(STATUS_CODES, data, f["status"], where),
        days_per_week=_number(data, f["days_per_week"], where, whole=True),
        hours_per_day=_number(data, f["hours_per_day"], where),
        **_plain(
            data,
            f,
            "provider_business_id",
            "decision_date",
            "start_date",
            "planned_end_date",
            "actual_end_date",
            "interruption_reason",
        ),
    )


def plan_to_canonical(where: str, data: Mapping[str, Any]) -> ActivationPlan:
    """An activation plan as the canonical plan; errors name the record ``where``."""
    f = PLAN_FIELDS
    return ActivationPlan(
        client_hetu=_required(data, PERSON_ID, where),
        drawn_up_date=_required(data, f["drawn_up_date"], where),
        goals=_required(data, f["goals"], where),
        measures=data.get(f["measures"]) or [],
        responsible_official=_required(data, f["responsible_official"], where),
        **_plain(data, f, "review_date"),
    )


def notification_to_canonical(where: str, data: Mapping[str, Any]) -> ServiceEpisode:
    """A notification read back as the episode it reports (the fields it carries); errors
    name the record ``where``."""
    event = _code({e: e for e in NOTIFIED_EVENTS}, data, N_EVENT, where)
    status = next(s for s, e in EVENT_OF_STATUS.items() if e == event)
    return ServiceEpisode(
        client_hetu=_required(data, N_PERSON_ID, where),
        service_type=_code(SERVICE_CODES, data, N_SERVICE_CODE, where),
        status=status,
        start_date=_required(data, N_PERIOD_START, where),
        actual_end_date=None if event == EVENT_STARTED else _required(data, N_EVENT_DATE, where),
        interruption_reason=data.get(N_REASON) if event == EVENT_INTERRUPTED else None,
    )


# --- canonical -> native -------------------------------------------------------------------
def _rename(record: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    return {
        native: record[canonical]
        for canonical, native in fields.items()
        if record.get(canonical) is not None
    }


def client_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    return _rename(record, CLIENT_FIELDS)


def period_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    """A native service period; unknown codes and missing fields are left out."""
    native = _rename(record, PERIOD_FIELDS)
    for canonical, table in (("service_type", SERVICE_CODE_OF), ("status", STATUS_CODE_OF)):
        native.pop(PERIOD_FIELDS[canonical], None)
        code = table.get(record.get(canonical) or "")
        if code:
            native[PERIOD_FIELDS[canonical]] = code
    return native


def plan_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    return _rename(record, PLAN_FIELDS)


def notification_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    """A period notification from a canonical ServiceEpisode restricted to the fields the
    exchange allows. Never raises: what cannot be filled is left out, and the adapter's
    ``write`` decides whether the notification can be sent (see :data:`EVENT_NONE`)."""
    native: dict[str, Any] = {}
    if record.get("client_hetu"):
        native[N_PERSON_ID] = record["client_hetu"]
    if code := SERVICE_CODE_OF.get(record.get("service_type") or ""):
        native[N_SERVICE_CODE] = code
    event = EVENT_OF_STATUS.get(record.get("status") or "")
    if event:
        native[N_EVENT] = event
        date_field = EVENT_DATE_FIELD.get(event)
        if date_field and record.get(date_field):
            native[N_EVENT_DATE] = record[date_field]
        if record.get("start_date"):
            native[N_PERIOD_START] = record["start_date"]
        if event == EVENT_INTERRUPTED and record.get("interruption_reason"):
            native[N_REASON] = record["interruption_reason"]
    return native


def notification_needs(event: str) -> list[str]:
    """The notification fields an event must carry."""
    needed = [N_PERSON_ID, N_SERVICE_CODE, N_EVENT_DATE, N_PERIOD_START]
    return needed + [N_REASON] if event == EVENT_INTERRUPTED else needed


def canonical_name(notification_field: str, event: str) -> str:
    """The canonical field a notification field is filled from (names it in reasons)."""
    if notification_field == N_EVENT_DATE:
        return EVENT_DATE_FIELD.get(event, "start_date")
    return NOTIFICATION_SOURCE.get(notification_field, notification_field)


def iso(value: dt.date | dt.datetime) -> str:
    """ISO 8601 as the service writes it (UTC with ``Z``)."""
    return value.isoformat().replace("+00:00", "Z")
