"""The ``attendance`` stream: the attendance report for the expense allowance, written.

One report item a client and ISO week: the attended days grouped by calendar month (a week
may span two). Kela pays the allowance for at most five attended days a week (law
189/2001; the ``max_paid_days_per_week`` option): a week with more is refused when it is
translated, naming the field, and never sent. Kela answers item by item, by the item's key
(the idempotency key): accepted, a duplicate of an accepted key (nothing stored again), or
rejected with a reason (:mod:`.itemized`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lxml import etree

from hub.adapter import NativeRecord, Stream, WriteItem, WriteOutcome
from hub.errors import RecordError
from hub.model import Attendance, iso_week_of
from hub_kela import itemized
from hub_kela import mapping as m
from hub_kela.contract import record_data
from hub_kela.fields import code, fields
from hub_kela.soap import k

if TYPE_CHECKING:
    from hub_kela.adapter import KelaAdapter

_SERVICE_OF = {v: c for c, v in m.SERVICE_CODES.items()}  # canonical → Kela's code


class AttendanceStream(Stream):
    """Attendance days reported to Kela, one report item a client and week."""

    name = "attendance"
    entity = Attendance
    description = "attendance days reported for the expense allowance"
    carries = m.REPORT_CARRIES
    #: what the report's XSD requires of an item (the provider is optional)
    requires = ("client_hetu", "service_type", "episode_start_date", "week", "attended_dates")
    adapter: KelaAdapter

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A report item: the attended days of one client and week, grouped by calendar
        month. More than ``max_paid_days_per_week`` attended days in a week is refused
        here, with the field named."""
        where, limit = f"{self.system}/{self.name}", self.adapter.max_days
        try:
            days = sorted(_date(d) for d in record.get("attended_dates") or [])
        except (TypeError, ValueError):
            raise RecordError(where, "attended_dates", "not a list of ISO dates") from None
        weeks: dict[str, int] = {}
        for day in days:
            week = iso_week_of(day)
            weeks[week] = weeks.get(week, 0) + 1
        for week, count in sorted(weeks.items()):
            if count > limit:
                raise RecordError(
                    where,
                    "attended_dates",
                    f"{count} attended days in week {week}; Kela pays the expense allowance "
                    f"for at most {limit} days a week (law 189/2001)",
                )
        native = {n: record[c] for c, n in m.REPORT_FIELDS.items() if record.get(c) is not None}
        if "service_type" in record:
            native["palvelu"] = _SERVICE_OF.get(record["service_type"], record["service_type"])
        months: dict[str, list[str]] = {}
        for day in days:
            months.setdefault(day.isoformat()[:7], []).append(day.isoformat())
        native[m.REPORT_MONTH] = months
        return native

    def to_canonical(self, record: NativeRecord) -> Attendance:
        """A report item (:meth:`to_native`) read back."""
        where = f"{self.system}/{self.name}/{record.native_id}"
        data = record.data
        values = fields(data, m.REPORT_FIELDS, where)
        values["service_type"] = code(m.SERVICE_CODES, data.get("palvelu"), where, "palvelu")
        months = data.get(m.REPORT_MONTH) or {}
        if not isinstance(months, Mapping):
            raise RecordError(where, m.REPORT_MONTH, "is not a list of months")
        days = [d for month in sorted(months) for d in months[month]]
        return Attendance(**values, attended_dates=days)

    def write(self, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """One report of ``items`` (:func:`.itemized.send`)."""
        return itemized.send(self.adapter, m.SVC_ATTENDANCE, report_element, items)


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def report_element(key: str, payload: Mapping[str, Any]) -> etree._Element:
    """One ``<ilmoitus>`` of the attendance report."""
    elem = itemized.simple_element(m.REPORT, key, payload, m.REPORT_FIELDS.values())
    for month, days in sorted((payload.get(m.REPORT_MONTH) or {}).items()):
        month_elem = etree.SubElement(elem, k(m.REPORT_MONTH), {m.REPORT_MONTH_ATTR: month})
        for day in days:
            etree.SubElement(month_elem, k(m.REPORT_DAY)).text = str(day)
    return elem


def report_from_element(elem: etree._Element) -> dict[str, Any]:
    """The payload of an ``<ilmoitus>`` (the sandbox reads reports with it): everything
    the item holds (:func:`.contract.record_data`), its months as ``{month: [days]}``."""
    data = record_data(elem, (m.REPORT_KEY_ATTR,))
    data[m.REPORT_MONTH] = {
        month.get(m.REPORT_MONTH_ATTR): [d.text for d in month.iterchildren(k(m.REPORT_DAY))]
        for month in elem.iterchildren(k(m.REPORT_MONTH))
    }
    return data
