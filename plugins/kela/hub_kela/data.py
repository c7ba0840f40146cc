"""Deterministic synthetic data of Kela's sandbox: the same people as every other sandbox
with the same seed (:func:`hub.synthetic.person`), generated on demand so that a billing
list of a million lines is never held in memory.

Person ``i`` receives one benefit (labour-market subsidy, basic or earnings-related daily
allowance) on every weekday; before the first billed month they had ``40 + (37 i mod 900)``
benefit days. The municipality pays a rising share from the 101st day (steps below), so a
month gives a person one billing line per share step it touches.

Kela answers every client for the municipalities it asks about: a bill is the municipality's
asked for (everyone of the sandbox is on it), and a benefit-day count or a notice asked for
by a county is addressed to one of its municipalities (:func:`municipality_of`). A notice's
reason is in the client's language (Swedish for ``sv``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import zlib
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from hub.synthetic import Person, person

#: months whose billing list is available, oldest first
MONTHS = ("2026-08", "2026-09", "2026-10")
#: the municipal share from 1.1.2025: (first benefit day, percent), the default of the
#: sandbox (``create_app(share_steps=...)`` takes others). CHECK these steps against Kela's
#: current guidance; the hub checks the bill against config/rules.yaml, not against this.
SHARE_STEPS = (
    (101, Decimal(10)),
    (201, Decimal(20)),
    (301, Decimal(30)),
    (401, Decimal(40)),
    (501, Decimal(50)),
)
BENEFITS = ("TMT", "PPR", "ANS")
CENT = Decimal("0.01")


def weekdays(month: str) -> int:
    year, mon = map(int, month.split("-"))
    days = calendar.monthrange(year, mon)[1]
    return sum(1 for d in range(1, days + 1) if dt.date(year, mon, d).weekday() < 5)


def due_date(month: str) -> dt.date:
    year, mon = map(int, month.split("-"))
    return dt.date(year + mon // 12, mon % 12 + 1, 28)


def month_end(month: str) -> dt.date:
    year, mon = map(int, month.split("-"))
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


Steps = tuple[tuple[int, Decimal], ...]


def share(day: int, steps: Steps = SHARE_STEPS) -> Decimal:
    """The municipal share (percent) of benefit day ``day``."""
    percent = Decimal(0)
    for first, step in steps:
        if day >= first:
            percent = step
    return percent


def parse_steps(steps: Any) -> Steps:
    """Share steps from configuration: ``[(first_day, percent), ...]`` or
    ``[{"from_day": 101, "percent": 10}, ...]`` (the form of ``config/rules.yaml``)."""
    parsed = []
    for step in steps:
        first, percent = (step["from_day"], step["percent"]) if isinstance(step, dict) else step
        parsed.append((int(first), Decimal(str(percent))))
    parsed.sort()
    if not parsed or parsed[0][0] < 1 or len({f for f, _ in parsed}) != len(parsed):
        raise ValueError("share steps: first days must be positive and distinct")
    if any(not 0 <= p <= 100 for _, p in parsed):
        raise ValueError("share steps: percentages must be 0-100")
    return tuple(parsed)


def benefit(i: int) -> str:
    return BENEFITS[i % len(BENEFITS)]


def daily(i: int) -> Decimal:
    return Decimal("37.21") if benefit(i) != "ANS" else Decimal(60 + i % 40) + Decimal("0.35")


def days_before(i: int, month: str) -> int:
    """The person's cumulative benefit days before ``month`` (any month from the first of
    :data:`MONTHS` on: a later, recorded list continues the count)."""
    return 40 + (i * 37) % 900 + _weekdays_before(month)


@functools.cache
def _weekdays_before(month: str) -> int:
    total, (year, number) = 0, map(int, MONTHS[0].split("-"))
    while (earlier := f"{year:04d}-{number:02d}") < month:
        total += weekdays(earlier)
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return total


def segments(
    first: int, last: int, steps: Steps = SHARE_STEPS
) -> Iterator[tuple[int, int, Decimal]]:
    """(from, to, percent) of the billed days first..last, split at the share steps."""
    start = max(first, steps[0][0])
    while start <= last:
        percent = share(start, steps)
        bounds = [b - 1 for b, _ in steps if b > start] + [last]
        end = min(bounds)
        yield start, end, percent
        start = end + 1


def lines(
    seed: int, size: int, month: str, malformed, steps: Steps = SHARE_STEPS, start: int = 1
) -> Iterator[dict[str, Any]]:
    """The billing lines of ``month``, numbered from 1, from line ``start`` on;
    ``malformed(n)`` corrupts line n (counted from 0)."""
    n = 0
    for i in range(size):
        before = days_before(i, month)
        p = None
        for first, last, percent in segments(before + 1, before + weekdays(month), steps):
            n += 1
            if n < start:
                continue
            p = p or person(seed, i)
            paid = daily(i) * (last - first + 1)
            municipal = (paid * percent / 100).quantize(CENT)
            if malformed(n - 1):  # the share does not match the amounts: the model refuses
                municipal += Decimal("1.00")
            yield {
                "nro": n,
                "hetu": p.hetu,
                "etuus": benefit(i),
                "paivatAlkaen": first,
                "paivatAsti": last,
                "maksettu": paid.quantize(CENT),
                "osuusProsentti": percent,
                "kunnanOsuus": municipal,
            }


def line_count(size: int, month: str, steps: Steps = SHARE_STEPS) -> int:
    return sum(
        sum(
            1
            for _ in segments(
                days_before(i, month) + 1, days_before(i, month) + weekdays(month), steps
            )
        )
        for i in range(size)
    )


def municipality_of(p: Person, municipalities: str | Sequence[str]) -> str:
    """The municipality among those asked about that a record of ``p`` is addressed to:
    their home municipality when it is one of them, else one of them chosen by the person
    (the sandbox keeps no population register: every person belongs to whoever asks)."""
    if isinstance(municipalities, str):
        return municipalities
    if p.home_municipality in municipalities:
        return p.home_municipality
    return municipalities[zlib.crc32(p.hetu.encode()) % len(municipalities)]


def benefit_days(seed: int, i: int, municipalities: str | Sequence[str]) -> dict[str, Any]:
    """Kela's count of person ``i``'s benefit days at the end of the last billed month, the
    paying municipality one of ``municipalities`` (:func:`municipality_of`)."""
    last, p = MONTHS[-1], person(seed, i)
    return {
        "nro": i + 1,
        "hetu": p.hetu,
        "etuus": benefit(i),
        "pvm": month_end(last).isoformat(),
        "paivia": days_before(i, last) + weekdays(last),
        "maksajakunta": municipality_of(p, municipalities),
    }


#: why Kela notifies, in the client's language
REASONS = {
    "fi": (
        "Asiakkaan tilanne edellyttää sosiaalityön arviota",
        "Vuokrarästit ja tulojen pienentyminen",
        "Pitkittynyt työttömyys ja toimeentulotuen tarve",
    ),
    "sv": (
        "Klientens situation kräver en bedömning av socialarbetet",
        "Hyresskulder och minskade inkomster",
        "Långvarig arbetslöshet och behov av utkomststöd",
    ),
}


def notice_person(n: int) -> int:
    """Notice ``n`` (from 1) concerns person ``4 (n - 1)``: every fourth person."""
    return 4 * (n - 1)


def notice_count(size: int) -> int:
    return (size + 3) // 4


def notice(seed: int, n: int, municipalities: str | Sequence[str]) -> dict[str, Any]:
    """Kela's ``n``-th notice (from 1), addressed to one of ``municipalities``."""
    sent = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC) + dt.timedelta(hours=7 * n)
    p = person(seed, notice_person(n))
    reasons = REASONS["sv" if p.language == "sv" else "fi"]
    return {
        "nro": n,
        "hetu": p.hetu,
        "laji": ("SOSIAALITYO", "TAYD-TOTU")[n % 2],
        "viite": f"ETOTU-2026-{n:06d}",
        "lahetetty": sent.isoformat().replace("+00:00", "Z"),
        "kunta": municipality_of(p, municipalities),
        "syy": reasons[n % len(reasons)],
        "kiireellinen": "true" if n % 5 == 0 else "false",
    }
