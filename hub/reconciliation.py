"""Kela's monthly bill reconciled against what the hub knows.

Since 1.1.2025 Kela bills each municipality, monthly in arrears, the municipal share of the
unemployment benefits it paid in the month (labour-market subsidy, basic and
earnings-related allowance) from the 101st benefit day; the paying municipality is the
client's home municipality in the population register on the payment date. Kela: "Laskut
lähetetään kalenterikuukausittain jälkikäteen, joten esimerkiksi tammikuun lasku lähetetään
helmikuussa. Laskun eräpäivä on kunkin kuukauden 28. päivä" (kela.fi, 24.2.2025).

:class:`Reconciler` takes the hub's records — Kela's benefit-day counts (``BenefitDays``),
the clients (``Client``: their home municipality) and the rules (the steps of the share,
:meth:`hub.model.rules.Rules.share_rules_for`) — and gives, for the lines of one
municipality's bill for one month, a :class:`~hub.model.BillDispute` per line and reason:

- ``due_date``: the line is not due on the 28th of the month after the billing month. Kela
  names the 28th as the due date of every bill, and the hub expects exactly that day. When
  the 28th is a Saturday, Sunday or bank holiday, paying on the next banking day is on time
  (Act on Calculating Statutory Time Limits 150/1930 § 5): a matter of paying, not of the
  bill, so a bill naming another day — earlier, which shortens the time to pay, or later —
  is disputed.
- ``home_municipality``: the hub's client record gives another home municipality than the
  one billed. The record is the latest the hub received, the register's entry on the
  payment date decides: a move near the payment date explains a difference, so the reason
  asks for the register to be checked. No client record, or none with a home municipality:
  nothing to dispute.
- ``benefit_days``: the line's last benefit day (``days_to``) is beyond Kela's own count of
  the client's days of that benefit as of the billing month's last day: the earliest count
  the hub holds as of that day or later, up to the bill's due date (within a period the
  count only grows, so a later count is an upper bound). Without such a count the line is
  not checked: a count as of an earlier day says nothing, as benefits paid in the month may
  be for earlier periods (retroactive payments are billed in the month they are paid).
- ``share_percent``: the line's share percent is not the configured step for its benefit
  days (or its days cross a step). Months no rule set covers are not checked.
- ``share_amount``: ``municipal_share`` is not ``benefit_paid × share_percent / 100``
  rounded to the cent (half up). The model lets a cent pass on intake; the reconciliation
  does not.
- ``duplicate``: the line's benefit days overlap a line before it in the same bill (same
  client and benefit); the first line stands, each later one is disputed.

Pure: no store, no clock; the lines are taken in the order given (Kela's).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from hub.model import BenefitDays, BillDispute, BillingLine, Client, DisputeReason
from hub.model.rules import Rules

#: the day of the month after the billing month on which Kela's bill is due
DUE_DAY = 28
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class Finding(NamedTuple):
    """A dispute of the ``line``-th line of the bill as given."""

    line: int
    dispute: BillDispute


def month_end(month: str) -> dt.date:
    """The last day of ``month`` (YYYY-MM)."""
    return _next_month(month) - dt.timedelta(days=1)


def due_date(month: str) -> dt.date:
    """The day Kela's bill for ``month`` (YYYY-MM) is due: the 28th of the month after."""
    return _next_month(month).replace(day=DUE_DAY)


def share_of(benefit_paid: Decimal, percent: Decimal) -> Decimal:
    """``percent`` of ``benefit_paid``, rounded to the cent (half up)."""
    return (benefit_paid * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def _next_month(month: str) -> dt.date:
    first = dt.date.fromisoformat(f"{month}-01")
    return (first + dt.timedelta(days=32)).replace(day=1)


def _euros(amount: Decimal) -> str:
    return f"{amount:.2f} €"


class Reconciler:
    """The hub's knowledge of benefit days, home municipalities and share steps, against
    which bills are reconciled (built once for any number of bills)."""

    def __init__(
        self, benefit_days: Iterable[BenefitDays], clients: Iterable[Client], rules: Rules
    ):
        self.rules = rules
        self._homes = {
            str(c.hetu): c.home_municipality for c in clients if c.home_municipality is not None
        }
        counts: dict[tuple[str, str], list[tuple[dt.date, int]]] = defaultdict(list)
        for days in benefit_days:
            counts[str(days.client_hetu), days.benefit_type].append(
                (days.as_of, days.cumulative_days)
            )
        self._counts = {key: sorted(found) for key, found in counts.items()}

    def bill(self, lines: Sequence[BillingLine]) -> list[Finding]:
        """The disputes of one municipality's bill for one month, in the order of its
        lines and, per line, of the checks above."""
        if not lines:
            return []
        month, municipality = lines[0].billing_month, lines[0].municipality_code
        if any(li.billing_month != month or li.municipality_code != municipality for li in lines):
            raise ValueError("a bill is the lines of one municipality for one month")
        found: list[Finding] = []
        before: dict[tuple[str, str], list[BillingLine]] = defaultdict(list)
        for n, line in enumerate(lines):
            checks = (
                self._due_date(line),
                self._home(line),
                self._days(line),
                self._percent(line),
                self._amount(line),
                self._duplicate(line, before[str(line.client_hetu), line.benefit_type]),
            )
            found += [Finding(n, d) for d in checks if d is not None]
            before[str(line.client_hetu), line.benefit_type].append(line)
        return found

    # --- the checks: each gives a dispute or None ---------------------------------------

    def _due_date(self, line: BillingLine) -> BillDispute | None:
        due = due_date(line.billing_month)
        if line.due_date == due:
            return None
        return _dispute(
            line,
            DisputeReason.DUE_DATE,
            f"due on {line.due_date}; Kela's bill for {line.billing_month} is due on the "
            f"{DUE_DAY}th of the month after, {due}",
        )

    def _home(self, line: BillingLine) -> BillDispute | None:
        home = self._homes.get(str(line.client_hetu))
        if home is None or home == line.municipality_code:
            return None
        return _dispute(
            line,
            DisputeReason.HOME_MUNICIPALITY,
            f"billed to municipality {line.municipality_code}, but the client's home "
            f"municipality in the hub's record is {home}; the home municipality in the "
            f"population register on the payment date pays: check it there",
            expected=ZERO,
        )

    def _days(self, line: BillingLine) -> BillDispute | None:
        counts = self._counts.get((str(line.client_hetu), line.benefit_type), ())
        end, due = month_end(line.billing_month), due_date(line.billing_month)
        known = next(((d, c) for d, c in counts if end <= d <= due), None)
        if known is None or line.days_to <= known[1]:
            return None
        as_of, count = known
        return _dispute(
            line,
            DisputeReason.BENEFIT_DAYS,
            f"benefit days {line.days_from}-{line.days_to} go beyond Kela's own count of "
            f"{count} days of {line.benefit_type} as of {as_of} "
            f"(the month ends on {end})",
        )

    def _percent(self, line: BillingLine) -> BillDispute | None:
        rules = self.rules.share_rules_for(line.billing_month)
        if rules is None:
            return None
        first, last = rules.percent_for(line.days_from), rules.percent_for(line.days_to)
        where = f"({self.rules.source}: municipal_share from {rules.valid_from})"
        days = f"benefit days {line.days_from}-{line.days_to}"
        if first != last:
            text = f"{days} cross a step of the municipal share ({first:g} % to {last:g} %) {where}"
            return _dispute(line, DisputeReason.SHARE_PERCENT, text)
        if line.share_percent == first:
            return None
        return _dispute(
            line,
            DisputeReason.SHARE_PERCENT,
            f"{line.share_percent:g} % billed for {days}; the rule gives {first:g} % {where}",
            expected=share_of(line.benefit_paid, first),
        )

    def _amount(self, line: BillingLine) -> BillDispute | None:
        expected = share_of(line.benefit_paid, line.share_percent)
        if line.municipal_share == expected:
            return None
        return _dispute(
            line,
            DisputeReason.SHARE_AMOUNT,
            f"municipal share {_euros(line.municipal_share)} is not {line.share_percent:g} % "
            f"of {_euros(line.benefit_paid)} paid ({_euros(expected)}, rounded to the cent)",
            expected=expected,
        )

    def _duplicate(self, line: BillingLine, earlier: list[BillingLine]) -> BillDispute | None:
        first, last = line.days_from, line.days_to
        overlaps = [e for e in earlier if e.days_from <= last and first <= e.days_to]
        if not overlaps:
            return None
        covered = any(e.days_from <= first and last <= e.days_to for e in overlaps)
        ranges = ", ".join(f"{e.days_from}-{e.days_to}" for e in overlaps)
        return _dispute(
            line,
            DisputeReason.DUPLICATE,
            f"benefit days {line.days_from}-{line.days_to} of {line.benefit_type} overlap "
            f"days {ranges} billed on an earlier line of this bill",
            expected=ZERO if covered else None,
        )


def _dispute(
    line: BillingLine, reason: DisputeReason, text: str, *, expected: Decimal | None = None
) -> BillDispute:
    return BillDispute(
        client_hetu=line.client_hetu,
        billing_month=line.billing_month,
        municipality_code=line.municipality_code,
        benefit_type=line.benefit_type,
        days_from=line.days_from,
        days_to=line.days_to,
        reason_code=reason,
        reason=text,
        billed_share=line.municipal_share,
        expected_share=expected,
    )


def reconcile(
    lines: Sequence[BillingLine],
    benefit_days: Iterable[BenefitDays],
    clients: Iterable[Client],
    rules: Rules,
) -> list[Finding]:
    """The disputes of one municipality's bill for one month (see the module)."""
    return Reconciler(benefit_days, clients, rules).bill(lines)
