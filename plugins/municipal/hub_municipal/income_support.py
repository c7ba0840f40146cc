"""The income support months of the case system's sandbox, deterministic.

The case system records, for the clients it serves, each calendar month a client received
income support and of which kind: basic (perustoimeentulotuki, decided by Kela since 2017),
supplementary or preventive (decided by the county). Who received what depends on the
person's number ``i`` alone (never on the seed), so the export listing counts the records
without generating anyone; the months end at the seeded exports' last month. Of every
twelve people, by ``i % 12``:

- 3 and 8, long-term: basic income support for 12–18 consecutive months, ending in one of
  the last three months: an activation plan is due (4 months for the under-25s, 12 for
  those of 25 or over);
- 0 and 5, a spell: basic for 4–7 consecutive months ending in one of the last nine months:
  a plan is due for the under-25s only;
- 1, broken: basic for three months, none for one, two more (no run of four), and
  preventive support once before: no plan is due;
- 10, the county's support only: supplementary for two months and preventive once (the
  rules count basic support only): no plan is due;
- the rest: none.

In a run, supplementary support comes on top of basic in some months (one in five). The
synthetic people of one seed share a birth date 600 at a time (:func:`hub.synthetic.person`):
under seed 1 the first 600 are under 25 until 30.4.2027, the next 600 are in their forties,
so a sandbox of more than 600 people has long-term clients of both age groups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from hub.synthetic import Person
from hub_municipal import mapping as m

#: the groups of :func:`months`, by ``i % 12``
LONG, SPELL, BROKEN, COUNTY_ONLY = (3, 8), (0, 5), (1,), (10,)
#: one month in this many of a run has supplementary support on top of basic
SUPPLEMENTARY_EVERY = 5


def _month(last: dt.date, back: int) -> str:
    """The month ``back`` months before the month of ``last`` (``YYYY-MM``)."""
    year, month = divmod(last.year * 12 + last.month - 1 - back, 12)
    return f"{year:04d}-{month + 1:02d}"


def _run(i: int, last: dt.date, length: int, end_back: int) -> list[tuple[str, str]]:
    """Basic support for ``length`` months up to ``end_back`` months before ``last``, with
    supplementary support on top in some of them."""
    found = []
    for j in range(length):
        month = _month(last, end_back + length - 1 - j)
        found.append((month, m.SUPPORT_BASIC))
        if (i + j) % SUPPLEMENTARY_EVERY == 0:
            found.append((month, m.SUPPORT_SUPPLEMENTARY))
    return found


def months(i: int, last: dt.date) -> list[tuple[str, str]]:
    """(month, kind code) of person ``i``'s income support up to the month of ``last``, by
    month and then kind (see the module)."""
    group, k = i % 12, i // 12
    if group in LONG:
        return _run(i, last, 12 + k % 7, k % 3)
    if group in SPELL:
        return _run(i, last, 4 + k % 4, k % 9)
    if group in BROKEN:
        back = k % 4
        found = [(_month(last, back + 8), m.SUPPORT_PREVENTIVE)]
        found += [(_month(last, back + b), m.SUPPORT_BASIC) for b in (5, 4, 3, 1, 0)]
        return found
    if group in COUNTY_ONLY:
        back = k % 6
        return [
            (_month(last, back + 2), m.SUPPORT_SUPPLEMENTARY),
            (_month(last, back + 1), m.SUPPORT_SUPPLEMENTARY),
            (_month(last, back), m.SUPPORT_PREVENTIVE),
        ]
    return []


def count(i: int) -> int:
    """How many records :func:`months` gives person ``i``, without listing them."""
    group, k = i % 12, i // 12
    if group in LONG or group in SPELL:
        length = 12 + k % 7 if group in LONG else 4 + k % 4
        return length + sum(1 for j in range(length) if (i + j) % SUPPLEMENTARY_EVERY == 0)
    return {BROKEN[0]: 6, COUNTY_ONLY[0]: 3}.get(group, 0)


def records(p: Person, i: int, last: dt.date) -> Iterator[tuple[int, dict[str, Any]]]:
    """(number, fields) of person ``p`` (the ``i``-th)'s income support months."""
    for n, (month, kind) in enumerate(months(i, last)):
        yield n, {"hetu": p.hetu, "month": month, "supportKind": kind}
