"""Every name of Kela's modelled municipal services, in one place.

Kela's municipal interfaces (Kelmu, eTotu) are X-Road services whose payloads are not public
(DOMAIN.md). The X-Road SOAP 4.0 header and the identifiers are real (validated against the
official schemas in ``schemas/x-road/``); the service codes, the body namespace and every
body element below are invented. Replace this module when Kela's specification is available.
"""

from __future__ import annotations

import re

SYSTEM = "kela"
TITLE = "Kela municipal services (X-Road SOAP 4.0)"
PROVIDER = "Kela"
SANDBOX_PORT = 8703
ENDPOINT = "/"  # the security server's SOAP endpoint

OPTION_CLIENT = "xroad_client"
#: the municipalities the X-Road client asks about (a county: all of its municipalities);
#: ``municipality_code`` names one, the single-municipality form
OPTION_MUNICIPALITIES = "municipality_codes"
OPTION_MUNICIPALITY = "municipality_code"
OPTION_USER = "user_id"
OPTION_ISSUE = "issue"  # optional X-Road ``issue`` sent with every request
OPTION_MAX_DAYS = "max_paid_days_per_week"
DEFAULT_USER = "hub"
#: Kela pays the expense allowance for at most five attended days a week (law 189/2001)
MAX_PAID_DAYS_PER_WEEK = 5
SANDBOX_CLIENT = "FI-TEST/MUN/0211675-2/hub"
SANDBOX_MUNICIPALITY = "743"
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9-]+/(GOV|MUN|COM|ORG)/[0-9]{7}-[0-9]/[\w.-]+$")

# --- X-Road (real) ----------------------------------------------------------------------------
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XROAD_NS = "http://x-road.eu/xsd/xroad.xsd"
ID_NS = "http://x-road.eu/xsd/identifiers"
PROTOCOL_VERSION = "4.0"
HASH_ALGORITHM = "http://www.w3.org/2001/04/xmlenc#sha512"
#: header elements the service echoes and the adapter compares (``issue`` when sent)
ECHOED = ("client", "service", "id", "userId", "issue", "protocolVersion")

# --- the service provider (Kela's business ID is public; the subsystem is invented) ----------
SERVICE_CLASS = "GOV"
SERVICE_MEMBER = "0246246-0"
SERVICE_SUBSYSTEM = "kuntapalvelut"
SERVICE_VERSION = "v1"

# --- service codes (invented) -----------------------------------------------------------------
SVC_MONTHS = "laskutuslistat"  # the months whose billing list is available
SVC_BILLING = "laskutuslista"  # one month's billing list (large)
SVC_BENEFIT_DAYS = "etuuspaivat"  # benefit-day counts, paged by sequence number
SVC_NOTICES = "ilmoitukset"  # eTotu notices, paged by sequence number
SVC_ATTENDANCE = "lasnaoloilmoitus"  # attendance report for the expense allowance
#: the employment authority's labour-policy statements (työvoimapoliittinen lausunto)
SVC_STATEMENTS = "tplausunto"
SERVICES = (SVC_MONTHS, SVC_BILLING, SVC_BENEFIT_DAYS, SVC_NOTICES, SVC_ATTENDANCE, SVC_STATEMENTS)

# --- body (invented) --------------------------------------------------------------------------
KELA_NS = "urn:fi:hub:kela:kunta:1"
MUNICIPALITY = "kunta"
MONTH = "kuukausi"
ROWS_ATTR = "rivit"
FROM = "alkaen"  # sequence number (billing list: line number) to start from
MAX = "enintaan"
#: the most records a page may be asked for (``PageSize`` of the schema)
MAX_PAGE_SIZE = 10_000
NEXT = "seuraava"  # the sequence number to ask for next (when more follow)
MORE = "lisaa"  # "true" when more follow
# billing list
BILLING = "laskutuslista"
DUE_ATTR = "erapaiva"
LINE = "rivi"
LINE_NO_ATTR = "nro"
LINE_FIELDS = {  # canonical -> native child, in order
    "client_hetu": "hetu",
    "benefit_type": "etuus",
    "days_from": "paivatAlkaen",
    "days_to": "paivatAsti",
    "benefit_paid": "maksettu",
    "share_percent": "osuusProsentti",
    "municipal_share": "kunnanOsuus",
}
# benefit days
COUNT = "kertyma"
COUNT_NO_ATTR = "nro"
COUNT_FIELDS = {
    "client_hetu": "hetu",
    "benefit_type": "etuus",
    "as_of": "pvm",
    "cumulative_days": "paivia",
    "paying_municipality": "maksajakunta",
}
# notices
NOTICE = "ilmoitus"
NOTICE_NO_ATTR = "nro"
NOTICE_FIELDS = {
    "client_hetu": "hetu",
    "kind": "laji",
    "reference": "viite",
    "sent_at": "lahetetty",
    "municipality_code": "kunta",
    "reason": "syy",
    "urgent": "kiireellinen",
}
#: the key of an item the municipality sends (a report item, a statement): its idempotency key
ITEM_KEY_ATTR = "tunniste"
# attendance report
REPORT = "ilmoitus"
REPORT_KEY_ATTR = ITEM_KEY_ATTR
REPORT_FIELDS = {
    "client_hetu": "hetu",
    "service_type": "palvelu",
    "episode_start_date": "jaksonAlku",
    "provider_business_id": "tuottaja",
    "week": "viikko",
}
REPORT_MONTH = "kuukausi"  # <kuukausi kk="2026-03"><paiva>2026-03-30</paiva>...</kuukausi>
REPORT_MONTH_ATTR = "kk"
REPORT_DAY = "paiva"
#: the canonical fields the report carries (absences are not Kela's business)
REPORT_CARRIES = (*REPORT_FIELDS, "attended_dates")
# labour-policy statements: one <lausunto tunniste="..."> an item
STATEMENT = "lausunto"
STATEMENT_FIELDS = {  # canonical -> native child, in order
    "client_hetu": "hetu",
    "issued_on": "annettu",
    "valid_from": "voimassaAlkaen",
    "valid_until": "voimassaAsti",
    "statement": "kanta",
    "benefit_type": "etuus",
    "reason": "perustelu",
}
#: the canonical fields a statement carries: every field of the entity
STATEMENT_CARRIES = tuple(STATEMENT_FIELDS)
RESULT = "tulos"
RESULT_STATE_ATTR = "tila"
ACCEPTED, DUPLICATE, REJECTED = "hyvaksytty", "kaksoiskappale", "hylatty"

# --- code values --------------------------------------------------------------------------------
BENEFIT_CODES = {
    "TMT": "labour_market_subsidy",
    "PPR": "basic_daily_allowance",
    "ANS": "earnings_related_allowance",
}
NOTICE_CODES = {"SOSIAALITYO": "social_work_need", "TAYD-TOTU": "supplementary_income_support"}
#: what a labour-policy statement says: no obstacle, an obstacle, a period without benefit,
#: an obligation to work first
ELIGIBILITY_CODES = {
    "EI-ESTETTA": "entitled",
    "ESTE": "not_entitled",
    "KORVAUKSETON-MAARAAIKA": "period_without_benefit",
    "TYOSSAOLOVELVOITE": "employment_obligation",
}
SERVICE_CODES = {
    "KTT": "rehabilitative_work_activity",
    "SOSKU-YKS": "social_rehabilitation_individual_coaching",
    "SOSKU-RYH": "social_rehabilitation_group_coaching",
    "SOSKU-TEH": "social_rehabilitation_intensified_work",
}

# --- faults -------------------------------------------------------------------------------------
#: X-Road fault codes: Server.* is the provider's or the network's side (retry may help),
#: Client.* is the request's fault (it will not)
FAULT_SERVICE_FAILED = "Server.ServerProxy.ServiceFailed"
FAULT_NETWORK = "Server.ServerProxy.NetworkError"
FAULT_BAD_HEADER = "Client.InvalidSoap"
FAULT_BAD_CLIENT = "Client.InvalidClientIdentifier"
FAULT_BAD_REQUEST = "Client.BadRequest"
FAULT_UNKNOWN_SERVICE = "Client.ServiceNotFound"
