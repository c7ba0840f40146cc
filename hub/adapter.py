"""The adapter contract: what a plugin implements to connect one external system.

An adapter is small. The engine does everything else (cursors, batching, validation, the
store, retries, dead letters, the disclosure log). An adapter:

1. ``check()`` — proves it can reach the system (connectivity and credentials);
2. ``read(stream, cursor, batch_size)`` — yields :class:`Batch` es of native records
   changed since ``cursor``, each with the cursor to resume from once it is committed. A
   record that breaks the source's own contract (its schema, strict JSON) is yielded with a
   :class:`ContractViolation` and becomes a dead letter while the rest flows; a *document*
   (an export, a page, a list) that is not whole is never taken: raise
   :class:`hub.errors.TransientError` naming it, and yield no cursor past it;
3. ``to_canonical(stream, record)`` — native record → canonical entity (may raise
   :class:`hub.errors.RecordError` or pydantic's ``ValidationError``);
4. ``to_native(stream, record)`` — canonical record → native payload (a JSON-able dict).
   ``record`` is the entity as JSON (``model_dump(mode="json")``) *restricted to the fields
   the exchange's legal basis allows*: any field may be missing, and the adapter never sees
   a field it may not send;
5. ``write(stream, items)`` — delivers a batch, giving one :class:`WriteOutcome` per item.

``stream`` names one kind of record the system offers, e.g. ``service_periods``; every
stream carries one canonical entity (:attr:`Adapter.streams`). Adapters are constructed by
the engine with a :class:`SystemConfig` and must not import Airflow.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from hub.model import CanonicalEntity


@dataclass(frozen=True)
class SystemConfig:
    """Connection settings of one system, from the ``systems`` section of the exchanges file."""

    system: str
    base_url: str
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 30.0
    #: the longest a single call may take, across all its reads (httpx's read timeout is per chunk)
    deadline: float = 120.0


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
class StreamSpec:
    entity: type[CanonicalEntity]
    readable: bool = True
    writable: bool = False
    description: str = ""
    #: the canonical fields this stream's native format carries (None: all of them). A
    #: notification, say, carries only a few fields of an episode; the conformance kit's
    #: round trip compares these, and an exchange may not send a field the target cannot hold.
    carries: tuple[str, ...] | None = None


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


class Adapter(abc.ABC):
    """Base class of adapters. Subclasses set :attr:`system_id` and :attr:`streams`."""

    #: unique id of the system, used in configuration (``te_office``, ``municipal``, …)
    system_id: ClassVar[str]
    #: human-readable name
    title: ClassVar[str] = ""
    streams: ClassVar[Mapping[str, StreamSpec]]

    def __init__(self, config: SystemConfig):
        self.config = config

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

    def read(self, stream: str, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        """Yield batches of records changed since ``cursor`` (``None``: from the beginning).
        Raise :class:`hub.errors.TransientError` or :class:`PermanentError` on failure."""
        raise NotImplementedError(f"{self.system_id} cannot read stream {stream!r}")

    def to_canonical(self, stream: str, record: NativeRecord) -> CanonicalEntity:
        raise NotImplementedError(f"{self.system_id} cannot translate stream {stream!r}")

    def to_native(self, stream: str, record: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(f"{self.system_id} cannot translate to stream {stream!r}")

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteOutcome]:
        """Deliver ``items``; return exactly one outcome per item, matched by idempotency key.
        The target must treat a repeated key as the same delivery (no duplicate)."""
        raise NotImplementedError(f"{self.system_id} cannot write stream {stream!r}")

    @classmethod
    def stream_for(cls, entity: str, *, writable: bool) -> str | None:
        """The stream carrying ``entity`` (first match), for reading or writing."""
        for name, spec in cls.streams.items():
            if spec.entity.entity_name == entity and (spec.writable if writable else spec.readable):
                return name
        return None
