"""The ``billing_lines`` stream: the monthly municipal bill, month by month.

The months list (:meth:`.adapter.KelaAdapter.months`) says which months have a billing list
and how many lines each holds. A month's list is streamed: a million lines are parsed element
by element in flat memory, each judged on its own (:class:`.billing.BillingList`), and the
cursor records how many lines of a month are committed, so a run resumes mid-month (the
service is asked to start after them, and the line numbers it sends must continue the
count). A list that is not whole (cut short, fewer or more lines than the months list
declares) is a :class:`~hub.errors.TransientError` and its month is not taken as done.

Cursors: ``["2026-10", 5000]`` (5000 lines of October committed) and ``["2026-10", "done"]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from hub.adapter import Batch, NativeRecord, Stream
from hub.errors import PermanentError
from hub.model import BillingLine
from hub_kela import mapping as m
from hub_kela.billing import BillingList
from hub_kela.fields import code, fields

if TYPE_CHECKING:
    from hub_kela.adapter import KelaAdapter

DONE = "done"
#: the billing list of a large municipality is big; the parser streams it
MAX_DOCUMENT_BYTES = 4 * 1024**3


def encode_billing_cursor(month: str, position: int | None) -> str:
    """The cursor after ``position`` lines of ``month`` (None: the month is done)."""
    return json.dumps([month, DONE if position is None else position])


def decode_billing_cursor(cursor: str | None) -> tuple[str, int | None]:
    """(month, lines done in it or None when the month is done); ("", 0) from the start."""
    if not cursor:
        return "", 0
    try:
        month, position = json.loads(cursor)
        if isinstance(month, str) and (position == DONE or isinstance(position, int)):
            return month, None if position == DONE else position
    except (ValueError, TypeError):
        pass
    raise PermanentError(f"{m.SYSTEM}: the cursor is not one this adapter wrote")


class BillingLinesStream(Stream):
    """The lines of the monthly billing lists, oldest month first."""

    name = "billing_lines"
    entity = BillingLine
    description = "the monthly municipal bill"
    adapter: KelaAdapter

    def read(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        start, done = decode_billing_cursor(cursor)
        for month, declared in self.adapter.months():
            if month < start or (month == start and done is None):
                continue
            skip = done if month == start and done else 0
            yield from self.read_month(month, skip, batch_size, declared)

    def read_month(self, month: str, skip: int, batch_size: int, declared: int) -> Iterator[Batch]:
        """The lines of one month after the first ``skip`` (the service skips them: a resumed
        month does not send again what was committed), of the ``declared`` lines the months
        list says it has. Line numbers must run on from ``skip + 1`` without a gap, or the
        cursor would not mean what it says. The month is done (its last batch carries the
        ``done`` cursor) only once the whole list has been read and held every line."""
        adapter = self.adapter
        where = f"{m.SYSTEM}/{m.SVC_BILLING}"
        body = adapter.request_body(m.SVC_BILLING, **{m.MONTH: month, m.FROM: skip + 1})
        sent, message = adapter.message(m.SVC_BILLING, body)
        listing = BillingList(
            month,
            skip,
            declared,
            adapter.municipality,
            lambda header: adapter.check_echo(sent, message, header, where),
            max_bytes=MAX_DOCUMENT_BYTES,
        )
        batch: list[NativeRecord] = []
        with adapter.http.stream(
            "POST", m.ENDPOINT, content=message, max_bytes=MAX_DOCUMENT_BYTES
        ) as (_, chunks):
            for record in listing.records(chunks):
                batch.append(record)
                if len(batch) >= batch_size and listing.at_line:
                    yield Batch(batch, encode_billing_cursor(month, listing.position))
                    batch = []
        yield Batch(batch, encode_billing_cursor(month, None))

    def to_canonical(self, record: NativeRecord) -> BillingLine:
        where = f"{self.system}/{self.name}/{record.native_id}"
        data = record.data
        values = fields(data, m.LINE_FIELDS, where)
        values["benefit_type"] = code(m.BENEFIT_CODES, data.get("etuus"), where, "etuus")
        return BillingLine(
            **values,
            billing_month=data.get(m.MONTH),
            municipality_code=data.get(m.MUNICIPALITY),
            due_date=data.get(m.DUE_ATTR),
        )
