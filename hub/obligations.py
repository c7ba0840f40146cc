"""Who needs an activation plan by when: the conditions of 189/2001 § 3, checked against
the records the hub holds. Pure functions of their inputs and ``today``: no store, no clock.

What the records are and how each condition is read from them:

- **Benefit days** (:class:`~hub.model.BenefitDays`) are Kela's *cumulative* counts of one
  client's days of one benefit as of a date (Kela gives them as of the end of each billed
  month; a client has one count per listing, so several over time). Between two counts the
  hub knows only the difference, so a condition is seen met at a count's ``as_of``, never
  between counts, and the days in a window (*t* − 12 months, *t*] are the count at *t* less
  the latest count at or before the window's start. With a count at the start (month-end
  counts give one) that is exact; with an earlier one it is an upper bound. With none — a
  client with one count only, or whose counts begin inside the window — the hub cannot tell
  how many of the days fell in the window: it takes all of them as inside (the obligation is
  shown rather than missed) and says so (``window_assumed``), for an official to check with
  Kela's payment history. The same holds for subsidy days after the end of daily allowance.
- **Under 25 / 25 and over** is the client's age on the day the condition is met, from the
  birth date in the identity code. A client who is 25 with 500 subsidy days already counted
  meets the 500-day rule on their 25th birthday.
- **The end of daily allowance** is the first count at which the client's days of basic and
  earnings-related allowance together reach the configured maximum period; subsidy days
  counted after it are those of the latest subsidy count at or before it less.
- **Income support** (:class:`~hub.model.IncomeSupportMonth`) counts in consecutive calendar
  months of a configured kind (basic, by default); the condition is met on the last day of
  the month that completes the run (4 or 12 months). The act speaks of the client's *main*
  income being income support *due to unemployment*: the case system is expected to record
  the months that qualify; the hub cannot tell.
- **A plan** (:class:`~hub.model.ActivationPlan` of a configured type) fulfils an obligation
  when it was drawn up on or after the day the condition was met, or at most
  ``plan_lookback_days`` before it, and not after ``today``.

One obligation is given per client and condition: the first day the condition was met. Every
record dated after ``today`` is left out, so the result depends on its inputs alone.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from hub.model import (
    ActivationPlan,
    ActivationPlanObligation,
    BenefitDays,
    BenefitType,
    IncomeSupportMonth,
    ObligationTrigger,
)
from hub.model.rules import ActivationPlanRules
from hub.privacy import Keyring, canonical_hetu

T = ObligationTrigger
DAILY_ALLOWANCE = (BenefitType.BASIC_DAILY_ALLOWANCE, BenefitType.EARNINGS_RELATED_ALLOWANCE)
#: the scope of the keyed pseudonym in an obligation's id (not the store's subject scope)
ID_SCOPE = "activation_plan_obligation"
_CENTURIES = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}


def birth_date(code: str) -> dt.date:
    """The birth date an identity code gives (``DDMMYY`` and the century sign)."""
    code = canonical_hetu(code)
    return dt.date(_CENTURIES[code[6]] + int(code[4:6]), int(code[2:4]), int(code[:2]))


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day`` (someone born on 29 February is a year older on 28
    February of a common year)."""
    return relativedelta(day, birth).years


class Counts:
    """One client's counts of one benefit: (day, cumulative days), by day. Two counts of one
    day (two listings, a correction) are taken as the larger."""

    def __init__(self, counts: Iterable[tuple[dt.date, int]]):
        by_day: dict[dt.date, int] = {}
        for day, days in counts:
            by_day[day] = max(days, by_day.get(day, days))
        self.days = sorted(by_day)
        self.values = [by_day[d] for d in self.days]

    def __iter__(self):
        return iter(zip(self.days, self.values, strict=True))

    def at(self, day: dt.date) -> int | None:
        """The latest count at or before ``day`` (None: no count as early)."""
        i = bisect.bisect_right(self.days, day)
        return self.values[i - 1] if i else None


def _sum_at(series: Sequence[Counts], day: dt.date) -> int | None:
    found = [c for s in series if (c := s.at(day)) is not None]
    return sum(found) if found else None


@dataclass(frozen=True)
class _Met:
    day: dt.date
    window_assumed: bool = False


@dataclass
class _Client:
    """What the hub holds about one client, up to ``today``."""

    code: str
    birth: dt.date
    today: dt.date
    benefits: dict[str, list[tuple[dt.date, int]]]
    months: set[str]
    plans: list[dt.date]

    def counts(self, benefit: str) -> Counts:
        return Counts(self.benefits.get(benefit, ()))


def _subsidy_under(c: _Client, r: ActivationPlanRules) -> _Met | None:
    """Under the age limit: the subsidy days of the window ending on a count's day."""
    subsidy = c.counts(BenefitType.LABOUR_MARKET_SUBSIDY)
    for day, total in subsidy:
        if age_on(c.birth, day) >= r.age:
            continue
        before = subsidy.at(day - relativedelta(months=r.subsidy_window_months))
        if total - (before or 0) >= r.subsidy_days_under_25:
            return _Met(day, window_assumed=before is None)
    return None


def _subsidy_over(c: _Client, r: ActivationPlanRules) -> _Met | None:
    """From the age limit on: the subsidy days counted in all."""
    subsidy = c.counts(BenefitType.LABOUR_MARKET_SUBSIDY)
    for day in _checked_days(c, subsidy.days, r):
        total = subsidy.at(day)
        if total is not None and total >= r.subsidy_days_25_and_over:
            return _Met(day)
    return None


def _subsidy_after_allowance(c: _Client, r: ActivationPlanRules) -> _Met | None:
    """From the age limit on: the subsidy days counted after the end of daily allowance."""
    allowance = [c.counts(b) for b in DAILY_ALLOWANCE]
    days = sorted({d for s in allowance for d in s.days})
    ended = next(
        (d for d in days if (_sum_at(allowance, d) or 0) >= r.daily_allowance_max_days), None
    )
    if ended is None:
        return None
    subsidy = c.counts(BenefitType.LABOUR_MARKET_SUBSIDY)
    before = subsidy.at(ended)
    for day in _checked_days(c, subsidy.days, r):
        total = subsidy.at(day)
        if day < ended or total is None:
            continue
        if total - (before or 0) >= r.subsidy_days_after_daily_allowance:
            return _Met(day, window_assumed=before is None)
    return None


def _checked_days(c: _Client, days: Sequence[dt.date], r: ActivationPlanRules) -> list[dt.date]:
    """The days a rule of the older is checked on: ``days`` from the age limit on, and the
    day the client reaches it (a condition met before is met for these rules on that day)."""
    reaches = c.birth + relativedelta(years=r.age)
    later = {d for d in days if d >= reaches}
    if reaches <= c.today:
        later.add(reaches)
    return sorted(later)


def _month_end(month: str) -> dt.date:
    first = dt.date.fromisoformat(f"{month}-01")
    return first + relativedelta(months=1, days=-1)


def _next_month(month: str) -> str:
    return (dt.date.fromisoformat(f"{month}-01") + relativedelta(months=1)).strftime("%Y-%m")


def _income_support(c: _Client, needed: int, older: bool, r: ActivationPlanRules) -> _Met | None:
    """The last day of the first month that completes ``needed`` consecutive months, the
    client being in the age group on that day."""
    run, previous = 0, None
    for month in sorted(c.months):
        run = run + 1 if previous is not None and _next_month(previous) == month else 1
        previous = month
        day = _month_end(month)
        if day > c.today:
            break
        if run >= needed and (age_on(c.birth, day) >= r.age) == older:
            return _Met(day)
    return None


_RULES: dict[ObligationTrigger, Callable[[_Client, ActivationPlanRules], _Met | None]] = {
    T.SUBSIDY_DAYS_UNDER_25: _subsidy_under,
    T.INCOME_SUPPORT_MONTHS_UNDER_25: lambda c, r: _income_support(
        c, r.income_support_months_under_25, False, r
    ),
    T.SUBSIDY_DAYS_25_AND_OVER: _subsidy_over,
    T.SUBSIDY_AFTER_DAILY_ALLOWANCE: _subsidy_after_allowance,
    T.INCOME_SUPPORT_MONTHS_25_AND_OVER: lambda c, r: _income_support(
        c, r.income_support_months_25_and_over, True, r
    ),
}


def _clients(
    benefit_days: Iterable[BenefitDays],
    income_support: Iterable[IncomeSupportMonth],
    plans: Iterable[ActivationPlan],
    rules: ActivationPlanRules,
    today: dt.date,
) -> dict[str, _Client]:
    benefits: dict[str, dict[str, list[tuple[dt.date, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for count in benefit_days:
        if count.as_of <= today:
            benefits[str(count.client_hetu)][count.benefit_type].append(
                (count.as_of, count.cumulative_days)
            )
    months: dict[str, set[str]] = defaultdict(set)
    kinds = set(rules.income_support_kinds)
    for m in income_support:
        if m.kind in kinds and m.first_day <= today:
            months[str(m.client_hetu)].add(m.month)
    drawn: dict[str, list[dt.date]] = defaultdict(list)
    types = set(rules.plan_types)
    for plan in plans:
        if plan.plan_type in types and plan.drawn_up_date <= today:
            drawn[str(plan.client_hetu)].append(plan.drawn_up_date)
    return {
        code: _Client(
            code, birth_date(code), today, benefits.get(code, {}), months[code], drawn[code]
        )
        for code in sorted({*benefits, *months})
    }


def derive(
    benefit_days: Iterable[BenefitDays],
    income_support: Iterable[IncomeSupportMonth],
    plans: Iterable[ActivationPlan],
    *,
    rules: ActivationPlanRules,
    today: dt.date,
) -> list[ActivationPlanObligation]:
    """Every activation-plan obligation the records show met by ``today``, with whether a
    plan fulfils it: one per client and condition, by client and then condition."""
    found = []
    for c in _clients(benefit_days, income_support, plans, rules, today).values():
        for trigger in T:
            if trigger not in rules.triggers:
                continue
            met = _RULES[trigger](c, rules)
            if met is None:
                continue
            earliest = met.day - dt.timedelta(days=rules.plan_lookback_days)
            plan = min((d for d in c.plans if d >= earliest), default=None)
            found.append(
                ActivationPlanObligation(
                    client_hetu=c.code,
                    trigger=trigger,
                    reached_on=met.day,
                    due_by=met.day + dt.timedelta(days=rules.due_days),
                    age_on_reached=age_on(c.birth, met.day),
                    has_plan=plan is not None,
                    plan_drawn_up=plan,
                    window_assumed=met.window_assumed,
                )
            )
    return found


def native_id(obligation: ActivationPlanObligation, keys: Keyring) -> str:
    """The obligation's stable id in the hub, one per client and condition: a keyed
    pseudonym of the identity code (no plaintext code in any id, reference or message)
    and the condition."""
    return f"{keys.pseudonym(str(obligation.client_hetu), scope=ID_SCOPE)}/{obligation.trigger}"
