"""Every name of the municipal case system's batch interface that the hub had to invent.

Effica/Lifecare, ProConsona and Apotti publish no API (DOMAIN.md). The case system is
modelled as a nightly XML batch export and an XML import endpoint, described by
``schemas/municipal/case-system.xsd``; element names, paths and codes below mirror it. When
a real specification appears, this module and the XSD change, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.errors import RecordError
from hub.model import ActivationPlan, CanonicalEntity, Client, ServiceEpisode
from hub.settings import PROJECT_ROOT

SYSTEM = "municipal"
NAMESPACE = "urn:fi:hub:municipal:1"
XSD = PROJECT_ROOT / "schemas" / "municipal" / "case-system.xsd"

EXPORTS_PATH = "/exports"
IMPORT_PATH = "/import"

SERVICE_CODES = {
    "KTT": "rehabilitative_work_activity",
    "SOSKU-YKS": "social_rehabilitation_individual_coaching",
    "SOSKU-RYH": "social_rehabilitation_group_coaching",
    "SOSKU-TEH": "social_rehabilitation_intensified_work",
}
STATUS_CODES = {
    "PLANNED": "planned",
    "ACTIVE": "active",
    "INTERRUPTED": "interrupted",
    "ENDED": "ended",
}


@dataclass(frozen=True)
class Field:
    native: str
    canonical: str
    codes: Mapping[str, str] | None = None  # native code -> canonical value
    repeated: bool = False


@dataclass(frozen=True)
class RecordType:
    element: str
    entity: type[CanonicalEntity]
    fields: tuple[Field, ...]  # in the XSD's order

    def required(self) -> list[Field]:
        return [f for f in self.fields if f.native in _REQUIRED[self.element]]


_REQUIRED = {
    "client": {"hetu"},
    "episode": {"hetu", "serviceCode", "status"},
    "plan": {"hetu", "drawnUp", "goal", "official"},
}

RECORD_TYPES = {
    "clients": RecordType(
        "client",
        Client,
        (
            Field("hetu", "hetu"),
            Field("firstName", "first_name"),
            Field("lastName", "last_name"),
            Field("homeMunicipality", "home_municipality"),
            Field("language", "language"),
        ),
    ),
    "service_episodes": RecordType(
        "episode",
        ServiceEpisode,
        (
            Field("hetu", "client_hetu"),
            Field("serviceCode", "service_type", SERVICE_CODES),
            Field("providerBusinessId", "provider_business_id"),
            Field("decisionDate", "decision_date"),
            Field("startDate", "start_date"),
            Field("plannedEndDate", "planned_end_date"),
            Field("actualEndDate", "actual_end_date"),
            Field("daysPerWeek", "days_per_week"),
            Field("hoursPerDay", "hours_per_day"),
            Field("status", "status", STATUS_CODES),
            Field("interruptionReason", "interruption_reason"),
        ),
    ),
    "activation_plans": RecordType(
        "plan",
        ActivationPlan,
        (
            Field("hetu", "client_hetu"),
            Field("drawnUp", "drawn_up_date"),
            Field("goal", "goals", repeated=True),
            Field("measure", "measures", repeated=True),
            Field("official", "responsible_official"),
            Field("reviewDate", "review_date"),
        ),
    ),
}
STREAM_OF_ELEMENT = {rt.element: stream for stream, rt in RECORD_TYPES.items()}


def to_canonical(stream: str, native_id: str, data: Mapping[str, Any]) -> CanonicalEntity:
    rt = RECORD_TYPES[stream]
    ref = f"{SYSTEM}/{stream}/{native_id}"
    values: dict[str, Any] = {}
    for f in rt.fields:
        value = data.get(f.native)
        if value is None or value == []:
            continue
        if f.codes is not None:
            if value not in f.codes:
                raise RecordError(ref, f.native, f"unknown code {value!r}")
            value = f.codes[value]
        values[f.canonical] = value
    return rt.entity(**values)


def to_native(stream: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """Native fields from a canonical record; missing canonical fields are left out."""
    rt = RECORD_TYPES[stream]
    native: dict[str, Any] = {}
    for f in rt.fields:
        value = record.get(f.canonical)
        if value is None or value == []:
            continue
        if f.codes is not None:
            value = {v: k for k, v in f.codes.items()}[value]
        native[f.native] = [str(v) for v in value] if f.repeated else _text(value)
    return native


def missing_required(stream: str, native: Mapping[str, Any]) -> list[str]:
    return [f.native for f in RECORD_TYPES[stream].required() if not native.get(f.native)]


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
