"""Sequence paging for adapters of systems that number the records of a list.

Each record of the list carries a sequence number, rising through the list; a page is asked
for from a number on (``first``, at most ``limit`` records) and declares whether more follow
and, optionally, the number to ask for next. The cursor is the sequence number of the last
record committed, as decimal text (None: from the beginning): opaque to the engine, readable
by people who debug a run. :class:`SequencePaginator` reads such a list for Kela's
benefit-day counts and notices; a third-party adapter paging the same way can use it too.

As in :mod:`hub.paging.keyset`, *fetching* a page is kept apart from *advancing* the cursor.
The adapter gives a fetch callable (``first``, ``limit`` → a :class:`Page`: its request, its
byte cap and its schema are the adapter's business, and so is every problem of the page as a
document); the paginator numbers the page's records, checks the page against what it
declares and moves the cursor. Failures are at the level they belong to:

- one record: a record that breaks the source's contract is given by the fetch with its
  :class:`ContractViolation` and yielded with it (a dead letter) while the others flow; an
  entry that is no record of the list (a :class:`Stray`: an element the page does not have)
  becomes a record of its own with the violation, named for where it was found
  (``after-<number>``, ``after-<number>.2`` for the second there);
- the page: a record without a sequence number, or one not after the record before it, is a
  :class:`PermanentError` (the cursor could not mean what it says, and reading again will
  not change the numbers); a page that is short of what it declares (more follow, yet it
  moves the cursor nowhere) or inconsistent with itself (the number it declares next is not
  after its last record) is a :class:`TransientError`. Either names the page by where it
  starts, and no cursor passes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.adapter import Batch, ContractViolation, NativeRecord
from hub.errors import PermanentError, TransientError


@dataclass(frozen=True)
class Numbered:
    """A record of the list: its sequence number as the page gives it (None: it gives none
    that is a number), what was read of it, and how it breaks the contract (if it does)."""

    number: int | None
    data: Mapping[str, Any]
    problem: ContractViolation | None = None


@dataclass(frozen=True)
class Stray:
    """An entry of a page that is no record of the list: ``name`` says what it is (an
    element's name), ``data`` what is kept of it, ``line`` where it is in the response."""

    name: str
    data: Mapping[str, Any]
    line: int | None = None


@dataclass(frozen=True)
class Page:
    """One page as the adapter read it: its entries in order, whether more follow, and the
    sequence number it says to ask for next (None: it says none)."""

    entries: Sequence[Numbered | Stray]
    more: bool
    following: int | None = None


#: (first sequence number, at most this many records) → the page
Fetch = Callable[[int, int], Page]


def encode_sequence(number: int) -> str:
    """The cursor after the record numbered ``number``."""
    return str(number)


def decode_sequence(cursor: str | None, where: str) -> int:
    """The sequence number of a cursor; 0 for None (from the beginning). A cursor that is
    not a sequence number is a :class:`PermanentError` naming ``where``."""
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()):
        raise PermanentError(f"{where}: the cursor is not a sequence number")
    return int(cursor)


class SequencePaginator:
    """The batches of a numbered list after ``cursor``, page by page (see the module).

    ``fetch(first, limit)`` returns the :class:`Page` from sequence number ``first`` on and
    raises for a page that is not one (cut short: :class:`TransientError`; not the
    contract's: :class:`PermanentError`); ``where`` names the list in errors
    (``kela/etuuspaivat``); ``limit`` is the page size asked for (at least 1)."""

    def __init__(self, fetch: Fetch, *, where: str, cursor: str | None, limit: int):
        if limit < 1:
            raise ValueError("the page size must be at least 1")
        self.fetch = fetch
        self.where = where
        self.limit = limit
        self.last = decode_sequence(cursor, where)
        self._strays: Counter[int] = Counter()  # entries kept after each number so far

    def __iter__(self) -> Iterator[Batch]:
        while True:
            page = self.fetch(self.last + 1, self.limit)
            batch = self.advance(page)
            if batch is None:
                return
            yield batch
            if not page.more:
                return

    def at(self) -> str:
        """The page being read, for errors: ``kela/etuuspaivat from record 101``."""
        return f"{self.where} from record {self.last + 1}"

    def advance(self, page: Page) -> Batch | None:
        """The page's records as a batch, the cursor moved past its last record (None: the
        list has ended). The page is judged whole before the cursor moves."""
        records: list[NativeRecord] = []
        last = self.last
        for entry in page.entries:
            if isinstance(entry, Stray):
                records.append(self._stray(entry, last))
                continue
            if entry.number is None or entry.number <= last:
                raise PermanentError(f"{self.at()}: the page does not move on")
            last = entry.number
            records.append(NativeRecord(encode_sequence(last), entry.data, entry.problem))
        if not records:
            if page.more:
                raise TransientError(
                    f"{self.at()}: the page declares that more records follow, yet holds "
                    "none: not taken as complete"
                )
            return None
        if page.more and last == self.last:
            raise PermanentError(f"{self.at()}: the page does not move on")
        if page.more and page.following is not None and page.following <= last:
            raise TransientError(
                f"{self.at()}: the page declares record {page.following} to follow, not one "
                f"after its last record {last}: not taken as complete"
            )
        self.last = last
        return Batch(records, encode_sequence(last))

    def _stray(self, entry: Stray, last: int) -> NativeRecord:
        """A stray entry after record ``last`` as a record of its own, with the violation."""
        self._strays[last] += 1
        count = self._strays[last]
        native_id = f"after-{last}" + (f".{count}" if count > 1 else "")
        line = f", response line {entry.line}" if entry.line is not None else ""
        problem = ContractViolation(
            entry.name,
            f"<{entry.name}> is not an element of the page (after record {last}{line})",
        )
        return NativeRecord(native_id, entry.data, problem)
