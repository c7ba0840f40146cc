"""Every name of the employment authority's client-data service that the hub had to invent.

No public API exists for the employment authority's client data (DOMAIN.md). The service is
modelled as REST/JSON behind X-Road REST; the paths, JSON field names and code values below
are ours. When a real specification appears, this module (and only this one) changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hub.errors import RecordError
from hub.model import ActivationPlan, Client, ServiceEpisode

SYSTEM = "te_office"

# --- X-Road addressing ---------------------------------------------------------------------
#: the service provider: KEHA Centre's client data service on the test instance
XROAD_INSTANCE = "FI-TEST"
PROVIDER = "FI-TEST/GOV/0245437-2/asiakastiedot"
BASE_PATH = "/r1/" + PROVIDER
#: the hub as an X-Road client subsystem of a municipality
DEFAULT_CLIENT = "FI-TEST/MUN/0211675-2/hub"

# --- resources -----------------------------------------------------------------------------
PATHS = {
    "clients": "/clients",
    "service_periods": "/service-periods",
    "activation_plans": "/activation-plans",
    "period_notifications": "/period-notifications",
}
ID_FIELD = {"clients": "clientId", "service_periods": "periodId", "activation_plans": "planId"}
MAX_PAGE = 500

# --- code lists ----------------------------------------------------------------------------
SERVICE_CODES = {
    "KTT": "rehabilitative_work_activity",
    "SOKU-YV": "social_rehabilitation_individual_coaching",
    "SOKU-RV": "social_rehabilitation_group_coaching",
    "SOKU-TT": "social_rehabilitation_intensified_work",
}
SERVICE_CODE_OF = {v: k for k, v in SERVICE_CODES.items()}
STATUS_CODES = {
    "SUUNNITELTU": "planned",
    "VOIMASSA": "active",
    "KESKEYTETTY": "interrupted",
    "PAATTYNYT": "ended",
}
#: notification events: canonical status -> (event, the date field it is dated by)
EVENTS = {
    "active": ("STARTED", "start_date"),
    "interrupted": ("INTERRUPTED", "actual_end_date"),
    "ended": ("ENDED", "actual_end_date"),
}


def _ref(stream: str, native_id: str) -> str:
    return f"{SYSTEM}/{stream}/{native_id}"


def _get(data: Mapping[str, Any], key: str, ref: str, *, required: bool = False) -> Any:
    value = data.get(key)
    if required and value in (None, ""):
        raise RecordError(ref, key, "is missing")
    return value


def _code(table: Mapping[str, str], data: Mapping[str, Any], key: str, ref: str) -> str:
    value = _get(data, key, ref, required=True)
    if value not in table:
        raise RecordError(ref, key, f"unknown code {value!r} (known: {', '.join(table)})")
    return table[value]


def _number(data: Mapping[str, Any], key: str, ref: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(ref, key, "is not a number")
    return value


def client_to_canonical(native_id: str, data: Mapping[str, Any]) -> Client:
    ref = _ref("clients", native_id)
    return Client(
        hetu=_get(data, "personId", ref, required=True),
        first_name=data.get("firstName"),
        last_name=data.get("lastName"),
        home_municipality=data.get("homeMunicipality"),
        language=data.get("language"),
    )


def period_to_canonical(native_id: str, data: Mapping[str, Any]) -> ServiceEpisode:
    ref = _ref("service_periods", native_id)
    days = _number(data, "daysPerWeek", ref)
    if days is not None and days != int(days):
        raise RecordError(ref, "daysPerWeek", "is not a whole number")
    return ServiceEpisode(
        client_hetu=_get(data, "personId", ref, required=True),
        service_type=_code(SERVICE_CODES, data, "serviceCode", ref),
        provider_business_id=data.get("providerBusinessId"),
        decision_date=data.get("decisionDate"),
        start_date=data.get("startDate"),
        planned_end_date=data.get("plannedEndDate"),
        actual_end_date=data.get("actualEndDate"),
        days_per_week=None if days is None else int(days),
        hours_per_day=_number(data, "hoursPerDay", ref),
        status=_code(STATUS_CODES, data, "status", ref),
        interruption_reason=data.get("interruptionReason"),
    )


def plan_to_canonical(native_id: str, data: Mapping[str, Any]) -> ActivationPlan:
    ref = _ref("activation_plans", native_id)
    return ActivationPlan(
        client_hetu=_get(data, "personId", ref, required=True),
        drawn_up_date=_get(data, "drawnUp", ref, required=True),
        goals=_get(data, "goals", ref, required=True),
        measures=data.get("measures") or [],
        responsible_official=_get(data, "responsibleOfficial", ref, required=True),
        review_date=data.get("reviewDate"),
    )


TO_CANONICAL = {
    "clients": client_to_canonical,
    "service_periods": period_to_canonical,
    "activation_plans": plan_to_canonical,
}


def notification_from_canonical(record: Mapping[str, Any]) -> dict[str, Any]:
    """A period notification from a canonical ServiceEpisode (restricted to the allowed
    fields). Raises ``KeyError`` naming a canonical field the notification needs but lacks;
    returns ``{}`` when there is nothing to notify (a planned period)."""
    status = record.get("status")
    if status is None:
        raise KeyError("status")
    if status not in EVENTS:
        return {}
    event, date_field = EVENTS[status]
    for needed in ("client_hetu", "service_type", date_field):
        if not record.get(needed):
            raise KeyError(needed)
    notification = {
        "personId": record["client_hetu"],
        "serviceCode": SERVICE_CODE_OF[record["service_type"]],
        "event": event,
        "eventDate": record[date_field],
    }
    if event == "INTERRUPTED":
        if not record.get("interruption_reason"):
            raise KeyError("interruption_reason")
        notification["reason"] = record["interruption_reason"]
    return notification


def period_from_canonical(record: Mapping[str, Any]) -> dict[str, Any]:
    """A native service period from a canonical ServiceEpisode (for round trips)."""
    fields = {
        "personId": record.get("client_hetu"),
        "serviceCode": SERVICE_CODE_OF.get(record.get("service_type", "")),
        "providerBusinessId": record.get("provider_business_id"),
        "decisionDate": record.get("decision_date"),
        "startDate": record.get("start_date"),
        "plannedEndDate": record.get("planned_end_date"),
        "actualEndDate": record.get("actual_end_date"),
        "daysPerWeek": record.get("days_per_week"),
        "hoursPerDay": record.get("hours_per_day"),
        "status": {v: k for k, v in STATUS_CODES.items()}.get(record.get("status", "")),
        "interruptionReason": record.get("interruption_reason"),
    }
    return {k: v for k, v in fields.items() if v is not None}


def iso(value: dt.date | dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
