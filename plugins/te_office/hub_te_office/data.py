"""Deterministic synthetic data of the employment authority's sandbox.

``size`` people from :func:`hub.synthetic.people` (the same people as every other sandbox
with the same ``seed``), each with a client record, one or two service periods (every
fourth person has two) and a plan; every fourth person (index 1, 5, 9, …) is in one of
the employment services (a list of its own, ``employment_periods``), and two in three have
a labour-policy statement (all but index 2, 5, 8, …). Records are built as canonical
entities (so the model checks them) and turned into native JSON by
:mod:`hub_te_office.mapping` (statements: :mod:`hub_te_office.statements`).
Free text (plans, reasons of the employment services' periods and of the statements) is in
the client's language: Swedish for Swedish-speaking clients, Finnish for the others.

- Periods are mostly rehabilitative work activity (KTT), 1-4 days a week and 4-8 hours a
  day, the rest social rehabilitation group coaching; statuses cycle through planned,
  active, ended and interrupted, with the dates and reasons the canonical model requires.
- Plans cycle through activation plans, multisectoral employment plans and employment
  plans. Employment services cycle through work trial (1-5 days a week, 4-8 hours a day,
  3 months: inside the rules), pay subsidy, coaching and labour-market training.
- Statements are mostly "entitled"; the others (not entitled, a period without benefit,
  an employment obligation) carry a reason, and a period without benefit its last day.
- Modification stamps are deterministic and deliberately tied: people are spread over
  ``size // 3`` minutes, so about three people (and all their records) share each stamp,
  and the order by stamp differs from the order by id.

**Deliberate rule breakers** — exactly one per 50 clients: the first period of client
index 7, 57, 107, … is KTT on **5 days a week**. The old rules allowed 5; the hub's rules
(``config/rules.yaml``: KTT 1-4 days) reject it, so a demo or a test always has one
realistic failure to show. Every other period passes the model and the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from dateutil.relativedelta import relativedelta

from hub.model import (
    ActivationPlan,
    CanonicalEntity,
    Client,
    Eligibility,
    LabourPolicyStatement,
    PlanType,
    ServiceEpisode,
    ServiceType,
)
from hub.synthetic import Person, people
from hub_te_office import mapping, statements

EPOCH = dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)
#: service providers of the periods (municipalities' business ids)
PROVIDERS = ["0211675-2", "0204819-8", "0209602-6"]
REASONS = ["Terveydelliset syyt", "Asiakas siirtyi työkokeiluun", "Asiakas muutti pois"]
STATUSES = ["planned", "active", "active", "ended", "interrupted"]
RULE_BREAKER_EVERY = 50
RULE_BREAKER_OFFSET = 7
PLAN_TYPES = [
    PlanType.ACTIVATION_PLAN,
    PlanType.MULTISECTORAL_EMPLOYMENT_PLAN,
    PlanType.EMPLOYMENT_PLAN,
]
#: employment service -> (days a week, hours a day, months)
EMPLOYMENT_SERVICES = {
    ServiceType.WORK_TRIAL: (4, 6, 3),
    ServiceType.PAY_SUBSIDY: (5, 7.5, 10),
    ServiceType.COACHING: (2, 3, 2),
    ServiceType.LABOUR_MARKET_TRAINING: (5, 6, 5),
}
#: statements by client index modulo their number: most clients are entitled
ELIGIBILITY = [Eligibility.ENTITLED] * 5 + [
    Eligibility.NOT_ENTITLED,
    Eligibility.PERIOD_WITHOUT_BENEFIT,
    Eligibility.EMPLOYMENT_OBLIGATION,
]
BENEFITS = ["labour_market_subsidy"] * 3 + ["basic_daily_allowance", "earnings_related_allowance"]
#: the free text of the records, by the client's language (others get Finnish)
TEXTS: dict[str, dict[str, Any]] = {
    "fi": {
        "goals": ["Arjen hallinnan vahvistaminen", "Työelämätaitojen harjoittelu"],
        "ktt": "Kuntouttava työtoiminta {} pv/vko",
        "measures": {
            PlanType.ACTIVATION_PLAN: "Ohjaus työkokeiluun",
            PlanType.MULTISECTORAL_EMPLOYMENT_PLAN: "Monialainen palvelutarpeen arviointi",
            PlanType.EMPLOYMENT_PLAN: "Työnhakuvalmennus",
        },
        "official": "Työvalmentaja Leena Esimerkki",
        "ended_early": [
            "Asiakas työllistyi avoimille työmarkkinoille",
            "Terveydelliset syyt",
            "Asiakas aloitti opinnot",
        ],
        "statement": {
            Eligibility.NOT_ENTITLED: "Päätoiminen opiskelu",
            Eligibility.PERIOD_WITHOUT_BENEFIT: "Kieltäytyminen tarjotusta työstä",
            Eligibility.EMPLOYMENT_OBLIGATION: "Toistuva työvoimapoliittisesti moitittava "
            "menettely",
        },
    },
    "sv": {
        "goals": ["Att stärka vardagshanteringen", "Att öva arbetslivsfärdigheter"],
        "ktt": "Arbetsverksamhet i rehabiliteringssyfte, dagar i veckan: {}",
        "measures": {
            PlanType.ACTIVATION_PLAN: "Handledning till arbetsprövning",
            PlanType.MULTISECTORAL_EMPLOYMENT_PLAN: "Sektorsövergripande bedömning av "
            "servicebehovet",
            PlanType.EMPLOYMENT_PLAN: "Jobbsökarträning",
        },
        "official": "Arbetscoach Leena Esimerkki",
        "ended_early": [
            "Kunden fick arbete på den öppna arbetsmarknaden",
            "Hälsoskäl",
            "Kunden började studera",
        ],
        "statement": {
            Eligibility.NOT_ENTITLED: "Studier på heltid",
            Eligibility.PERIOD_WITHOUT_BENEFIT: "Vägran att ta emot erbjudet arbete",
            Eligibility.EMPLOYMENT_OBLIGATION: "Upprepat arbetskraftspolitiskt klandervärt "
            "förfarande",
        },
    },
}


def texts(person: Person) -> dict[str, Any]:
    """The free text for ``person``, in their language."""
    return TEXTS.get(person.language, TEXTS["fi"])


def is_rule_breaker(client_index: int, period_number: int) -> bool:
    """Whether a period is the deliberate 5-days-a-week KTT period."""
    return period_number == 0 and client_index % RULE_BREAKER_EVERY == RULE_BREAKER_OFFSET


def period_id(client_index: int, period_number: int) -> str:
    return mapping.ID_FORMAT["service_periods"].format(client_index * 2 + period_number)


def _episode(i: int, n: int, person: Person) -> ServiceEpisode:
    k = i * 2 + n
    decision = dt.date(2026, 1, 5) + dt.timedelta(days=(k * 3) % 200)
    start = decision + dt.timedelta(days=7)
    status = STATUSES[k % len(STATUSES)]
    ktt = is_rule_breaker(i, n) or k % 6 != 5
    actual_end = {"ended": 120, "interrupted": 30}.get(status)
    return ServiceEpisode(
        client_hetu=person.hetu,
        service_type=ServiceType.REHABILITATIVE_WORK_ACTIVITY
        if ktt
        else ServiceType.SOCIAL_REHABILITATION_GROUP,
        provider_business_id=PROVIDERS[k % len(PROVIDERS)],
        decision_date=decision,
        start_date=start,
        planned_end_date=start + dt.timedelta(days=182),
        actual_end_date=start + dt.timedelta(days=actual_end) if actual_end else None,
        days_per_week=5 if is_rule_breaker(i, n) else 1 + k % 4,
        hours_per_day=4 + k % 5,
        status=status,
        interruption_reason=REASONS[k % len(REASONS)] if status == "interrupted" else None,
    )


def _plan(i: int, person: Person) -> ActivationPlan:
    drawn = dt.date(2026, 1, 2) + dt.timedelta(days=i % 150)
    text, plan_type = texts(person), PLAN_TYPES[i % len(PLAN_TYPES)]
    return ActivationPlan(
        client_hetu=person.hetu,
        plan_type=plan_type,
        drawn_up_date=drawn,
        goals=text["goals"],
        measures=[text["ktt"].format(1 + i % 4), text["measures"][plan_type]],
        responsible_official=text["official"],
        review_date=drawn + dt.timedelta(days=90) if i % 3 else None,
    )


def in_employment_service(client_index: int) -> bool:
    return client_index % 4 == 1


def has_statement(client_index: int) -> bool:
    return client_index % 3 != 2


def _employment_episode(i: int, person: Person) -> ServiceEpisode:
    """A period of one of the employment services, inside the rules."""
    kinds = list(EMPLOYMENT_SERVICES)
    service = kinds[(i // 4) % len(kinds)]
    days, hours, months = EMPLOYMENT_SERVICES[service]
    decision = dt.date(2026, 2, 2) + dt.timedelta(days=(i * 5) % 180)
    start = decision + dt.timedelta(days=14)
    last_day = start + relativedelta(months=months) - dt.timedelta(days=1)
    status = STATUSES[(i // 2) % len(STATUSES)]
    actual_end = {"ended": last_day, "interrupted": start + dt.timedelta(days=25)}.get(status)
    reasons = texts(person)["ended_early"]
    return ServiceEpisode(
        client_hetu=person.hetu,
        service_type=service,
        provider_business_id=PROVIDERS[i % len(PROVIDERS)],
        decision_date=decision,
        start_date=start,
        planned_end_date=last_day,
        actual_end_date=actual_end,
        days_per_week=days,
        hours_per_day=hours,
        status=status,
        interruption_reason=reasons[i % len(reasons)] if status == "interrupted" else None,
    )


def _statement(i: int, person: Person) -> LabourPolicyStatement:
    eligibility = ELIGIBILITY[i % len(ELIGIBILITY)]
    issued = dt.date(2026, 1, 7) + dt.timedelta(days=(i * 7) % 240)
    valid_from = issued - dt.timedelta(days=i % 10)  # a statement may look back
    fixed = eligibility == Eligibility.PERIOD_WITHOUT_BENEFIT
    return LabourPolicyStatement(
        client_hetu=person.hetu,
        issued_on=issued,
        valid_from=valid_from,
        valid_until=valid_from + dt.timedelta(days=(15, 30, 60)[i % 3] - 1) if fixed else None,
        statement=eligibility,
        benefit_type=BENEFITS[i % len(BENEFITS)],
        reason=texts(person)["statement"].get(eligibility),
    )


def _native(
    stream: str,
    native_id: str,
    to_native: Callable[[Mapping[str, Any]], dict[str, Any]],
    entity: CanonicalEntity,
    stamp: str,
) -> dict[str, Any]:
    """``entity`` as a record of the list ``stream``: translated by ``to_native``, with its
    id and ``modified`` stamp."""
    body = to_native(entity.model_dump(mode="json"))
    return {mapping.ID_FIELD[stream]: native_id, **body, mapping.MODIFIED: stamp}


def generate(seed: int, size: int) -> dict[str, list[dict[str, Any]]]:
    """Native records by stream name, each with its id and ``modified`` stamp."""
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in mapping.ID_FIELD}
    minutes = max(1, size // 3)
    for i, person in enumerate(people(seed, size)):
        stamp = mapping.iso(EPOCH + dt.timedelta(minutes=(i * 37) % minutes))
        client = Client(
            hetu=person.hetu,
            first_name=person.first_name,
            last_name=person.last_name,
            home_municipality=person.home_municipality,
            language=person.language,
        )
        out["clients"].append(
            _native(
                "clients",
                mapping.ID_FORMAT["clients"].format(i),
                mapping.client_to_native,
                client,
                stamp,
            )
        )
        for n in range(2 if i % 4 == 0 else 1):
            episode = _episode(i, n, person)
            out["service_periods"].append(
                _native(
                    "service_periods", period_id(i, n), mapping.period_to_native, episode, stamp
                )
            )
        out["activation_plans"].append(
            _native(
                "activation_plans",
                mapping.ID_FORMAT["activation_plans"].format(i),
                mapping.plan_to_native,
                _plan(i, person),
                stamp,
            )
        )
        if in_employment_service(i):
            out["employment_periods"].append(
                _native(
                    "employment_periods",
                    mapping.ID_FORMAT["employment_periods"].format(i),
                    mapping.period_to_native,
                    _employment_episode(i, person),
                    stamp,
                )
            )
        if has_statement(i):
            out["labour_policy_statements"].append(
                _native(
                    "labour_policy_statements",
                    mapping.ID_FORMAT["labour_policy_statements"].format(i),
                    statements.statement_to_native,
                    _statement(i, person),
                    stamp,
                )
            )
    return out
