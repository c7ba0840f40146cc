"""The streams Kela pages by sequence number: ``benefit_days`` and ``notifications``.

A page is asked for from a sequence number on (``alkaen``, at most ``enintaan`` records) and
says whether more follow (``lisaa``) and the number to ask for next (``seuraava``); the
shared pager (:mod:`hub.paging.sequence`) numbers the records, checks the page against what
it declares and moves the cursor, the last sequence number committed. Each page's start tag
is validated against Kela's schema (with no text between its records), then each record on
its own: a record that breaks the contract is yielded with its problem, and an element the
page does not have becomes a record of its own (``after-<number>``), with its XML.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from lxml import etree

from hub.adapter import Batch, NativeRecord, Stream
from hub.errors import PermanentError
from hub.model import BenefitDays, Notification
from hub.paging.sequence import Numbered, Page, SequencePaginator, Stray
from hub_kela import mapping as m
from hub_kela.contract import (
    foreign_record_data,
    foreign_xml,
    local,
    number_of,
    record_data,
    valid_record_data,
    validator,
    violation,
    why_invalid,
)
from hub_kela.fields import code, fields
from hub_kela.soap import k

if TYPE_CHECKING:
    from hub_kela.adapter import KelaAdapter


class PagedStream(Stream):
    """A stream of one of Kela's services paged by sequence number: subclasses name the
    service, the record element, its number attribute and its fields (canonical → native,
    in the schema's order)."""

    service: ClassVar[str]
    element: ClassVar[str]
    number_attr: ClassVar[str]
    field_names: ClassVar[dict[str, str]]
    adapter: KelaAdapter

    @property
    def where(self) -> str:
        """The service, for errors: ``kela/etuuspaivat``."""
        return f"{m.SYSTEM}/{self.service}"

    def read(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        yield from SequencePaginator(
            self.fetch,
            where=self.where,
            cursor=cursor,
            limit=min(batch_size, m.MAX_PAGE_SIZE),
        )

    def fetch(self, first: int, limit: int) -> Page:
        """The page from sequence number ``first`` on; a page whose start tag breaks the
        contract, or with text between its records, is a :class:`PermanentError`."""
        body = self.adapter.request_body(self.service, **{m.FROM: first, m.MAX: limit})
        answer = self.adapter.call(self.service, body)
        if why := why_invalid(answer, shallow=True):
            raise PermanentError(
                f"{self.where}: the page is not valid against {m.PROVIDER}'s schema: {why}"
            )
        texts = [answer.text, *(child.tail for child in answer)]
        if any(text and text.strip() for text in texts):
            raise PermanentError(f"{self.where}: text outside any record in the page")
        entries = [self.entry(child) for child in answer if isinstance(child.tag, str)]
        return Page(entries, answer.get(m.MORE) == "true", number_of(answer.get(m.NEXT)))

    def entry(self, child: etree._Element) -> Numbered | Stray:
        """One element of a page: a record, judged against the schema on its own, or an
        element the page does not have, kept as it came."""
        if child.tag != k(self.element):
            return Stray(
                local(child.tag), foreign_record_data(foreign_xml(child)), child.sourceline
            )
        number = number_of(child.get(self.number_attr))
        if number is None:  # the pager refuses the page: no place in the sequence
            return Numbered(None, record_data(child))
        invalid = validator().invalid(child)
        if invalid is None:
            return Numbered(number, valid_record_data(child))
        order = tuple(self.field_names.values())
        problem = violation(invalid, self.element, f"record {number} of the page", order)
        return Numbered(number, record_data(child), problem)


class BenefitDaysStream(PagedStream):
    """Kela's counts of the benefit days of the municipality's residents."""

    name = "benefit_days"
    entity = BenefitDays
    description = "benefit-day counts"
    service = m.SVC_BENEFIT_DAYS
    element = m.COUNT
    number_attr = m.COUNT_NO_ATTR
    field_names = m.COUNT_FIELDS

    def to_canonical(self, record: NativeRecord) -> BenefitDays:
        where = f"{self.system}/{self.name}/{record.native_id}"
        values = fields(record.data, m.COUNT_FIELDS, where)
        values["benefit_type"] = code(m.BENEFIT_CODES, record.data.get("etuus"), where, "etuus")
        return BenefitDays(**values)


class NotificationsStream(PagedStream):
    """eTotu notices of a need for social work or income support."""

    name = "notifications"
    entity = Notification
    description = "notices of a need for social work or income support"
    service = m.SVC_NOTICES
    element = m.NOTICE
    number_attr = m.NOTICE_NO_ATTR
    field_names = m.NOTICE_FIELDS

    def to_canonical(self, record: NativeRecord) -> Notification:
        where = f"{self.system}/{self.name}/{record.native_id}"
        values = fields(record.data, m.NOTICE_FIELDS, where)
        values["kind"] = code(m.NOTICE_CODES, record.data.get("laji"), where, "laji")
        return Notification(**values)
