"""The adapter contract: what a plugin implements to connect one external system.

An adapter is a *connection* (settings, an HTTP client, credentials) plus its *streams*. A
:class:`Stream` is one kind of record the system offers or takes — ``service_periods``,
``attendance`` — and carries exactly one canonical entity. The engine does everything else
(cursors, batching, validation, the store, retries, dead letters, the disclosure log); it
looks a stream up once, by name or by entity, and then calls the stream itself:

- ``Adapter.check()`` proves the connection works (reachable, credentials accepted);
- ``Stream.read(cursor, batch_size)`` yields :class:`Batch` es of native records changed
  since ``cursor``, each with the cursor to resume from once it is committed. A record that
  breaks the source's own contract (its schema, strict JSON) is yielded with a
  :class:`ContractViolation` and becomes a dead letter while the rest flows; a *document* (an
  export, a page, a list) that is not whole is never taken: raise
  :class:`hub.errors.TransientError` naming it, and yield no cursor past it. The shared
  pagers of :mod:`hub.paging` do this for keyset, sequence and listing-of-documents paging;
- ``Stream.to_canonical(record)`` — native record → canonical entity (may raise
  :class:`hub.errors.RecordError` or pydantic's ``ValidationError``);
- ``Stream.to_native(record)`` — canonical record → native payload (a JSON-able dict).
  ``record`` is the entity as JSON (``model_dump(mode="json")``) *restricted to the fields
  the exchange's legal basis allows*: any field may be missing, and the stream never sees a
  field it may not send;
- ``Stream.write(items)`` delivers a batch, giving one :class:`WriteOutcome` per item
  (:class:`hub.writing.BatchOutcomes` keeps that promise for a batch answered item by item).

A stream that implements ``read`` is readable, one that implements ``write`` writable (both
is allowed). Adapters are constructed by the engine with a :class:`SystemConfig` and must
not import Airflow.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

import jsonschema

from hub.errors import PermanentError
from hub.model import CanonicalEntity

if TYPE_CHECKING:
    from hub.engine.context import Hub
    from hub.exchanges import Exchange


@dataclass(frozen=True)
class SystemConfig:
    """Connection settings of one system, from the ``systems`` section of the exchanges file."""

    system: str
    base_url: str
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 30.0
    #: the longest a single call may take, across all its reads (httpx's read timeout is per chunk)
    deadline: float = 120.0
    #: the adapter this system is an instance of (None: the adapter whose id is the name):
    #: two case systems, say, are two systems of one adapter
    adapter: str | None = None

    @property
    def adapter_id(self) -> str:
        return self.adapter or self.system


#: the longest native id the hub keeps (ids are keys in the identity map and in messages)
MAX_NATIVE_ID = 200


def id_problem(native_id: object) -> str | None:
    """Why ``native_id`` cannot identify a record (None: it can). An id is printable text of
    1–200 characters that UTF-8 can hold (JSON may carry lone surrogates, which cannot be
    stored, logged or compared)."""
    if not isinstance(native_id, str) or not native_id:
        return "the record has no id"
    if len(native_id) > MAX_NATIVE_ID:
        return f"the id is longer than {MAX_NATIVE_ID} characters"
    if not native_id.isprintable():
        return "the id holds control or other unprintable characters"
    try:
        native_id.encode()
    except UnicodeEncodeError:
        return "the id is not valid Unicode (a lone surrogate)"
    return None


def escape_unprintable(text: str) -> str:
    """``text`` with every unprintable character (a control character, a lone surrogate)
    escaped as ``\\uNNNN``, so that it can be shown, logged and stored whatever it holds."""
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable_id(native_id: object) -> str:
    """``native_id`` as it can be shown, logged and stored, whatever it holds: a usable id
    as it is; anything else escaped (:func:`escape_unprintable`) and capped at
    :data:`MAX_NATIVE_ID`."""
    if isinstance(native_id, str) and id_problem(native_id) is None:
        return native_id
    text = native_id if isinstance(native_id, str) else repr(native_id)
    return escape_unprintable(text)[:MAX_NATIVE_ID] or "(no id)"


@dataclass(frozen=True)
class ContractViolation:
    """Why one record breaks its source's contract, found while reading it: the element or
    field that is wrong (None: the record as a whole) and what is wrong with it. Never
    quotes the record's values."""

    field: str | None
    message: str


@dataclass(frozen=True)
class NativeRecord:
    """One record as the external system gave it. ``data`` must be JSON-serialisable so that a
    failing record can be kept (encrypted) in the dead letters and replayed after a fix.

    ``problem`` is set when the record breaks the source's contract (it is not valid against
    the source's schema, its JSON is not strict, it is an element no stream knows): the
    engine keeps it as a dead letter with that reason and never translates it. ``data`` then
    holds what could be read of it, as faithfully as JSON allows."""

    native_id: str
    data: Mapping[str, Any]
    problem: ContractViolation | None = None


@dataclass(frozen=True)
class Batch:
    records: Sequence[NativeRecord]
    #: where to resume once this batch is committed; opaque to the engine
    next_cursor: str | None


@dataclass(frozen=True)
class WriteItem:
    #: the same key for every attempt of the same record version (idempotent retries)
    idempotency_key: str
    record_id: str
    payload: Mapping[str, Any]
    #: the record's id in the target system, if the hub already knows it
    native_id: str | None = None


class Outcome(StrEnum):
    OK = "ok"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    #: the target has nothing to do with this version (e.g. no notification for a planned
    #: period); counted as skipped, neither delivered nor failed
    SKIPPED = "skipped"


@dataclass(frozen=True)
class WriteOutcome:
    idempotency_key: str
    outcome: Outcome
    reason: str = ""
    #: the target's id for the record, recorded in the identity map
    native_id: str | None = None
    retry_after: float | None = None

    @classmethod
    def ok(cls, key: str, native_id: str | None = None) -> WriteOutcome:
        return cls(key, Outcome.OK, native_id=native_id)

    @classmethod
    def transient(cls, key: str, reason: str, retry_after: float | None = None) -> WriteOutcome:
        return cls(key, Outcome.TRANSIENT, reason, retry_after=retry_after)

    @classmethod
    def skipped(cls, key: str, reason: str) -> WriteOutcome:
        return cls(key, Outcome.SKIPPED, reason)

    @classmethod
    def permanent(cls, key: str, reason: str) -> WriteOutcome:
        return cls(key, Outcome.PERMANENT, reason)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str


@dataclass(frozen=True)
class RunContext:
    """What the engine tells an adapter about the run it serves. Adapters of external
    systems need none of it; an end inside the hub (:mod:`hub.ends`) reads the store through
    it, and logs that reading under the exchange's name and legal basis."""

    hub: Hub
    exchange: Exchange


#: how a stream is read: since the cursor the last run committed, or whole on every run
INCREMENTAL, FULL = "incremental", "full"


class Stream:
    """One kind of record a system offers or takes, carrying one canonical entity.

    Subclasses set :attr:`name` and :attr:`entity` and implement reading (:meth:`read` and
    :meth:`to_canonical`), writing (:meth:`to_native` and :meth:`write`), or both. The
    adapter that lists the stream constructs it with itself (:attr:`adapter`: the
    connection, its HTTP client and options)."""

    #: the stream's name, unique within its adapter (configuration, cursors, dead letters)
    name: ClassVar[str]
    #: the canonical entity every record of the stream is
    entity: ClassVar[type[CanonicalEntity]]
    description: ClassVar[str] = ""
    #: the canonical fields this stream's native format carries (None: all of them). A
    #: notification, say, carries only a few fields of an episode; the conformance kit's
    #: round trip compares these, and an exchange may not send a field the target cannot hold.
    carries: ClassVar[tuple[str, ...] | None] = None
    #: :data:`INCREMENTAL` (since the committed cursor) or :data:`FULL`: read whole on every
    #: run, by one reader, and no cursor kept (a stream whose position cannot be resumed)
    replication: ClassVar[str] = INCREMENTAL
    #: False for a target that keeps what it receives in the hub's own store as it is read
    #: (:mod:`hub.ends`): nothing is queued for it and nothing delivered
    delivers: ClassVar[bool] = True
    #: the canonical fields a writable stream needs in every record (the keys by which the
    #: target knows it): ``hub exchanges validate`` refuses an exchange that does not send them
    requires: ClassVar[tuple[str, ...]] = ()
    #: set for each subclass: whether it implements reading, writing
    readable: ClassVar[bool] = False
    writable: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.readable = cls.read is not Stream.read
        cls.writable = cls.write is not Stream.write

    def __init__(self, adapter: Adapter):
        self.adapter = adapter

    @property
    def system(self) -> str:
        """The system this stream belongs to, as the exchanges file names it (an instance
        of the adapter: ``system_id`` names the adapter, this the system)."""
        return self.adapter.config.system

    def read(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        """Yield batches of records changed since ``cursor`` (``None``: from the beginning).
        Raise :class:`hub.errors.TransientError` or :class:`PermanentError` on failure."""
        raise PermanentError(f"{self.system}/{self.name} cannot be read")

    def to_canonical(self, record: NativeRecord) -> CanonicalEntity:
        """A native record of this stream as its canonical entity."""
        raise PermanentError(f"{self.system}/{self.name} cannot translate its records")

    def to_native(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A canonical record (as JSON, restricted to the allowed fields) in native form."""
        raise PermanentError(f"{self.system}/{self.name} cannot translate to its native form")

    def write(self, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Deliver ``items``; return exactly one outcome per item, matched by idempotency key.
        The target must treat a repeated key as the same delivery (no duplicate)."""
        raise PermanentError(f"{self.system}/{self.name} cannot be written")

    @classmethod
    def problems(cls) -> list[str]:
        """What is wrong with this stream class as a contract (empty: nothing)."""
        where = f"stream {cls.__qualname__}"
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            return [f"{where}: name must be an identifier, not {name!r}"]
        entity = getattr(cls, "entity", None)
        if not (isinstance(entity, type) and issubclass(entity, CanonicalEntity)):
            return [f"{where} ({name}): entity must be a canonical entity class, not {entity!r}"]
        found = []
        if not (cls.readable or cls.writable):
            found.append(f"{where} ({name}): implements neither read nor write")
        if cls.readable and cls.to_canonical is Stream.to_canonical:
            found.append(f"{where} ({name}): readable, but has no to_canonical")
        if cls.writable and cls.to_native is Stream.to_native:
            found.append(f"{where} ({name}): writable, but has no to_native")
        if cls.replication not in (INCREMENTAL, FULL):
            found.append(f"{where} ({name}): replication must be {INCREMENTAL} or {FULL}")
        for what, names in (("carries", cls.carries or ()), ("requires", cls.requires)):
            unknown = [f for f in names if f not in entity.model_fields]
            if unknown:
                found.append(
                    f"{where} ({name}): {what} {', '.join(unknown)}, not fields of "
                    f"{entity.entity_name}"
                )
        return found


class Adapter(abc.ABC):
    """A connection to one system and the streams it offers. Subclasses set
    :attr:`system_id` and :attr:`streams` and implement :meth:`check`."""

    #: unique id of the system, used in configuration (``te_office``, ``municipal``, …)
    system_id: ClassVar[str]
    #: human-readable name
    title: ClassVar[str] = ""
    #: the stream classes of this system
    streams: ClassVar[Sequence[type[Stream]]] = ()
    #: False for an end inside the hub: it needs no entry under ``systems`` in the
    #: exchanges file (it has no address), and such an entry is refused
    connects: ClassVar[bool] = True
    #: a JSON Schema (draft 2020-12) of the system's ``options`` in the exchanges file,
    #: against which ``hub exchanges validate`` checks them (an unknown option is refused
    #: with ``additionalProperties: false``); None: the options are not checked
    options_schema: ClassVar[Mapping[str, Any] | None] = None

    def __init__(self, config: SystemConfig, context: RunContext | None = None):
        self.config = config
        self.context = context
        self._streams: dict[str, Stream] = {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Called by the engine when a run ends."""

    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def check(self) -> CheckResult:
        """Reach the system and return whether it answers as expected. Never raises for an
        unreachable system: returns ``CheckResult(False, reason)``."""

    @classmethod
    def stream_classes(cls) -> dict[str, type[Stream]]:
        """The adapter's stream classes by name (an adapter whose streams depend on what is
        installed, such as the hub's own ends, overrides this)."""
        return {s.name: s for s in cls.streams}

    @classmethod
    def stream_class(cls, name: str) -> type[Stream]:
        """The stream class called ``name``; an unknown name is a :class:`PermanentError`."""
        found = cls.stream_classes().get(name)
        if found is None:
            known = ", ".join(cls.stream_classes()) or "none"
            raise PermanentError(f"{cls.system_id} has no stream {name!r} (streams: {known})")
        return found

    @classmethod
    def stream_of(cls, entity: str, *, writable: bool) -> type[Stream] | None:
        """The first stream carrying ``entity`` that can be read (or written)."""
        for s in cls.stream_classes().values():
            if s.entity.entity_name == entity and (s.writable if writable else s.readable):
                return s
        return None

    @classmethod
    def problems(cls) -> list[str]:
        """What is wrong with this adapter class as a contract (empty: nothing)."""
        found = []  # the system id and the presence of streams: hub.registrations
        try:  # the engine constructs every adapter as cls(config, context)
            inspect.signature(cls).bind(SystemConfig(system="x", base_url=""), None)
        except (TypeError, ValueError):
            found.append(
                f"{cls.__qualname__}: __init__ must take (config, context=None), as "
                "hub.adapter.Adapter's does"
            )
        if cls.options_schema is not None:
            try:
                jsonschema.Draft202012Validator.check_schema(cls.options_schema)
            except jsonschema.SchemaError as exc:
                found.append(f"{cls.__qualname__}: options_schema: {exc.message}")
        streams = list(cls.streams) or list(cls.stream_classes().values())
        names = [getattr(s, "name", None) for s in streams]
        for s in streams:
            if not (isinstance(s, type) and issubclass(s, Stream)):
                found.append(f"{cls.__qualname__}: {s!r} is not a Stream class")
                continue
            found.extend(s.problems())
        doubled = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
        if doubled:
            found.append(f"{cls.__qualname__}: stream {', '.join(doubled)} listed twice")
        return found

    def stream(self, name: str) -> Stream:
        """This connection's stream ``name`` (made once per adapter)."""
        found = self._streams.get(name)
        if found is None:
            found = self._streams[name] = self.stream_class(name)(self)
        return found
