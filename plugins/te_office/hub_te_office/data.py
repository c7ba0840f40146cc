"""Deterministic synthetic data of the employment authority's sandbox.

``size`` people from :func:`hub.synthetic.people` (the same people as every other sandbox
with the same seed), each with a client record, one or two service periods and, for every
other person, an activation plan. Modification times come in groups of three equal stamps,
so paging must handle ties.

Deliberate rule breakers: the first period of client 7, 57, 107, ... (every 50th from the
8th) is KTT on 5 days a week. Older rules allowed that; the hub's rules (1-4) reject it, so
a demo or a test always has one realistic failure to show.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.synthetic import people
from hub_te_office.mapping import STATUS_CODES, iso

EPOCH = dt.datetime(2026, 10, 1, 6, 0, tzinfo=dt.UTC)
PROVIDERS = ["0211675-2", "0204819-8", "0209602-6"]  # municipalities as service providers
REASONS = ["Terveydelliset syyt", "Asiakas siirtyi työkokeiluun", "Asiakas muutti pois"]
_STATUS_OF = {v: k for k, v in STATUS_CODES.items()}


def _period(i: int, n: int, hetu: str) -> dict[str, Any]:
    k = i * 2 + n
    decision = dt.date(2026, 1, 5) + dt.timedelta(days=(k * 3) % 200)
    start = decision + dt.timedelta(days=7)
    status = ["planned", "active", "active", "ended", "interrupted"][k % 5]
    days = 1 + k % 4
    if n == 0 and i % 50 == 7:
        days = 5  # the deliberate rule breaker
    period: dict[str, Any] = {
        "periodId": f"SP-{k:06d}",
        "personId": hetu,
        "serviceCode": "SOKU-RV" if k % 6 == 5 else "KTT",
        "providerBusinessId": PROVIDERS[k % 3],
        "decisionDate": decision.isoformat(),
        "startDate": start.isoformat(),
        "plannedEndDate": (start + dt.timedelta(days=182)).isoformat(),
        "daysPerWeek": days,
        "hoursPerDay": 4 + k % 5,
        "status": _STATUS_OF[status],
    }
    if status == "ended":
        period["actualEndDate"] = (start + dt.timedelta(days=120)).isoformat()
    if status == "interrupted":
        period["actualEndDate"] = (start + dt.timedelta(days=30)).isoformat()
        period["interruptionReason"] = REASONS[k % 3]
    return period


def generate(seed: int, size: int) -> dict[str, list[dict[str, Any]]]:
    """Records by stream name, each with its ``modified`` stamp."""
    clients, periods, plans = [], [], []
    for i, p in enumerate(people(seed, size)):
        modified = iso(EPOCH + dt.timedelta(minutes=i // 3))
        clients.append(
            {
                "clientId": f"C-{i:06d}",
                "personId": p.hetu,
                "firstName": p.first_name,
                "lastName": p.last_name,
                "homeMunicipality": p.home_municipality,
                "language": p.language,
                "modified": modified,
            }
        )
        for n in range(2 if i % 4 == 0 else 1):
            periods.append({**_period(i, n, p.hetu), "modified": modified})
        if i % 2 == 0:
            drawn = dt.date(2026, 1, 2) + dt.timedelta(days=i % 150)
            plans.append(
                {
                    "planId": f"AP-{i:06d}",
                    "personId": p.hetu,
                    "drawnUp": drawn.isoformat(),
                    "goals": ["Arjen hallinnan vahvistaminen", "Työelämätaitojen harjoittelu"],
                    "measures": ["Kuntouttava työtoiminta 3 pv/vko", "Ohjaus työkokeiluun"],
                    "responsibleOfficial": "Työvalmentaja Leena Esimerkki",
                    "reviewDate": (drawn + dt.timedelta(days=90)).isoformat(),
                    "modified": modified,
                }
            )
    return {"clients": clients, "service_periods": periods, "activation_plans": plans}
