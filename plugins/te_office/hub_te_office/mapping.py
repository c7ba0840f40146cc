"""Every name of the employment authority's client-data service that the hub had to invent.

No public API exists for the employment authority's client data (DOMAIN.md). The service is
modelled as REST/JSON behind X-Road REST; the member code, subsystem, paths, query
parameters, JSON field names, code values and result codes below are ours. When a real
specification appears, this module changes; the adapter, sandbox and data import their
names from here.

Translation both ways lives here too: ``*_to_canonical`` (native JSON → canonical entity,
raising :class:`hub.errors.RecordError` naming the record and the native field, never its
value) and ``*_to_native`` (canonical JSON → native JSON, tolerating missing fields), built
on the name-free helpers of :mod:`.codec`; the labour-policy statements' pair is in
:mod:`.statements`, the activation-plan obligations' in :mod:`.obligations`. The stream
classes say which of them each stream uses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from hub.codelists import interruption_reason
from hub.model import ActivationPlan, Client, ServiceEpisode
from hub_te_office.codec import code_of, coded, copied, number_of, renamed, required_value

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
#: the employment services' periods (work trial, pay subsidy, coaching, training): a list of
#: their own, apart from the KTT and social rehabilitation periods the municipality shares
PATH_EMPLOYMENT_PERIODS = "/employment-service-periods"
PATH_STATEMENTS = "/labour-policy-statements"
#: the native id field of each kind of record
CLIENT_ID = "clientId"
PERIOD_ID = "periodId"
PLAN_ID = "planId"
STATEMENT_ID = "statementId"
#: the lists the service offers, by the name the sandbox and its data give them (the same
#: as the adapter's streams): the path of each, its records' id field and how the service
#: formats their ids (from a running number)
LISTS = {
    "clients": (PATH_CLIENTS, CLIENT_ID, "C-{:06d}"),
    "service_periods": (PATH_PERIODS, PERIOD_ID, "SP-{:06d}"),
    "activation_plans": (PATH_PLANS, PLAN_ID, "AP-{:06d}"),
    "employment_periods": (PATH_EMPLOYMENT_PERIODS, PERIOD_ID, "TP-{:06d}"),
    "labour_policy_statements": (PATH_STATEMENTS, STATEMENT_ID, "TL-{:06d}"),
}
LIST_PATHS = {name: path for name, (path, _, _) in LISTS.items()}
ID_FIELD = {name: id_field for name, (_, id_field, _) in LISTS.items()}
ID_FORMAT = {name: id_format for name, (_, _, id_format) in LISTS.items()}
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
    "plan_type": "planType",
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
    "TYOKOKEILU": "work_trial",
    "PALKKATUKI": "pay_subsidy",
    "VALMENNUS": "coaching",
    "TYOVOIMAKOULUTUS": "labour_market_training",
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
#: native plan type -> canonical plan type
PLAN_TYPE_CODES = {
    "AKTIVOINTI": "activation_plan",
    "MONIALAINEN": "multisectoral_employment_plan",
    "TYOLLISTYMIS": "employment_plan",
}
PLAN_TYPE_CODE_OF = {v: k for k, v in PLAN_TYPE_CODES.items()}

# --- labour-policy statements (translated in .statements) ---------------------------------
STATEMENT_FIELDS = {
    "client_hetu": PERSON_ID,
    "issued_on": "issuedOn",
    "valid_from": "validFrom",
    "valid_until": "validUntil",
    "statement": "statementCode",
    "benefit_type": "benefitCode",
    "reason": "reason",
}
#: native statement code -> canonical eligibility (hub.model.employment.Eligibility)
STATEMENT_CODES = {
    "EI-ESTETTA": "entitled",
    "ESTE": "not_entitled",
    "KORVAUKSETON-MAARAAIKA": "period_without_benefit",
    "TYOSSAOLOVELVOITE": "employment_obligation",
}
#: native benefit code -> canonical benefit type
BENEFIT_CODES = {
    "TMT": "labour_market_subsidy",
    "PERUSPR": "basic_daily_allowance",
    "ANSIOPR": "earnings_related_allowance",
}

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

# --- activation-plan obligations (the hub -> employment authority; see .obligations) -------
PATH_OBLIGATIONS = "/activation-plan-obligations"
#: the batch envelope: ``{"aktivointisuunnitelmaVelvoitteet": [...]}`` -> ``{"results": [...]}``
#: (per item as for notifications: ``{idempotencyKey, result, velvoiteId?, reason?}``)
BATCH_OBLIGATIONS = "aktivointisuunnitelmaVelvoitteet"
O_KEY = N_KEY
O_ID = "velvoiteId"
OBLIGATION_ID_FORMAT = "AV-{:06d}"
#: canonical field -> native field: every field of the entity (what the stream carries)
OBLIGATION_FIELDS = {
    "client_hetu": PERSON_ID,
    "trigger": "velvoiteperuste",
    "reached_on": "tayttymispaiva",
    "due_by": "maaraaika",
    "age_on_reached": "ikaTayttymispaivana",
    "has_plan": "suunnitelmaLaadittu",
    "plan_drawn_up": "suunnitelmanLaatimispaiva",
    "window_assumed": "tarkastelujaksoOletettu",
}
#: native trigger code -> canonical trigger (hub.model.ObligationTrigger, 189/2001 § 3)
TRIGGER_CODES = {
    "TMT180-ALLE25": "subsidy_days_under_25",
    "TOTU4KK-ALLE25": "income_support_months_under_25",
    "TMT500-VAH25": "subsidy_days_25_and_over",
    "TMT180-PR-JALKEEN": "subsidy_after_daily_allowance",
    "TOTU12KK-VAH25": "income_support_months_25_and_over",
}


# --- native -> canonical -------------------------------------------------------------------
def ref(stream: str, native_id: str) -> str:
    """How a record is named in errors: ``te_office/{stream}/{native id}`` (``where`` of the
    ``*_to_canonical`` functions)."""
    return f"{SYSTEM}/{stream}/{native_id}"


def client_to_canonical(where: str, data: Mapping[str, Any]) -> Client:
    """A client record as the canonical client; errors name the record ``where``."""
    return Client(
        hetu=required_value(data, PERSON_ID, where),
        **copied(data, CLIENT_FIELDS, "first_name", "last_name", "home_municipality", "language"),
    )


def period_to_canonical(where: str, data: Mapping[str, Any]) -> ServiceEpisode:
    """A service period as the canonical episode, an interrupted one's reason coded by the
    hub's code list (unknown text: no code); errors name the record ``where``."""
    f = PERIOD_FIELDS
    status = code_of(STATUS_CODES, data, f["status"], where)
    reason = data.get(f["interruption_reason"]) if status == "interrupted" else None
    return ServiceEpisode(
        client_hetu=required_value(data, PERSON_ID, where),
        service_type=code_of(SERVICE_CODES, data, f["service_type"], where),
        status=status,
        interruption_code=interruption_reason(reason) if isinstance(reason, str) else None,
        days_per_week=number_of(data, f["days_per_week"], where, whole=True),
        hours_per_day=number_of(data, f["hours_per_day"], where),
        **copied(
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
        client_hetu=required_value(data, PERSON_ID, where),
        plan_type=code_of(PLAN_TYPE_CODES, data, f["plan_type"], where),
        drawn_up_date=required_value(data, f["drawn_up_date"], where),
        goals=required_value(data, f["goals"], where),
        measures=data.get(f["measures"]) or [],
        responsible_official=required_value(data, f["responsible_official"], where),
        **copied(data, f, "review_date"),
    )


def notification_to_canonical(where: str, data: Mapping[str, Any]) -> ServiceEpisode:
    """A notification read back as the episode it reports (the fields it carries); errors
    name the record ``where``."""
    event = code_of({e: e for e in NOTIFIED_EVENTS}, data, N_EVENT, where)
    status = next(s for s, e in EVENT_OF_STATUS.items() if e == event)
    ended = None if event == EVENT_STARTED else required_value(data, N_EVENT_DATE, where)
    return ServiceEpisode(
        client_hetu=required_value(data, N_PERSON_ID, where),
        service_type=code_of(SERVICE_CODES, data, N_SERVICE_CODE, where),
        status=status,
        start_date=required_value(data, N_PERIOD_START, where),
        actual_end_date=ended,
        interruption_reason=data.get(N_REASON) if event == EVENT_INTERRUPTED else None,
    )


# --- canonical -> native -------------------------------------------------------------------
def client_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    return renamed(record, CLIENT_FIELDS)


def period_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    """A native service period; unknown codes and missing fields are left out."""
    return coded(record, PERIOD_FIELDS, {"service_type": SERVICE_CODE_OF, "status": STATUS_CODE_OF})


def plan_to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    return coded(record, PLAN_FIELDS, {"plan_type": PLAN_TYPE_CODE_OF})


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


def iso(value: dt.date | dt.datetime) -> str:
    """ISO 8601 as the service writes it (UTC with ``Z``)."""
    return value.isoformat().replace("+00:00", "Z")
