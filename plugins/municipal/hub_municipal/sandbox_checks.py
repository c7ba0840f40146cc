"""The sandbox's own checks of an import item valid against import.xsd: what the case
system verifies of a record beyond its schema before it stores it. Each problem names the
field (the native name), never its value but for a municipality code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from hub_municipal import mapping as m

CENT = Decimal("0.01")
#: the record fields that name a municipality the case system must serve
_ADDRESSED = (m.KELA_MUNICIPALITY, m.KELA_PAYING_MUNICIPALITY)


def record_problem(element: str, f: Mapping[str, Any], served: Sequence[str]) -> str | None:
    """Why the case system refuses a record of ``element`` with fields ``f`` (a system
    serving the municipalities ``served``), or None: a record of Kela's or a dispute of
    Kela's bill addressed to a municipality it does not serve, or one whose fields do not
    agree with each other."""
    for name in _ADDRESSED:
        if f.get(name) and f[name] not in served:
            return f"{name}: municipality {f[name]} is not served here ({', '.join(served)})"
    check = _CHECKS.get(element)
    return check(f) if check is not None else None


def _days(f: Mapping[str, Any]) -> str | None:
    if int(f["daysTo"]) < int(f["daysFrom"]):
        return "daysTo: before daysFrom"
    return None


def _billing_line(f: Mapping[str, Any]) -> str | None:
    if problem := _days(f):
        return problem
    expected = (Decimal(f["benefitPaid"]) * Decimal(f["sharePercent"]) / 100).quantize(CENT)
    if abs(Decimal(f["municipalShare"]) - expected) > CENT:
        return f"municipalShare: not sharePercent of benefitPaid (that is {expected})"
    return None


def _plan_obligation(f: Mapping[str, Any]) -> str | None:
    if _date(f["dueBy"]) < _date(f["reachedOn"]):
        return "dueBy: before reachedOn"
    if (f["hasPlan"] in ("true", "1")) != bool(f.get("planDrawnUp")):
        return "planDrawnUp: given exactly when hasPlan is true"
    return None


def _date(text: str) -> dt.date:
    """The day of an xs:date valid against the schema (a time zone after it, if any)."""
    return dt.date.fromisoformat(text[:10])


_CHECKS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    m.BILLING_LINE.element: _billing_line,
    m.BILL_DISPUTE.element: _days,
    m.PLAN_OBLIGATION.element: _plan_obligation,
}
