"""Deterministic synthetic data of Kela's sandbox: the same people as every other sandbox
with the same seed (:func:`hub.synthetic.person`), generated on demand so that a billing
list of a million lines is never held in memory.

Person ``i`` receives one benefit (labour-market subsidy, basic or earnings-related daily
allowance) on every weekday; before the first billed month they had ``40 + (37 i mod 900)``
benefit days. The municipality pays a rising share from the 101st day (steps below), so a
month gives a person one billing line per share step it touches; the share is rounded to the
cent half up (``ROUND_HALF_UP``, as Kela and the hub round money).

The paying municipality is the person's home municipality on the payment date
(:func:`paying_municipality`: the one :func:`hub.synthetic.person` gives, which the other
sandboxes give the same person). A municipality's bill holds the lines of the people it pays
for and no one else's, numbered from 1; the benefit-day counts asked for by one or more
municipalities hold the people those pay for (numbered by person, so with gaps). A notice
asked for by a county is addressed to one of its municipalities (:func:`municipality_of`). A
notice's reason is in the client's language (Swedish for ``sv``).

Deliberate rule breakers, so that a reconciliation of the bill has something to find (and
nothing else): see :data:`MOVED_EVERY`, :data:`CENT_MONTH` and :data:`EARLY_DUE`, and the
sandbox module (:mod:`hub_kela.sandbox`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import threading
import zlib
from collections.abc import Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
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

# --- deliberate rule breakers (the sandbox module documents them) ---------------------------
#: one person in every ``MOVED_EVERY`` (``i % MOVED_EVERY == MOVED_AT``: people 2, 102, 202,
#: ...) moved, and Kela's register still has them in the first of :data:`MOVED_TO` (the
#: second when the first is their home): they are billed, and their benefit days counted, to
#: a municipality that is not their home
MOVED_EVERY, MOVED_AT = 100, 2
MOVED_TO = ("743", "408")  # Seinäjoki; Lapua
#: the month in which the first line of every municipality's bill is a cent short (short,
#: not over: a cent under the share rounded half up is within a cent of it rounded
#: half-even too, so no reading of the amounts refuses the line on intake)
CENT_MONTH = MONTHS[1]
#: (month, municipality) of the one bill named due on the 27th (the 28th, 28.11.2026, is a
#: Saturday; Kela names the Friday before instead of the 28th): Seinäjoki's October bill
EARLY_DUE = (MONTHS[-1], "743")


@functools.cache
def weekdays(month: str) -> int:
    year, mon = map(int, month.split("-"))
    days = calendar.monthrange(year, mon)[1]
    return sum(1 for d in range(1, days + 1) if dt.date(year, mon, d).weekday() < 5)


def due_date(month: str) -> dt.date:
    """The due date of every bill for ``month`` by the rule: the 28th of the month after."""
    year, mon = map(int, month.split("-"))
    return dt.date(year + mon // 12, mon % 12 + 1, 28)


def bill_due_date(month: str, municipality: str) -> dt.date:
    """The due date the sandbox names on ``municipality``'s bill for ``month``: the 28th of
    the month after, but the 27th on the one bill of :data:`EARLY_DUE`."""
    early = (month, municipality) == EARLY_DUE
    return due_date(month) - dt.timedelta(days=1 if early else 0)


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


def share_of(paid: Decimal, percent: Decimal) -> Decimal:
    """``percent`` of ``paid``, rounded to the cent half up."""
    return (paid * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


#: the home municipalities of the people of each seed, in order, as far as looked up (a list
#: of a million costs some megabytes; it spares looking a person up again for every list)
_HOMES: dict[int, list[str]] = {}
_HOMES_LOCK = threading.Lock()


def home_municipality(seed: int, i: int) -> str:
    """Person ``i``'s home municipality (:func:`hub.synthetic.person`'s), remembered."""
    with _HOMES_LOCK:
        homes = _HOMES.setdefault(seed, [])
        while len(homes) <= i:
            homes.append(person(seed, len(homes)).home_municipality)
        return homes[i]


def paying_municipality(seed: int, i: int) -> str:
    """The municipality Kela bills for person ``i``: their home municipality (on the
    payment date: the sandbox's people do not move), except for the people of
    :data:`MOVED_EVERY`."""
    home = home_municipality(seed, i)
    if i % MOVED_EVERY != MOVED_AT:
        return home
    return MOVED_TO[1] if home == MOVED_TO[0] else MOVED_TO[0]


def pays(seed: int, i: int, municipalities: str | Sequence[str]) -> bool:
    """Whether one of ``municipalities`` pays for person ``i``."""
    if isinstance(municipalities, str):
        municipalities = (municipalities,)
    return paying_municipality(seed, i) in municipalities


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


def _billed(
    seed: int, size: int, month: str, steps: Steps, municipality: str | None
) -> Iterator[tuple[int, int, int, Decimal]]:
    """(person index, from, to, percent) of every line of ``month``, of the people
    ``municipality`` pays for (None: everyone's)."""
    for i in range(size):
        before = days_before(i, month)
        spans = list(segments(before + 1, before + weekdays(month), steps))
        if not spans:
            continue
        if municipality is not None and paying_municipality(seed, i) != municipality:
            continue
        for first, last, percent in spans:
            yield i, first, last, percent


def lines(
    seed: int,
    size: int,
    month: str,
    malformed,
    steps: Steps = SHARE_STEPS,
    start: int = 1,
    municipality: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The lines of ``municipality``'s bill for ``month`` (the people it pays for), numbered
    from 1, from line ``start`` on; ``malformed(n)`` corrupts line n (counted from 0). The
    first line of a bill for :data:`CENT_MONTH` is a cent short. ``municipality`` None:
    every person's lines as one list, none broken on purpose (what a recorded list of a
    given length is made of)."""
    cent = municipality is not None and month == CENT_MONTH
    p, looked_up = None, -1  # the person of the line before (of one or two lines a month)
    for n, (i, first, last, percent) in enumerate(
        _billed(seed, size, month, steps, municipality), 1
    ):
        if n < start:
            continue
        if i != looked_up:
            p, looked_up = person(seed, i), i
        paid = daily(i) * (last - first + 1)
        municipal = share_of(paid, percent)
        if cent and n == 1:  # a rule breaker: off by a cent, which the model lets pass
            municipal -= CENT
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


def line_count(
    seed: int,
    size: int,
    month: str,
    municipality: str | None = None,
    steps: Steps = SHARE_STEPS,
) -> int:
    """The lines of ``municipality``'s bill for ``month`` (None: everyone's)."""
    return sum(1 for _ in _billed(seed, size, month, steps, municipality))


def municipality_of(p: Person, municipalities: str | Sequence[str]) -> str:
    """The municipality among those asked about that a notice of ``p`` is addressed to:
    their home municipality when it is one of them, else one of them chosen by the person
    (notices are not about who pays: every notice goes to whoever asks)."""
    if isinstance(municipalities, str):
        return municipalities
    if p.home_municipality in municipalities:
        return p.home_municipality
    return municipalities[zlib.crc32(p.hetu.encode()) % len(municipalities)]


def benefit_days(seed: int, i: int, municipalities: str | Sequence[str]) -> dict[str, Any]:
    """Kela's count of person ``i``'s benefit days at the end of the last billed month, for
    ``municipalities`` (the service answers only for the people one of them pays for,
    :func:`pays`), naming the paying municipality (:func:`paying_municipality`)."""
    last, p = MONTHS[-1], person(seed, i)
    return {
        "nro": i + 1,
        "hetu": p.hetu,
        "etuus": benefit(i),
        "pvm": month_end(last).isoformat(),
        "paivia": days_before(i, last) + weekdays(last),
        "maksajakunta": paying_municipality(seed, i),
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
