"""One month's billing list, streamed and judged element by element against its contract.

The list can hold a million lines, so it is never parsed whole: :class:`BillingList` reads
the response with :class:`hub.xmlsafe.ElementStream` and judges each element as it ends:

- the X-Road header (checked by the caller) must come first;
- the list's start tag (``laskutuslista``) is validated shallowly once, where the contract
  puts it (Envelope/Body/laskutuslistaResponse), and must be of the month asked for and of
  the adapter's municipality;
- each line is validated on its own: an invalid line, and an element the list does not
  have, is yielded with a :class:`~hub.adapter.ContractViolation` and becomes a dead letter
  while every line before and after it flows;
- line numbers run on from the first line asked for; a line without a usable number is
  that line's problem (the count runs on), a number out of sequence the document's;
- the document must end whole and hold exactly the lines the months list declares.

A document-level problem that retrying will not heal (a structure the contract does not
have) is a :class:`~hub.errors.PermanentError`; a document that is not whole (cut short,
fewer or more lines than declared) a :class:`~hub.errors.TransientError`. Both name the
month, and the month is never taken as complete after either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import NoReturn

from lxml import etree

from hub.adapter import ContractViolation, NativeRecord
from hub.errors import PermanentError, TransientError
from hub.xmlsafe import (
    ElementStream,
    Foreign,
    IncompleteXmlError,
    UnsafeXmlError,
    XmlSyntaxError,
)
from hub_kela import mapping as m
from hub_kela.contract import (
    foreign_record_data,
    foreign_xml,
    number_of,
    record_data,
    valid_record_data,
    validator,
    violation,
    why_invalid,
)
from hub_kela.soap import fault_error, fault_of, k, q

ENVELOPE = q(m.SOAP_NS, "Envelope")
HEADER = q(m.SOAP_NS, "Header")
BODY = q(m.SOAP_NS, "Body")
FAULT = q(m.SOAP_NS, "Fault")
RESPONSE = k(f"{m.SVC_BILLING}Response")
LISTING = k(m.BILLING)
LINE = k(m.LINE)
#: the elements the stream stops at (everything else is inside one of them, or foreign)
TAGS = (HEADER, BODY, LISTING, LINE)
_LINE_ORDER = tuple(m.LINE_FIELDS.values())


class BillingList:
    """The judge of one month's billing list response, from line ``skip + 1`` on, that the
    months list declares ``declared`` lines in all. :meth:`records` yields the lines (and
    the foreign elements among them) as native records; :attr:`position` is the number of
    the last line yielded and :attr:`at_line` whether the last record was a line (a batch
    may end there: the cursor then covers everything yielded)."""

    def __init__(
        self,
        month: str,
        skip: int,
        declared: int,
        municipality: str,
        check_header: Callable[[etree._Element], None],
        *,
        max_bytes: int,
        id_prefix: str | None = None,
    ):
        self.month, self.skip, self.declared = month, skip, declared
        #: the records' ids are ``<prefix>/<line>`` (default: the month)
        self.prefix = id_prefix or month
        self.municipality = municipality
        self.check_header = check_header
        self.max_bytes = max_bytes
        self.where = f"{m.SYSTEM}/{m.SVC_BILLING} {self.prefix}"
        self.position = skip
        self.at_line = False
        self.listing: etree._Element | None = None
        self.attrs: dict[str, str] = {}
        self.closed = self.header_seen = self.body_seen = False
        self.pending: list[Foreign] = []
        self._after: Counter[int] = Counter()

    # --- reading ------------------------------------------------------------------------

    def records(self, chunks: Iterable[bytes]) -> Iterator[NativeRecord]:
        """The records of the response streamed in ``chunks``; raises when the document is
        not whole or not the contract's (see the module)."""
        if self.skip > self.declared:
            self._wrong(f"the list declares {self.declared} lines, {self.skip} were taken already")
        stream = ElementStream(chunks, TAGS, foreign=True, max_bytes=self.max_bytes)
        try:
            for item in stream:
                if type(item) is not Foreign and item.tag == LINE and self.header_seen:
                    if self.pending:  # the elements between the last line and this one
                        yield from self._line_ahead(item)
                    else:  # the common case, kept short: a million lines come this way
                        self._open(item.getparent())
                        yield self._line_record(item)
                    continue
                yield from self._take(item)
        except IncompleteXmlError as exc:
            raise TransientError(
                f"{self.where}: the response ends before the list does: not taken as complete "
                f"({exc})"
            ) from None
        except (XmlSyntaxError, UnsafeXmlError) as exc:
            self._wrong(f"the response is not valid: {exc}")
        self._finish()

    def _take(self, item: etree._Element | Foreign) -> Iterator[NativeRecord]:
        if isinstance(item, Foreign):  # its place is known once the next element ends
            self.pending.append(item)
            return
        if item.tag == HEADER:
            self._header(item)
        elif not self.header_seen:
            self._wrong("the response has no X-Road header before its body")
        elif item.tag == LINE:
            yield from self._line_ahead(item)
        elif item.tag == LISTING:
            yield from self._listing_ends(item)
        else:
            self._body(item)

    # --- the envelope -------------------------------------------------------------------

    def _header(self, header: etree._Element) -> None:
        envelope = header.getparent()
        if self.header_seen or envelope is None or envelope.getparent() is not None:
            self._wrong("the X-Road header is not the envelope's one header")
        if envelope.tag != ENVELOPE:
            self._wrong("the response is not a SOAP envelope")
        self._no_pending("before the header")
        self.check_header(header)
        self.header_seen = True

    def _body(self, body: etree._Element) -> None:
        """The SOAP body has ended: it holds the list's response and nothing else."""
        envelope = body.getparent()
        if envelope is None or envelope.getparent() is not None or self.body_seen:
            self._wrong("the SOAP body is not the envelope's one body")
        self._no_pending("in the envelope")
        fault = body.find(FAULT)
        if fault is not None:
            raise fault_error(*fault_of(fault), self.where)
        answers = [c for c in body if isinstance(c.tag, str)]
        if len(answers) != 1 or answers[0].tag != RESPONSE:
            self._wrong(f"the body holds something else than one <{m.SVC_BILLING}Response>")
        if len(answers[0]) or (answers[0].text or "").strip():
            self._wrong(f"<{m.SVC_BILLING}Response> holds more than the list")
        self.body_seen = True

    def _finish(self) -> None:
        """The document has ended whole: it must have held the whole list."""
        self._no_pending("in the response")
        if not self.header_seen:
            self._wrong("the response has no X-Road header")
        if self.listing is None or not self.closed or not self.body_seen:
            self._wrong("the response holds no billing list")
        if self.position != self.declared:
            since = f" (from line {self.skip + 1} on)" if self.skip else ""
            raise TransientError(
                f"{self.where}: the list declares {self.declared} lines, the response holds "
                f"{self.position}{since}: not taken as complete"
            )

    # --- the list -----------------------------------------------------------------------

    def _open(self, listing: etree._Element) -> None:
        """The list seen for the first time (at its first line, or its end if it has none):
        where the contract puts it, its start tag valid, of this month and municipality."""
        if self.listing is not None:
            if listing is not self.listing:
                self._wrong("a line or a list outside the one billing list")
            return
        response = listing.getparent()
        body = response.getparent() if response is not None else None
        envelope = body.getparent() if body is not None else None
        if (
            listing.tag != LISTING
            or response is None
            or response.tag != RESPONSE
            or body is None
            or body.tag != BODY
            or envelope is None
            or envelope.getparent() is not None
            # nothing before them: the header has gone, what is left is foreign
            or listing.getprevious() is not None
            or response.getprevious() is not None
            or body.getprevious() is not None
        ):
            self._wrong(f"the list is not the one element of <{m.SVC_BILLING}Response> in the body")
        if why := why_invalid(listing, shallow=True):
            self._wrong(f"the list's start tag is not valid against the schema: {why}")
        if listing.get(m.MONTH) != self.month:
            self._wrong(f"the list is of month {listing.get(m.MONTH)}, not the month asked for")
        if listing.get(m.MUNICIPALITY) != self.municipality:
            self._wrong("the list is addressed to another municipality than this one")
        self.listing = listing
        self.attrs = {name: listing.get(name) for name in (m.MONTH, m.MUNICIPALITY, m.DUE_ATTR)}

    def _listing_ends(self, listing: etree._Element) -> Iterator[NativeRecord]:
        """The list has ended: what is left in it (every line is gone) is foreign."""
        self._no_pending(f"before <{m.BILLING}>")
        self._open(listing)
        for child in listing:
            if child.tail and child.tail.strip():
                self._wrong(f"text outside any line near response line {child.sourceline}")
            if isinstance(child.tag, str):
                name = etree.QName(child).localname
                yield self._foreign(Foreign(name, child.sourceline, foreign_xml(child)))
        self.closed = True

    def _line_ahead(self, elem: etree._Element) -> Iterator[NativeRecord]:
        """The foreign elements noted since the last line, then the line."""
        self._open(elem.getparent())
        for found in self.pending:
            yield self._foreign(found)
        self.pending = []
        yield self._line_record(elem)

    def _line_record(self, elem: etree._Element) -> NativeRecord:
        """Line ``position + 1``, judged: a problem of its own, or none. (Text after a line
        is found by the stream, :class:`hub.xmlsafe.ElementStream`.)"""
        self.position += 1
        n = self.position
        if n > self.declared:
            raise TransientError(
                f"{self.where}: the list declares {self.declared} lines, the response holds "
                "more: not taken as complete"
            )
        given = elem.get(m.LINE_NO_ATTR)
        number = n if given == str(n) else number_of(given)
        if number is not None and number != n and number > 0:
            self._wrong(f"line {n} of the list is out of order")
        problem = None
        if not number:
            problem = ContractViolation(
                m.LINE_NO_ATTR, f"line {n} of the list has no line number that is a number"
            )
        elif invalid := validator().invalid(elem):
            where = f"line {n} of the {self.month} list"
            problem = violation(invalid, m.LINE, where, _LINE_ORDER)
        self.at_line = True
        if problem is None:  # valid: its fields, each once, and the list's
            data = valid_record_data(elem)
            data.update(self.attrs)
            return NativeRecord(f"{self.prefix}/{n}", data)
        return NativeRecord(f"{self.prefix}/{n}", self._kept(elem), problem)

    def _kept(self, elem: etree._Element) -> dict:
        """What is kept of a line that breaks the contract: everything it holds (a field
        given twice as a list, unknown children under their names), and the list's month,
        municipality and due date (a child of the line under one of those names is kept as
        ``rivi/<name>``)."""
        data = record_data(elem)  # its line number too (as "@nro"): it may be the problem
        for name, value in self.attrs.items():
            if name in data:
                data[f"{m.LINE}/{name}"] = data[name]
            data[name] = value
        return data

    def _foreign(self, found: Foreign) -> NativeRecord:
        """An element the list does not have, after line :attr:`position`: a record of its
        own with the problem, kept as it came."""
        self._after[self.position] += 1
        count = self._after[self.position]
        native_id = f"{self.prefix}/after-{self.position}" + (f".{count}" if count > 1 else "")
        problem = ContractViolation(
            found.name,
            f"<{found.name}> is not an element of the billing list (after line "
            f"{self.position}, response line {found.line})",
        )
        self.at_line = False
        return NativeRecord(native_id, foreign_record_data(found.xml), problem)

    # --- document-level problems --------------------------------------------------------

    def _no_pending(self, where: str) -> None:
        """Foreign elements noted before an element that is not a line are outside the
        list: the document's problem."""
        if self.pending:
            found = self.pending[0]
            self._wrong(f"an element the contract does not have ({found.name}) {where}")

    def _wrong(self, what: str) -> NoReturn:
        """A document-level problem retrying will not heal."""
        raise PermanentError(f"{self.where}: {what}")
