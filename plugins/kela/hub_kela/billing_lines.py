"""The ``billing_lines`` stream: the monthly municipal bill, month by month.

The months list (:meth:`.adapter.KelaAdapter.months`) says which months have a billing list
and how many lines each holds. A month's list is streamed: a million lines are parsed element
by element in flat memory, each judged on its own (:class:`.billing.BillingList`), and the
cursor records how many lines of a month are committed, so a run resumes mid-month (the
service is asked to start after them, and the line numbers it sends must continue the
count). A list that is not whole (cut short, fewer or more lines than the months list
declares) is a :class:`~hub.errors.TransientError` and its month is not taken as done.

Cursors: ``["2026-10", 5000]`` (5000 lines of October committed) and ``["2026-10", "done"]``.

Several municipalities. A bill is one municipality's: an adapter of several asks for each
one's months list and billing lists in turn, month by month and within a month in the order
of the codes (``"005"`` before ``"743"``). Its cursors and record ids then name the
municipality: ``["2026-10", "743", 5000]``, ``2026-10/743/17`` (one municipality keeps the
forms above, so that its cursors and records stay what they were). When the municipalities
of a system change, a cursor of the other form reads its month again from the start of
every list: nothing is skipped.
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


def encode_billing_cursor(month: str, position: int | None, municipality: str = "") -> str:
    """The cursor after ``position`` lines of ``month`` (None: the month is done), of the
    list of ``municipality`` when the adapter has several."""
    done = DONE if position is None else position
    return json.dumps([month, municipality, done] if municipality else [month, done])


def decode_billing_cursor(cursor: str | None) -> tuple[str, str, int | None]:
    """(month, municipality or "", lines done in it or None when the month is done);
    ("", "", 0) from the start."""
    if not cursor:
        return "", "", 0
    try:
        parts = json.loads(cursor)
        if isinstance(parts, list) and len(parts) in (2, 3):
            month, position, code = parts[0], parts[-1], parts[1] if len(parts) == 3 else ""
            if (
                isinstance(month, str)
                and isinstance(code, str)
                and (position == DONE or type(position) is int)
            ):
                return month, code, None if position == DONE else position
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
        month0, code0, done = decode_billing_cursor(cursor)
        codes = self.adapter.municipalities
        if len(codes) == 1:  # the single-municipality forms: no municipality in the cursor
            lists = [(month, "", declared) for month, declared in self.adapter.months()]
            if code0 not in ("", codes[0]):
                done = 0  # another municipality's cursor: its month is read from the start
            code0 = ""
        else:
            lists = sorted(
                (month, muni, declared)
                for muni in codes
                for month, declared in self.adapter.months(muni)
            )
        for month, muni, declared in lists:
            at = (month, muni) == (month0, code0)
            if (month, muni) < (month0, code0) or (at and done is None):
                continue
            skip = done if at and done else 0
            yield from self.read_month(month, skip, batch_size, declared, muni)

    def read_month(
        self, month: str, skip: int, batch_size: int, declared: int, municipality: str = ""
    ) -> Iterator[Batch]:
        """The lines of one month after the first ``skip`` (the service skips them: a resumed
        month does not send again what was committed), of the ``declared`` lines the months
        list says it has. Line numbers must run on from ``skip + 1`` without a gap, or the
        cursor would not mean what it says. The month is done (its last batch carries the
        ``done`` cursor) only once the whole list has been read and held every line.
        ``municipality``: the one whose list it is, named in cursors and ids ("": the
        adapter's one municipality)."""
        adapter = self.adapter
        where = f"{m.SYSTEM}/{m.SVC_BILLING}"
        asked = [municipality or adapter.municipality]
        children = {m.MONTH: month, m.FROM: skip + 1}
        body = adapter.request_body(m.SVC_BILLING, municipalities=asked, **children)
        sent, message = adapter.message(m.SVC_BILLING, body)
        listing = BillingList(
            month,
            skip,
            declared,
            asked[0],
            lambda header: adapter.check_echo(sent, message, header, where),
            max_bytes=MAX_DOCUMENT_BYTES,
            id_prefix=f"{month}/{municipality}" if municipality else month,
        )
        batch: list[NativeRecord] = []
        with adapter.http.stream(
            "POST", m.ENDPOINT, content=message, max_bytes=MAX_DOCUMENT_BYTES
        ) as (_, chunks):
            for record in listing.records(chunks):
                batch.append(record)
                if len(batch) >= batch_size and listing.at_line:
                    yield Batch(batch, encode_billing_cursor(month, listing.position, municipality))
                    batch = []
        yield Batch(batch, encode_billing_cursor(month, None, municipality))

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
