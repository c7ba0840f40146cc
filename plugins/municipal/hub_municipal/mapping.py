"""Every name of the municipal case system's batch interface that the hub had to invent.

Effica/Lifecare, ProConsona and Apotti publish no API (DOMAIN.md). The case system is
modelled as a nightly XML batch export (``schemas/export.xsd`` of this package) and an XML
import endpoint (``schemas/import.xsd``); element and attribute names, namespaces, paths
and code values below mirror those schemas. When a real specification appears, this module
(with :mod:`.mapping_benefits`, whose names it gives out as its own) and the XSDs change,
nothing else. The records' shape and translations are in :mod:`.recordtypes`.
"""

from __future__ import annotations

from hub.model import (
    ActivationPlan,
    Assessment,
    Attendance,
    Client,
    DisclosureProhibition,
    Feedback,
    FollowUp,
    ServiceEpisode,
)
from hub.resources import PackagedFile

# the names of the records about benefits and obligations, this module's as well
from hub_municipal.mapping_benefits import (  # noqa: F401 - given out as this module's own
    BENEFIT_CODES,
    BENEFIT_DAYS,
    BILL_DISPUTE,
    BILLING_LINE,
    DISPUTE_CODES,
    INCOME_SUPPORT,
    KELA_MUNICIPALITY,
    KELA_NOTICE,
    KELA_PAYING_MUNICIPALITY,
    NOTICE_CODES,
    PLAN_OBLIGATION,
    SUPPORT_BASIC,
    SUPPORT_KIND_CODES,
    SUPPORT_PREVENTIVE,
    SUPPORT_SUPPLEMENTARY,
    TRIGGER_CODES,
)
from hub_municipal.recordtypes import (  # noqa: F401 - the translations, given out here
    Field,
    RecordType,
    describe,
    missing_required,
    to_canonical,
    to_native,
)

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
#: sandbox only: add or replace records of the next nightly export (late ones, for tests)
RECORDS_PATH = "/_sandbox/records"

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
#: where the client went (an episode's outcome) or was (a follow-up's situation): TYO work
#: on the open labour market, PALKKATUKI pay-subsidised work, TYOKOKEILU a work trial
OUTCOME_CODES = {
    "TYO": "employment",
    "PALKKATUKI": "pay_subsidy",
    "TYOKOKEILU": "work_trial",
    "KOULUTUS": "education",
    "MUU-PALVELU": "other_service",
    "EI-MUUTOSTA": "no_change",
    "EI-TIEDOSSA": "unknown",
}
#: why an episode was interrupted: the case system's codes of the hub's code list
#: (hub/schemas/codelists/interruption-reasons.json gives them too, with the free texts)
INTERRUPTION_CODES = {
    "TERVEYS": "health",
    "ELAMANTILANNE": "life_situation",
    "POISSAOLOT": "absences",
    "OMA-PAATOS": "own_decision",
    "MUUTTO": "moved_away",
    "SIIRTYMA": "transferred",
    "MUU": "other",
}


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
        Field("municipality", "municipality_code"),
        Field("providerBusinessId", "provider_business_id"),
        Field("referralDate", "referral_date"),
        Field("decisionDate", "decision_date"),
        Field("startDate", "start_date"),
        Field("plannedEndDate", "planned_end_date"),
        Field("actualEndDate", "actual_end_date"),
        Field("daysPerWeek", "days_per_week"),
        Field("hoursPerDay", "hours_per_day", decimal=True),
        Field("status", "status", required=True, codes=STATUS_CODES),
        Field("interruptionReason", "interruption_reason"),
        Field("interruptionCode", "interruption_code", codes=INTERRUPTION_CODES),
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

FOLLOW_UP = RecordType(
    "followUp",
    "S",
    FollowUp,
    (
        Field("hetu", "client_hetu", required=True),
        Field("serviceCode", "service_type", required=True, codes=SERVICE_CODES),
        Field("episodeStart", "episode_start_date", required=True),
        Field("monthsAfter", "months_after", required=True, whole=True),
        Field("observedOn", "observed_on", required=True),
        Field("situation", "situation", required=True, codes=OUTCOME_CODES),
    ),
    imported=False,
)

FEEDBACK = RecordType(
    "feedback",
    "F",
    Feedback,
    (
        Field("hetu", "client_hetu", required=True),
        Field("serviceCode", "service_type", required=True, codes=SERVICE_CODES),
        Field("episodeStart", "episode_start_date", required=True),
        Field("givenOn", "given_on", required=True),
        Field("satisfaction", "satisfaction", required=True),
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

#: every record type of the interface, in the schemas' order
RECORD_TYPES: tuple[RecordType, ...] = (
    CLIENT,
    EPISODE,
    PLAN,
    ATTENDANCE,
    ASSESSMENT,
    FOLLOW_UP,
    FEEDBACK,
    DISCLOSURE_PROHIBITION,
    INCOME_SUPPORT,
    BILLING_LINE,
    BENEFIT_DAYS,
    KELA_NOTICE,
    PLAN_OBLIGATION,
    BILL_DISPUTE,
)
BY_ELEMENT: dict[str, RecordType] = {rt.element: rt for rt in RECORD_TYPES}
