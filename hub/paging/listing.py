"""Listing paging for adapters of systems that offer whole documents through a listing.

A listing names the documents a system offers, oldest first, and may declare what each one
holds: records of each kind, all records, bytes (the case system's nightly exports). A
stream reads the documents after its cursor in the listing's order, record by record, each
document streamed rather than held whole.
:class:`ListingStream` is a stream of such a listing, declared in a few lines: the adapter
supplies the listing (:meth:`ListingStream.listing`) and opens a document for reading
(:meth:`ListingStream.open`); :class:`ListingPager` does the rest.

The cursor is ``<document id>#<n>`` — the first n records of the stream in that document
are committed — or ``<document id>#done``: the whole document is. It is opaque to the
engine and readable by people who debug a run. Document ids sort in the listing's order
(dates, zero-padded numbers): a cursor whose document has left the listing (purged) resumes
at the first document after it.

A document is done only when it was read whole. Failures are at the level they belong to:

- one record: the document gives a record that breaks the source's contract with its
  :class:`ContractViolation`, and it is yielded with it (a dead letter) while the others
  flow. An entry that is no record of the stream (an element of no known kind) is yielded
  the same way but not counted: the cursor's ``n`` counts the stream's records only;
- the document: one that is not whole — the document raises :class:`NotWhole` (cut short,
  another document than the one listed), or it holds other counts or bytes than the listing
  declares — is a :class:`TransientError` naming it. No cursor passes it: the records of
  the batches yielded before are kept (each one whole), and the next run reads on from
  there. A document the adapter refuses (not its format, unsafe) is the adapter's
  :class:`PermanentError`;
- the listing: a document id no cursor can hold, or one listed twice, is a
  :class:`PermanentError` (the adapter refuses a listing that breaks its own contract first).
"""

from __future__ import annotations

import abc
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import ClassVar, Protocol

from hub.adapter import MAX_NATIVE_ID, Batch, NativeRecord, Stream, id_problem
from hub.errors import PermanentError, TransientError
from hub.privacy import redact

DONE = "done"
_CURSOR = re.compile(r"(?P<document>[^#]+)#(?P<position>[0-9]+|done)")

#: a record of a document and whether it counts as one of the stream's (False: an entry
#: that is no record of the stream, kept as a dead letter without moving the position)
Entry = tuple[NativeRecord, bool]


class NotWhole(Exception):
    """Raised while a document is read: it is not whole (it ends before its end, or it is
    another document than the one listed). The message says what is wrong, never quoting
    the document's records."""


@dataclass(frozen=True)
class Listed:
    """A document as the listing declares it: its id and, when the listing says, what it
    holds (records of each kind, all records, bytes)."""

    id: str
    counts: Mapping[str, int] | None = None
    records: int | None = None
    bytes: int | None = None

    def differences(self, counts: Mapping[str, int], size: int) -> list[str]:
        """How a document that held ``counts`` records of each kind and ``size`` bytes
        differs from this declaration (empty: it does not)."""
        found = []
        if self.counts is not None:
            for kind in sorted(set(self.counts) | {k for k, n in counts.items() if n}):
                declared, held = self.counts.get(kind, 0), counts.get(kind, 0)
                if declared != held:
                    found.append(f"{declared} <{kind}> declared, {held} held")
        total = sum(counts.values())
        if self.records is not None and self.records != total:
            found.append(f"{self.records} records declared, {total} held")
        if self.bytes is not None and self.bytes != size:
            found.append(f"{self.bytes} bytes declared, {size} received")
        return found


class Document(Protocol):
    """A document opened for one stream: its entries in order; once they are all read,
    what it held (records of each kind, bytes), to compare with the listing."""

    def __iter__(self) -> Iterator[Entry]: ...

    @property
    def counts(self) -> Mapping[str, int]: ...

    @property
    def bytes(self) -> int: ...


#: the listing, oldest document first
FetchListing = Callable[[], Sequence[Listed]]
#: a listed document, opened for reading (closed once read, whole or not)
OpenDocument = Callable[[Listed], AbstractContextManager[Document]]


def encode_cursor(document_id: str, position: int | None) -> str:
    """``ID#N`` (the first N records of the stream in document ID committed) or ``ID#done``
    (None: the whole document)."""
    return f"{document_id}#{DONE if position is None else position}"


def decode_cursor(cursor: str, system: str) -> tuple[str, int | None]:
    """(document id, records committed in it, or None when the whole document is). A
    cursor this encoding did not write is a :class:`PermanentError` naming ``system``."""
    match = _CURSOR.fullmatch(cursor)
    if not match:
        raise PermanentError(f"{system}: not a cursor of this adapter: {cursor!r}")
    position = match["position"]
    return match["document"], None if position == DONE else int(position)


def documents_to_read(
    listed: Sequence[str], start: tuple[str, int | None] | None
) -> list[tuple[str, int]]:
    """(document id, records of the stream to skip) of every document of the listing
    ``listed`` (ids, oldest first) left after the decoded cursor ``start`` (None: all)."""
    if start is None:
        return [(d, 0) for d in listed]
    document, done = start
    if document not in listed:  # purged from the listing: carry on with the later ones
        return [(d, 0) for d in listed if d > document]
    later = [(d, 0) for d in listed[listed.index(document) + 1 :]]
    return later if done is None else [(document, done), *later]


def listing_problem(listed: Sequence[Listed]) -> str | None:
    """Why the pager cannot read by ``listed`` (None: it can): an id no cursor can hold
    (not printable text of 1–200 characters, or holding ``#``), or an id listed twice."""
    seen: set[str] = set()
    for i, document in enumerate(listed):
        if id_problem(document.id) is not None or "#" in document.id:
            return (
                f"document #{i + 1} has no id a cursor can hold (printable text of "
                f"1–{MAX_NATIVE_ID} characters without '#')"
            )
        if document.id in seen:
            return f"{document.id} is listed twice"
        seen.add(document.id)
    return None


class ListingPager:
    """The batches of one stream read from a listing of whole documents, from ``cursor`` on
    (see the module).

    ``fetch_listing()`` gives the listing (fetched when the iteration starts);
    ``open_document(listed)`` opens one document for the stream. ``system`` and
    ``document`` (what the system calls its documents: ``export``, ``bill``) name the
    document in errors: ``municipal: export 2026-11-20``."""

    def __init__(
        self,
        fetch_listing: FetchListing,
        open_document: OpenDocument,
        *,
        system: str,
        document: str,
        cursor: str | None,
        batch_size: int,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.fetch_listing, self.open_document = fetch_listing, open_document
        self.system, self.document = system, document
        self.batch_size = batch_size
        self.start = None if cursor is None else decode_cursor(cursor, system)

    def where(self, document_id: str) -> str:
        """A document as errors name it: ``municipal: export 2026-11-20``."""
        return f"{self.system}: {self.document} {document_id}"

    def __iter__(self) -> Iterator[Batch]:
        listed = self.fetch_listing()
        problem = listing_problem(listed)
        if problem:
            raise PermanentError(f"{self.system}: the listing of {self.document}s: {problem}")
        by_id = {d.id: d for d in listed}
        for document_id, skip in documents_to_read(list(by_id), self.start):
            yield from self.read_document(by_id[document_id], skip)

    def read_document(self, listed: Listed, skip: int) -> Iterator[Batch]:
        """The records of one document after the first ``skip`` of the stream's; the
        document is done (its last batch carries the ``done`` cursor) only once it was read
        whole. An entry that is no record of the stream does not move the position: it
        is skipped on resuming only when a record after it was committed, so when it ends
        a batch, a run resuming from that batch's cursor reads it again (its id is where
        it stands: the same dead letter, which replaces the earlier one)."""
        position, batch = 0, []
        try:
            with self.open_document(listed) as document:
                for record, counted in document:
                    if counted:
                        position += 1
                        if position <= skip:
                            continue
                    elif position < skip:  # came with a batch committed already
                        continue
                    batch.append(record)
                    if len(batch) >= self.batch_size:
                        yield Batch(batch, encode_cursor(listed.id, position))
                        batch = []
                counts, size = document.counts, document.bytes
        except NotWhole as exc:
            raise TransientError(
                f"{self.where(listed.id)} is not whole ({redact(exc)}): not taken as "
                "complete; the next run reads it again"
            ) from None
        differences = listed.differences(counts, size)
        if differences:
            if batch:  # whole records: kept, and the document read on from after them
                yield Batch(batch, encode_cursor(listed.id, position))
            raise TransientError(
                f"{self.where(listed.id)} does not hold what the listing declares "
                f"({'; '.join(differences)}): not taken as complete; the next run reads it "
                "again"
            )
        yield Batch(batch, encode_cursor(listed.id, None))


class ListingStream(Stream, metaclass=abc.ABCMeta):
    """A stream read from a listing of whole documents (see the module).

    A subclass names its :attr:`document` and implements :meth:`listing` and :meth:`open`,
    the adapter's requests; :meth:`read` reads the documents after the cursor with a
    :class:`ListingPager`. The subclass still translates (``to_canonical``), and may
    write."""

    #: what the system calls one of its documents, in errors (``export``, ``bill``)
    document: ClassVar[str]

    @abc.abstractmethod
    def listing(self) -> Sequence[Listed]:
        """The documents the system offers, oldest first, as its listing declares them. A
        listing that breaks the system's contract is a :class:`PermanentError` (cut short:
        :class:`TransientError`)."""

    @abc.abstractmethod
    def open(self, listed: Listed) -> AbstractContextManager[Document]:
        """The document ``listed`` opened for this stream. Reading it raises
        :class:`NotWhole` for a document that is not whole, and :class:`PermanentError`
        naming the document for one the stream refuses."""

    def read(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        yield from ListingPager(
            self.listing,
            self.open,
            system=self.system,
            document=self.document,
            cursor=cursor,
            batch_size=batch_size,
        )

    @classmethod
    def problems(cls) -> list[str]:
        found = super().problems()
        where = f"stream {cls.__qualname__} ({getattr(cls, 'name', None)})"
        document = getattr(cls, "document", None)
        if type(document) is not str or not document:
            found.append(f"{where}: document must be non-empty text, not {document!r}")
        for method in ("listing", "open"):
            if getattr(getattr(cls, method), "__isabstractmethod__", False):
                found.append(f"{where}: does not implement {method}")
        return found
