"""Every name of the municipal case system's batch interface that the hub had to invent.

Effica/Lifecare, ProConsona and Apotti publish no API (DOMAIN.md). The case system is
modelled as a nightly XML batch export (``schemas/export.xsd`` of this package) and an XML
import endpoint (``schemas/import.xsd``); element and attribute names, namespaces, paths
and code values below mirror those schemas. When a real specification appears, this module
and the XSDs change, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.errors import RecordError
from hub.model import (
    ActivationPlan,
    Assessment,
    Attendance,
    BenefitDays,
    BillingLine,
    CanonicalEntity,
    Client,
    DisclosureProhibition,
    Notification,
    ServiceEpisode,
)
from hub.resources import PackagedFile

SYSTEM = "municipal"
TITLE = "Municipal social-welfare case system (nightly XML export, XML import)"
SANDBOX_PORT = 8702
#: the municipalities whose data the system holds (a county's case system lists all of its
#: municipalities); ``municipality_code`` names one, the single-municipality form
OPTION_MUNICIPALITIES = "municipality_codes"
OPTION_MUNICIPALITY = "municipality_code"
SANDBOX_MUNICIPALITY = "743"  # Seinäjoki

# --- schemas and namespaces ---------------------------------------------------------------
#: carried by this package (``hub_municipal/schemas/``, with ``records.xsd`` they include);
#: found when first used, a ConfigError naming the package and the file when missing
EXPORT_XSD = PackagedFile("hub_municipal", "schemas", "export.xsd")
IMPORT_XSD = PackagedFile("hub_municipal", "schemas", "import.xsd")
EXPORT_NS = "urn:fi:hub:municipal:export:1"
IMPORT_NS = "urn:fi:hub:municipal:import:1"

#: the largest nightly export read: exports are streamed in flat memory, so the cap only
#: stops a runaway response (a million episodes is about 440 MB)
EXPORT_MAX_BYTES = 4 * 1024**3

# --- HTTP paths -----------------------------------------------------------------------------
EXPORTS_PATH = "/exports"  # GET: JSON list of exports; GET /exports/{id}: one export (XML)
IMPORT_PATH = "/import"  # POST: an <import> document; answers an <importResponse>
NIGHTLY_PATH = "/_sandbox/nightly"  # sandbox only: close the next nightly export now

# --- the export list (JSON) -----------------------------------------------------------------
LIST_EXPORTS = "exports"
LIST_ID = "id"
LIST_RECORDS = "records"  # number of records in the export
LIST_COUNTS = "counts"  # records per element name
LIST_BYTES = "bytes"  # the size of the export document, where the listing gives it
#: the largest export listing read (one line per night: years of exports fit many times)
LISTING_MAX_BYTES = 4 * 1024 * 1024

# --- export document ------------------------------------------------------------------------
EXPORT_ROOT = "export"
EXPORT_ID_ATTR = "exportId"
#: the municipalities whose data the export holds (a list: a county's exports hold several)
EXPORT_MUNICIPALITY_ATTR = "municipality"
EXPORT_GENERATED_ATTR = "generated"
RECORD_ID_ATTR = "id"

# --- import document and its response -------------------------------------------------------
IMPORT_ROOT = "import"
#: the municipality an import is addressed to: the first of the system's codes
IMPORT_MUNICIPALITY_ATTR = "municipality"
KEY_ATTR = "idempotencyKey"
RESPONSE_ROOT = "importResponse"
RESULT = "result"
RESULT_STATUS_ATTR = "status"
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
#: the municipality Kela's records are addressed to (billing line, notice; benefit days)
KELA_MUNICIPALITY, KELA_PAYING_MUNICIPALITY = "municipality", "payingMunicipality"

# --- code values ----------------------------------------------------------------------------
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
OUTCOME_CODES = {
    "TYO": "employment",
    "KOULUTUS": "education",
    "MUU-PALVELU": "other_service",
    "EI-MUUTOSTA": "no_change",
    "EI-TIEDOSSA": "unknown",
}
BENEFIT_CODES = {
    "TMT": "labour_market_subsidy",
    "PPR": "basic_daily_allowance",
    "ANS": "earnings_related_allowance",
}
NOTICE_CODES = {
    "SOSIAALITYO": "social_work_need",
    "TAYD-TOTU": "supplementary_income_support",
}


@dataclass(frozen=True)
class Field:
    """One child element of a record and the canonical field it carries."""

    native: str
    canonical: str
    required: bool = False  # the XSD requires it
    codes: Mapping[str, str] | None = None  # native code -> canonical value
    repeated: bool = False
    #: an xs:decimal: written in plain notation (JSON may give ``1E+3``, which XSD refuses)
    decimal: bool = False


@dataclass(frozen=True)
class RecordType:
    """One kind of record of the interface: its element in the schemas, the canonical
    entity it carries, and its fields."""

    element: str
    #: prefix of the case system's ids of this record type (``E-000123``)
    id_prefix: str
    entity: type[CanonicalEntity]
    fields: tuple[Field, ...]  # in the XSD's order
    #: in the nightly export (export.xsd) / accepted by the import (import.xsd)
    exported: bool = True
    imported: bool = True

    def required(self) -> tuple[Field, ...]:
        return _REQUIRED[self.element]

    def repeated(self) -> set[str]:
        return {f.native for f in self.fields if f.repeated}

    def carries(self) -> tuple[str, ...] | None:
        """The canonical fields the record holds, or None when it holds all of them (an
        assessment does not name its instrument: the case system records only Kykyviisari)."""
        fields = tuple(f.canonical for f in self.fields)
        return None if set(fields) == set(self.entity.model_fields) else fields


CLIENT = RecordType(
    "client",
    "C",
    Client,
    (
        Field("hetu", "hetu", required=True),
        Field("firstName", "first_name"),
        Field("lastName", "last_name"),
        Field("homeMunicipality", "home_municipality"),
        Field("language", "language"),
    ),
)

EPISODE = RecordType(
    "episode",
    "E",
    ServiceEpisode,
    (
        Field("hetu", "client_hetu", required=True),
        Field("serviceCode", "service_type", required=True, codes=SERVICE_CODES),
        Field("providerBusinessId", "provider_business_id"),
        Field("decisionDate", "decision_date"),
        Field("startDate", "start_date"),
        Field("plannedEndDate", "planned_end_date"),
        Field("actualEndDate", "actual_end_date"),
        Field("daysPerWeek", "days_per_week"),
        Field("hoursPerDay", "hours_per_day", decimal=True),
        Field("status", "status", required=True, codes=STATUS_CODES),
        Field("interruptionReason", "interruption_reason"),
        Field("practiceModel", "practice_model"),
        Field("outcome", "outcome", codes=OUTCOME_CODES),
    ),
)

PLAN = RecordType(
    "plan",
    "P",
    ActivationPlan,
    (
        Field("hetu", "client_hetu", required=True),
        Field("drawnUp", "drawn_up_date", required=True),
        Field("goal", "goals", required=True, repeated=True),
        Field("measure", "measures", repeated=True),
        Field("official", "responsible_official", required=True),
        Field("reviewDate", "review_date"),
    ),
)

ATTENDANCE = RecordType(
    "attendance",
    "A",
    Attendance,
    (
        Field("hetu", "client_hetu", required=True),
        Field("serviceCode", "service_type", required=True, codes=SERVICE_CODES),
        Field("episodeStart", "episode_start_date", required=True),
        Field("providerBusinessId", "provider_business_id"),
        Field("week", "week", required=True),
        Field("attendedDate", "attended_dates", repeated=True),
        Field("absentDate", "absent_dates", repeated=True),
    ),
    imported=False,
)

ASSESSMENT = RecordType(
    "assessment",
    "K",
    Assessment,
    (
        Field("hetu", "client_hetu", required=True),
        Field("assessedOn", "assessed_on", required=True),
        Field("workAbility", "work_ability"),
        Field("keho", "keho"),
        Field("mieli", "mieli"),
        Field("taidot", "taidot"),
        Field("arki", "arki"),
        Field("osallisuus", "osallisuus"),
    ),
    imported=False,
)

DISCLOSURE_PROHIBITION = RecordType(
    "luovutuskielto",
    "D",
    DisclosureProhibition,
    (
        Field("hetu", "client_hetu", required=True),
        Field("voimassaAlkaen", "valid_from", required=True),
        Field("peruttu", "revoked_on"),
        Field("palvelu", "service_types", repeated=True, codes=SERVICE_CODES),
    ),
    imported=False,
)

BILLING_LINE = RecordType(
    "billingLine",
    "L",
    BillingLine,
    (
        Field("hetu", "client_hetu", required=True),
        Field("billingMonth", "billing_month", required=True),
        Field("municipality", "municipality_code", required=True),
        Field("benefitCode", "benefit_type", required=True, codes=BENEFIT_CODES),
        Field("daysFrom", "days_from", required=True),
        Field("daysTo", "days_to", required=True),
        Field("benefitPaid", "benefit_paid", required=True, decimal=True),
        Field("sharePercent", "share_percent", required=True, decimal=True),
        Field("municipalShare", "municipal_share", required=True, decimal=True),
        Field("dueDate", "due_date", required=True),
    ),
    exported=False,
)

BENEFIT_DAYS = RecordType(
    "benefitDays",
    "B",
    BenefitDays,
    (
        Field("hetu", "client_hetu", required=True),
        Field("benefitCode", "benefit_type", required=True, codes=BENEFIT_CODES),
        Field("asOf", "as_of", required=True),
        Field("cumulativeDays", "cumulative_days", required=True),
        Field("payingMunicipality", "paying_municipality"),
    ),
    exported=False,
)

KELA_NOTICE = RecordType(
    "kelaNotice",
    "N",
    Notification,
    (
        Field("hetu", "client_hetu", required=True),
        Field("noticeKind", "kind", required=True, codes=NOTICE_CODES),
        Field("reference", "reference", required=True),
        Field("sentAt", "sent_at", required=True),
        Field("municipality", "municipality_code", required=True),
        Field("reason", "reason"),
        Field("urgent", "urgent"),
    ),
    exported=False,
)

#: every record type of the interface, in the schemas' order
RECORD_TYPES: tuple[RecordType, ...] = (
    CLIENT,
    EPISODE,
    PLAN,
    ATTENDANCE,
    ASSESSMENT,
    DISCLOSURE_PROHIBITION,
    BILLING_LINE,
    BENEFIT_DAYS,
    KELA_NOTICE,
)
BY_ELEMENT: dict[str, RecordType] = {rt.element: rt for rt in RECORD_TYPES}
_REQUIRED = {rt.element: tuple(f for f in rt.fields if f.required) for rt in RECORD_TYPES}
#: (native, canonical, codes) of every field of a record type, for the per-record loop
_READ_PLAN = {
    rt.element: tuple((f.native, f.canonical, f.codes) for f in rt.fields) for rt in RECORD_TYPES
}
#: (field, canonical code -> native code) of every field of a record type, for writing
_WRITE_PLAN = {
    rt.element: tuple(
        (f, {v: k for k, v in f.codes.items()} if f.codes is not None else None) for f in rt.fields
    )
    for rt in RECORD_TYPES
}


def to_canonical(rt: RecordType, data: Mapping[str, Any], where: str) -> CanonicalEntity:
    """The canonical entity of an exported record (``data`` from ``record_fields``);
    ``where`` names the record in errors (``municipal/service_episodes/E-000001``)."""
    values: dict[str, Any] = {}
    for native, canonical, codes in _READ_PLAN[rt.element]:
        value = data.get(native)
        if value is None or value == "" or value == []:  # absent, empty, no repeated element
            continue
        if codes is not None:
            try:
                value = [codes[v] for v in value] if type(value) is list else codes[value]
            except (KeyError, TypeError):
                raise RecordError(where, native, "not a code of the case system") from None
        values[canonical] = value
    return rt.entity.model_validate(values)


def to_native(rt: RecordType, record: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Native fields (text, or lists of text) from a canonical record as JSON; fields the
    record lacks are left out. ``where`` names the stream in errors (``municipal/clients``)."""
    native: dict[str, Any] = {}
    for f, reverse in _WRITE_PLAN[rt.element]:
        value = record.get(f.canonical)
        if value is None or value == []:
            continue
        if reverse is not None:
            values = value if f.repeated and isinstance(value, list) else [value]
            if not all(isinstance(v, str) and v in reverse for v in values):
                raise RecordError(where, f.canonical, "no code in the case system")
            value = [reverse[v] for v in values] if f.repeated else reverse[value]
        if f.decimal:
            value = _decimal_text(value)
        if f.repeated:
            native[f.native] = [_text(v) for v in value]
        else:
            native[f.native] = value if type(value) is str else _text(value)
    return native


def describe(rt: RecordType, native: str) -> str:
    """``native (canonical)`` for a field of the record type, else the name alone."""
    for f in rt.fields:
        if f.native == native:
            return f"{f.native} ({f.canonical})"
    return native


def missing_required(rt: RecordType, native: Mapping[str, Any]) -> list[Field]:
    """The fields the XSD requires that ``native`` lacks."""
    return [f for f in rt.required() if not native.get(f.native)]


def _decimal_text(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value  # left for the import schema to refuse, naming the field
    return format(number, "f") if number.is_finite() else value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
