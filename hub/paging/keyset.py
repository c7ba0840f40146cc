"""Keyset paging for adapters of systems that list records ordered by (modified, id).

The cursor is the pair of the last record committed, as JSON: opaque to the engine, readable
by people who debug a run. :class:`KeysetStream` is a stream of such a list, declared in a
few lines (its path, id field, modified field, wire names and caps); the adapter supplies
only the request (:meth:`KeysetStream.get`). The te_office and innokyla adapters read their
lists this way; a third-party adapter paging the same way can too.

As in Singer SDK's and dlt's paginators, *fetching* a page is kept apart from *advancing*
the cursor. :class:`KeysetPaginator` is given a fetch callable (query parameters → the page,
parsed with :func:`hub.jsonsafe.parse`: its path, headers and byte cap are the adapter's
business); it builds the query, reads the page's envelope and records and moves the cursor.
Failures are at the level they belong to:

- the page: a body that is not JSON (cut short: :class:`TransientError`, reading again may
  heal; otherwise :class:`PermanentError`), an envelope that is not an object with a list
  of items or has a flaw of its own, a page that does not move the cursor on — raised,
  naming the system, the stream and the cursor position;
- one record: a flaw anywhere inside it (:func:`hub.jsonsafe.flaw`), an item that is not an
  object, an id or a ``modified`` stamp that cannot be used — the record is yielded with a
  :class:`ContractViolation` (a dead letter) and the others flow. A record without a usable
  id gets a positional id (``after <position> #<index>``), stable for the same page;
- a page over the byte cap is asked for again with half the limit, down to one record; only
  a single record over the cap fails the stream.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from hub import jsonsafe
from hub.adapter import (
    MAX_NATIVE_ID,
    Batch,
    ContractViolation,
    NativeRecord,
    Stream,
    escape_unprintable,
    id_problem,
)
from hub.errors import PermanentError, ResponseTooLarge, TransientError

log = logging.getLogger(__name__)

#: (modified, record id) of a record: where a keyset cursor stands
Position = tuple[str, str]
#: query parameters → the page, parsed strictly (:func:`hub.jsonsafe.parse`)
Fetch = Callable[[dict[str, Any]], Any]
#: how deep a record sits in its page: ``{"items": [record]}`` (for jsonsafe.MAX_DEPTH)
RECORD_DEPTH = 2
#: after a page was narrowed to fit the byte cap, how many pages must fit before the limit
#: is doubled again (one large record does not slow the rest of the stream for good, and
#: uniformly large records do not cost a page over the cap every other page)
GROW_AFTER = 4
#: the longest a cursor position is shown (so that ``#index`` fits in a native id)
_SHOWN = MAX_NATIVE_ID - 30


def encode_keyset(modified: str, record_id: str) -> str:
    """The cursor after the record ``(modified, record_id)``."""
    return json.dumps([modified, record_id], ensure_ascii=False, separators=(",", ":"))


def decode_keyset(cursor: str | None, system: str) -> tuple[str, str]:
    """``(modified, record_id)`` of a cursor; ``("", "")`` for None (from the beginning).
    A cursor this encoding did not write is a :class:`PermanentError` naming ``system``."""
    if not cursor:
        return "", ""
    try:
        modified, record_id = json.loads(cursor)
        if isinstance(modified, str) and isinstance(record_id, str):
            return modified, record_id
    except (ValueError, TypeError):
        pass
    raise PermanentError(f"{system}: the cursor is not one this adapter wrote")


def describe_position(position: Position) -> str:
    """A cursor position as people read it: ``2026-10-01T06:00:00Z/C-000004`` or
    ``(start)``; capped, so that it fits in a positional native id."""
    if not any(position):
        return "(start)"
    return escape_unprintable("/".join(position))[:_SHOWN]


def modified_problem(value: object) -> str | None:
    """Why ``value`` cannot be a record's ``modified`` stamp in a cursor (None: it can). It
    is compared as text and sent back in a query, so: printable text of 1–200 characters
    that UTF-8 can hold."""
    if value is None:
        return "is missing"
    if type(value) is not str:
        return "is not a string"
    if not value:
        return "is empty"
    if len(value) > MAX_NATIVE_ID or not value.isprintable():
        return f"is not a timestamp (unprintable, or longer than {MAX_NATIVE_ID} characters)"
    return None


def _id_violation(value: object, field: str) -> ContractViolation | None:
    """Why ``value`` cannot be the record's id, naming the id field (None: it can)."""
    if value is None:
        return ContractViolation(field, "is missing: the record has no id")
    if type(value) is not str:
        return ContractViolation(field, "is not a string")
    problem = id_problem(value)
    return ContractViolation(field, problem) if problem else None


def _kind(value: Any) -> str:
    """What JSON gave instead of an object, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string" if type(value) is str else "a number"  # a Flaw is a number's text
    if isinstance(value, int | float):
        return "a number"
    return "an array"


@dataclass(frozen=True)
class KeysetNames:
    """The names a keyset-paged list uses on the wire: the page envelope
    (``{items: [...], hasMore: bool}``) and the query parameters."""

    items: str = "items"
    has_more: str = "hasMore"
    limit: str = "limit"
    modified_after: str = "modifiedAfter"
    after_id: str = "afterId"


class KeysetPaginator:
    """The batches of one stream of a keyset-paged list, from ``cursor`` on (see the module).

    ``fetch(params)`` returns a page parsed by :func:`hub.jsonsafe.parse` and may raise its
    :class:`~hub.jsonsafe.JsonDocumentError`; ``limit`` is the page size asked for;
    ``max_bytes`` is the byte cap ``fetch`` applies (named in errors)."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        system: str,
        stream: str,
        id_field: str,
        modified_field: str,
        cursor: str | None,
        limit: int,
        names: KeysetNames = KeysetNames(),
        max_bytes: int | None = None,
    ):
        self.fetch = fetch
        self.system, self.stream = system, stream
        self.id_field, self.modified_field = id_field, modified_field
        self.names = names
        self.max_bytes = max_bytes
        self.position: Position = decode_keyset(cursor, system)
        self.page_limit = max(1, limit)
        #: the limit asked for now: halved while a page is over the byte cap
        self.limit = self.page_limit
        self.fitted = 0  # pages that fitted since the limit last changed
        self.finished = False

    def __iter__(self) -> Iterator[Batch]:
        while not self.finished:
            batch = self.advance(self.fetch_page())
            if batch is not None:
                yield batch
            self.fitted += 1
            if self.limit < self.page_limit and self.fitted >= GROW_AFTER:
                self.limit, self.fitted = min(self.page_limit, self.limit * 2), 0

    # --- fetching -------------------------------------------------------------------------
    def where(self) -> str:
        """The stream and the cursor position, for errors: ``te_office/clients after …``."""
        return f"{self.system}/{self.stream} after {describe_position(self.position)}"

    def params(self) -> dict[str, Any]:
        """The query of the page after the cursor."""
        params: dict[str, Any] = {self.names.limit: self.limit}
        if self.position[0]:
            params[self.names.modified_after] = self.position[0]
        if self.position[1]:
            params[self.names.after_id] = self.position[1]
        return params

    def fetch_page(self) -> Any:
        """The page after the cursor, parsed. A page over the byte cap is asked for again
        with half the limit: pages stay within the cap whatever the records weigh."""
        while True:
            try:
                return self.fetch(self.params())
            except jsonsafe.IncompleteJsonError as exc:
                raise TransientError(f"{self.where()}: {exc} (a page cut short)") from None
            except jsonsafe.JsonDocumentError as exc:
                raise PermanentError(f"{self.where()}: {exc}") from None
            except ResponseTooLarge:
                if self.limit == 1:
                    cap = f" of {self.max_bytes} bytes" if self.max_bytes else ""
                    raise PermanentError(
                        f"{self.where()}: the next record alone is larger than the page cap{cap}"
                    ) from None
                self.limit, self.fitted = self.limit // 2, 0
                log.info("%s: page over the byte cap, asking for %d", self.where(), self.limit)

    # --- reading and advancing ------------------------------------------------------------
    def items(self, page: Any) -> list[Any]:
        """The page's list of items; a page that is not one is a :class:`PermanentError`."""
        if type(page) is not dict:
            raise PermanentError(f"{self.where()}: the answer is not a page (not a JSON object)")
        problem = jsonsafe.envelope_flaw(page, self.names.items)
        if problem:
            raise PermanentError(f"{self.where()}: the page is not strict JSON: {problem}")
        items = page.get(self.names.items)
        if type(items) is not list:
            raise PermanentError(f"{self.where()}: the page has no list {self.names.items}")
        more = page.get(self.names.has_more, False)
        if type(more) is not bool:
            raise PermanentError(f"{self.where()}: {self.names.has_more} is not true or false")
        return items

    def record(self, item: Any, index: int) -> tuple[NativeRecord, Position | None]:
        """Item ``index`` of the page as a native record (with its contract violation, if
        any), and its ``(modified, id)`` if the cursor can stand on it."""
        if type(item) is not dict:
            violation = ContractViolation(None, f"the record is {_kind(item)}, not a JSON object")
            data = {"value": jsonsafe.pruned(item, RECORD_DEPTH)}
            return NativeRecord(self.positional_id(index), data, violation), None
        native_id, modified = item.get(self.id_field), item.get(self.modified_field)
        bad_id = _id_violation(native_id, self.id_field)
        bad_modified = modified_problem(modified)
        problem = (
            jsonsafe.flaw(item, depth=RECORD_DEPTH)
            or bad_id
            or (ContractViolation(self.modified_field, bad_modified) if bad_modified else None)
        )
        data = item if problem is None else jsonsafe.pruned(item, RECORD_DEPTH)
        if bad_id is not None:
            return NativeRecord(self.positional_id(index), data, problem), None
        key = (modified, native_id) if bad_modified is None else None
        return NativeRecord(native_id, data, problem), key

    def positional_id(self, index: int) -> str:
        """The id of a record that has none of its own: where it was read (stable as long as
        the page after the same cursor is the same), printable."""
        return f"after {describe_position(self.position)} #{index}"

    def advance(self, page: Any) -> Batch | None:
        """The page's records as a batch, the cursor moved past the last record it can
        stand on (None: the list has ended). Items after that record are read again with
        the next page, where they are no longer last; a page with no such record at all, or
        one that does not move the cursor on, is a :class:`PermanentError`."""
        items = self.items(page)
        if not items:
            self.finished = True
            return None
        read = [self.record(item, i) for i, item in enumerate(items)]
        keyed = [(i, key) for i, (_, key) in enumerate(read) if key is not None]
        if not keyed:
            raise PermanentError(
                f"{self.where()}: no record of the page has a usable {self.modified_field} "
                f"and {self.id_field}: the cursor cannot move past them"
            )
        last, following = keyed[-1]
        if following <= self.position:
            raise PermanentError(f"{self.where()}: the page does not move the cursor on")
        more = page.get(self.names.has_more, False) or last < len(read) - 1
        self.position = following
        self.finished = not more
        return Batch([record for record, _ in read[: last + 1]], encode_keyset(*following))


class KeysetStream(Stream, metaclass=abc.ABCMeta):
    """A stream of a list ordered by ``(modified, id)`` and paged after the last record read.

    A subclass declares the list — :attr:`path`, :attr:`id_field`, :attr:`modified_field`,
    the wire :attr:`names`, :attr:`max_page` and :attr:`max_page_bytes` — and implements
    :meth:`get`, the adapter's request; :meth:`read` pages through the list with a
    :class:`KeysetPaginator` (records, dead letters, page halving, errors as described in
    the module). The subclass still translates (``to_canonical``), and may write."""

    #: where the list is, below the adapter's base URL
    path: ClassVar[str]
    #: the record's field holding its id in the system
    id_field: ClassVar[str]
    #: the record's field holding when it last changed (the list's order, then the id)
    modified_field: ClassVar[str]
    #: the names of the page envelope and the query parameters on the wire
    names: ClassVar[KeysetNames] = KeysetNames()
    #: the most records the system gives in one page: no more are asked for
    max_page: ClassVar[int]
    #: the most bytes one page may hold (:meth:`get` applies it); a page over it is asked
    #: for again with half the limit
    max_page_bytes: ClassVar[int]

    @abc.abstractmethod
    def get(self, params: dict[str, Any]) -> bytes:
        """The body of the page of :attr:`path` that the query ``params`` asks for, at most
        :attr:`max_page_bytes` (:class:`ResponseTooLarge` beyond): the adapter's request,
        with its headers and credentials. Fails as the adapter's HTTP service does."""

    def fetch(self, params: dict[str, Any]) -> Any:
        """The page ``params`` asks for, parsed strictly: the paginator's fetch."""
        return jsonsafe.parse(self.get(params), what=f"{self.system} GET {self.path}")

    def read(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        yield from KeysetPaginator(
            self.fetch,
            system=self.system,
            stream=self.name,
            id_field=self.id_field,
            modified_field=self.modified_field,
            cursor=cursor,
            limit=min(batch_size, self.max_page),
            names=self.names,
            max_bytes=self.max_page_bytes,
        )

    @classmethod
    def problems(cls) -> list[str]:
        found = super().problems()
        where = f"stream {cls.__qualname__} ({getattr(cls, 'name', None)})"
        for attr in ("path", "id_field", "modified_field"):
            value = getattr(cls, attr, None)
            if type(value) is not str or not value:
                found.append(f"{where}: {attr} must be non-empty text, not {value!r}")
        if not isinstance(cls.names, KeysetNames):
            found.append(f"{where}: names must be KeysetNames, not {cls.names!r}")
        for attr in ("max_page", "max_page_bytes"):
            value = getattr(cls, attr, None)
            if type(value) is not int or value < 1:
                found.append(f"{where}: {attr} must be a positive whole number, not {value!r}")
        if getattr(cls.get, "__isabstractmethod__", False):
            found.append(f"{where}: does not implement get (how a page is fetched)")
        return found
