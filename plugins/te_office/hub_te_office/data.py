"""Deterministic synthetic data of the employment authority's sandbox.

``size`` people from :func:`hub.synthetic.people` (the same people as every other sandbox
with the same ``seed``), each with a client record, one or two service periods (every
fourth person has two) and an activation plan. Records are built as canonical entities (so
the model checks them) and turned into native JSON by :mod:`hub_te_office.mapping`.

- Periods are mostly rehabilitative work activity (KTT), 1-4 days a week and 4-8 hours a
  day, the rest social rehabilitation group coaching; statuses cycle through planned,
  active, ended and interrupted, with the dates and reasons the canonical model requires.
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

from hub.model import ActivationPlan, Client, ServiceEpisode, ServiceType
from hub.synthetic import Person, people
from hub_te_office import mapping

EPOCH = dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)
#: service providers of the periods (municipalities' business ids)
PROVIDERS = ["0211675-2", "0204819-8", "0209602-6"]
REASONS = ["Terveydelliset syyt", "Asiakas siirtyi työkokeiluun", "Asiakas muutti pois"]
STATUSES = ["planned", "active", "active", "ended", "interrupted"]
RULE_BREAKER_EVERY = 50
RULE_BREAKER_OFFSET = 7


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
    return ActivationPlan(
        client_hetu=person.hetu,
        drawn_up_date=drawn,
        goals=["Arjen hallinnan vahvistaminen", "Työelämätaitojen harjoittelu"],
        measures=[f"Kuntouttava työtoiminta {1 + i % 4} pv/vko", "Ohjaus työkokeiluun"],
        responsible_official="Työvalmentaja Leena Esimerkki",
        review_date=drawn + dt.timedelta(days=90) if i % 3 else None,
    )


def _native(
    stream: str,
    native_id: str,
    to_native: Callable[[Mapping[str, Any]], dict[str, Any]],
    entity: Client | ServiceEpisode | ActivationPlan,
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
    return out
