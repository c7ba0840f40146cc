"""The invented names of the case system's records about benefits and obligations: Kela's
records the import takes (billing lines, benefit-day counts, notices), the income support
months the export holds, and what the hub derives and the import takes (activation-plan
obligations, disputed lines of Kela's bill).

Part of the adapter's one mapping: :mod:`.mapping` imports every name here and gives it out
as its own (``m.BILL_DISPUTE``), so that the rest of the adapter, the sandbox and the tests
use one module. Kept apart only for its size. The XSDs (``schemas/records.xsd``) mirror it.
"""

from __future__ import annotations

from hub.model import (
    ActivationPlanObligation,
    BenefitDays,
    BillDispute,
    BillingLine,
    IncomeSupportMonth,
    Notification,
)
from hub_municipal.recordtypes import Field, RecordType

#: the municipality a record of Kela's or a dispute of its bill is addressed to (billing
#: line, notice, dispute; benefit days): the case system checks it is one it serves
KELA_MUNICIPALITY, KELA_PAYING_MUNICIPALITY = "municipality", "payingMunicipality"

# --- code values ----------------------------------------------------------------------------
BENEFIT_CODES = {
    "TMT": "labour_market_subsidy",
    "PPR": "basic_daily_allowance",
    "ANS": "earnings_related_allowance",
}
NOTICE_CODES = {
    "SOSIAALITYO": "social_work_need",
    "TAYD-TOTU": "supplementary_income_support",
}
#: perustoimeentulotuki (Kela's), täydentävä and ehkäisevä toimeentulotuki (the county's)
SUPPORT_BASIC, SUPPORT_SUPPLEMENTARY, SUPPORT_PREVENTIVE = "PERUS", "TAYDENTAVA", "EHKAISEVA"
SUPPORT_KIND_CODES = {
    SUPPORT_BASIC: "basic",
    SUPPORT_SUPPLEMENTARY: "supplementary",
    SUPPORT_PREVENTIVE: "preventive",
}
#: the conditions of 189/2001 § 3 that make an activation plan due (TMT: labour-market
#: subsidy days; TOTU: months of income support; PR: after the end of daily allowance)
TRIGGER_CODES = {
    "ALLE25-TMT180": "subsidy_days_under_25",
    "ALLE25-TOTU4": "income_support_months_under_25",
    "TMT500": "subsidy_days_25_and_over",
    "PR-TMT180": "subsidy_after_daily_allowance",
    "TOTU12": "income_support_months_25_and_over",
}
#: why a line of Kela's bill is disputed
DISPUTE_CODES = {
    "ERAPAIVA": "due_date",
    "KOTIKUNTA": "home_municipality",
    "ETUUSPAIVAT": "benefit_days",
    "OSUUSPROSENTTI": "share_percent",
    "OSUUS": "share_amount",
    "PAALLEKKAINEN": "duplicate",
}

# --- Kela's records (imported, not exported) ------------------------------------------------
BILLING_LINE = RecordType(
    "billingLine",
    "L",
    BillingLine,
    (
        Field("hetu", "client_hetu", required=True),
        Field("billingMonth", "billing_month", required=True),
        Field(KELA_MUNICIPALITY, "municipality_code", required=True),
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
        Field(KELA_PAYING_MUNICIPALITY, "paying_municipality"),
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
        Field(KELA_MUNICIPALITY, "municipality_code", required=True),
        Field("reason", "reason"),
        Field("urgent", "urgent"),
    ),
    exported=False,
)

# --- the case system's income support months (exported) -----------------------------------
INCOME_SUPPORT = RecordType(
    "incomeSupport",
    "T",
    IncomeSupportMonth,
    (
        Field("hetu", "client_hetu", required=True),
        Field("month", "month", required=True),
        Field("supportKind", "kind", required=True, codes=SUPPORT_KIND_CODES),
    ),
    imported=False,
)

# --- what the hub derives (imported, not exported) ------------------------------------------
PLAN_OBLIGATION = RecordType(
    "planObligation",
    "V",
    ActivationPlanObligation,
    (
        Field("hetu", "client_hetu", required=True),
        Field("trigger", "trigger", required=True, codes=TRIGGER_CODES),
        Field("reachedOn", "reached_on", required=True),
        Field("dueBy", "due_by", required=True),
        Field("ageOnReached", "age_on_reached", required=True),
        Field("hasPlan", "has_plan", required=True),
        Field("planDrawnUp", "plan_drawn_up"),
        Field("windowAssumed", "window_assumed"),
    ),
    exported=False,
    names_carried=True,
)

BILL_DISPUTE = RecordType(
    "billDispute",
    "R",
    BillDispute,
    (
        Field("hetu", "client_hetu", required=True),
        Field("billingMonth", "billing_month", required=True),
        Field(KELA_MUNICIPALITY, "municipality_code", required=True),
        Field("benefitCode", "benefit_type", required=True, codes=BENEFIT_CODES),
        Field("daysFrom", "days_from", required=True),
        Field("daysTo", "days_to", required=True),
        Field("reasonCode", "reason_code", required=True, codes=DISPUTE_CODES),
        Field("reason", "reason", required=True),
        Field("billedShare", "billed_share", required=True, decimal=True),
        Field("expectedShare", "expected_share", decimal=True),
    ),
    exported=False,
    names_carried=True,
)
