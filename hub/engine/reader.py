"""The reading side of an extract: a stream's records read from the source, translated,
validated and prepared for the store (keyed pseudonyms, canonical JSON, hashes, encryption),
batch by batch — in a worker process while this process stores the batch before, or here.

Reading and preparing a record costs about as much as storing it, so on two cores the
worker nearly doubles the rate of a bulk load. The worker is forked: it inherits the
settings, the rules and the keys (no key leaves the process tree, nothing is re-read), builds
its own adapter (it shares no connection with this process) and never touches the store. It
sends each prepared batch, its log records and its end or its error through a pipe; the
pipe holds about one batch, so the worker stays one batch ahead and memory stays flat. It
dies with this process. Where processes cannot be forked, or the exchange says
``parallel: false``, the same steps run here, one after the other.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import signal
import struct
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from hub.engine.context import Hub
from hub.engine.translate import Translated, translate
from hub.errors import DeliveryError, HubError, PermanentError, TransientError
from hub.exchanges import EntityFlow, Exchange
from hub.privacy import RedactingFilter, redact
from hub.store import records
from hub.store.deadletters import Failure

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
_PIPE_BYTES = 1 << 20  # asked of the kernel for the pipe (the default is 64 KiB)


@dataclass
class Staged:
    """A batch read and prepared for the store, and the records of it that failed."""

    prepared: list[records.Prepared] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    read: int = 0

    def __getstate__(self) -> tuple:  # through the pipe as plain tuples: three times faster
        return [tuple(p) for p in self.prepared], self.failures, self.read

    def __setstate__(self, state: tuple) -> None:
        prepared, self.failures, self.read = state
        self.prepared = list(map(records.Prepared._make, prepared))


def stage(hub: Hub, system: str, stream: str, items: Sequence[Translated | Failure]) -> Staged:
    """Prepare the translated records of one batch for the store (no database needed)."""
    good, failures = [], []
    for item in items:
        if type(item) is Translated:
            good.append((item.record.native_id, item.entity))
        else:
            failures.append(item)
    return Staged(records.prepare(hub.keys, system, good), failures, len(items))


def _prepared(
    hub: Hub, exchange: Exchange, flow: EntityFlow, stream: str, cursor: str | None
) -> Iterator[tuple[Staged, str | None]]:
    """(prepared batch, cursor after it) of the stream since ``cursor``, in this process."""
    with hub.adapter(exchange.source) as adapter:
        system, rules = adapter.system_id, hub.rules
        for batch in adapter.read(stream, cursor, exchange.batch_size):
            items = [translate(adapter, stream, flow.entity, rules, r) for r in batch.records]
            yield stage(hub, system, stream, items), batch.next_cursor


def can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


@contextlib.contextmanager
def prepared_batches(
    hub: Hub, exchange: Exchange, flow: EntityFlow, stream: str, cursor: str | None
) -> Iterator[Iterator[tuple[Staged, str | None]]]:
    """The stream's prepared batches since ``cursor``, with the cursor after each.

    Read here until a batch's worth of records has come (most runs read a night's few
    changes: no process is started for them); if the stream goes on and the exchange is
    ``parallel`` (and this system can fork), a worker reads the rest from the cursor of the
    last batch read here."""
    inline = _prepared(hub, exchange, flow, stream, cursor)
    if not (exchange.parallel and can_fork()):
        yield inline
        return
    workers: list[_Worker] = []

    def batches() -> Iterator[tuple[Staged, str | None]]:
        read = 0
        for staged, next_cursor in inline:
            yield staged, next_cursor
            read += staged.read
            if read >= exchange.batch_size:
                inline.close()  # its adapter and connection are closed
                workers.append(_Worker(hub, exchange, flow, stream, next_cursor))
                yield from workers[0].batches()
                return

    try:
        yield batches()
    finally:
        inline.close()
        for worker in workers:
            worker.stop()


# --- the pipe -------------------------------------------------------------------------------


def _send(out: BinaryIO, message: tuple) -> None:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: the messages hold no shared or circular objects (2x faster)
    pickler.dump(message)
    data = buffer.getbuffer()
    out.write(_HEADER.pack(len(data)))
    out.write(data)
    out.flush()


def _receive(inp: BinaryIO) -> tuple | None:
    """The next message, or None when the pipe ended without one."""
    header = inp.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = inp.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # our own child's output, never another party's


def _error_of(exc: BaseException) -> tuple[str, str, float | None, int | None]:
    """What the worker reports of an error: kind, message (redacted), retry-after, status."""
    if isinstance(exc, DeliveryError):
        kind = "transient" if exc.transient else "permanent"
        return kind, redact(exc), exc.retry_after, exc.status
    if isinstance(exc, HubError):
        return "hub", redact(exc), None, None
    return "bug", redact(f"{type(exc).__name__}: {exc}"), None, None


def _raise(kind: str, message: str, retry_after: float | None, status: int | None) -> None:
    if kind == "transient":
        raise TransientError(message, retry_after=retry_after, status=status)
    if kind == "permanent":
        raise PermanentError(message, status=status)
    if kind == "hub":
        raise HubError(message)
    raise RuntimeError(f"the reading worker failed: {message}")


class _Forward(logging.Handler):
    """In the worker: every log record, redacted, to the parent, which logs it."""

    def __init__(self, out: BinaryIO):
        super().__init__()
        self.out = out
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _send(self.out, ("log", record.name, record.levelno, record.getMessage()))
        except Exception:  # the parent is gone: nothing to log to
            pass


# --- the worker -----------------------------------------------------------------------------


class _Worker:
    def __init__(
        self, hub: Hub, exchange: Exchange, flow: EntityFlow, stream: str, cursor: str | None
    ):
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError):  # a larger pipe: fewer wake-ups per batch
            import fcntl

            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - runs in the worker (measured in tests)
            os.close(read_fd)
            _work(hub, exchange, flow, stream, cursor, os.fdopen(write_fd, "wb"), parent)
        os.close(write_fd)
        self.inp = os.fdopen(read_fd, "rb", buffering=_PIPE_BYTES)
        self.finished = False
        log.debug("%s: %s/%s read by worker %d", exchange.name, exchange.source, stream, self.pid)

    def batches(self) -> Iterator[tuple[Staged, str | None]]:
        while True:
            message = _receive(self.inp)
            if message is None:
                raise TransientError("the reading worker ended without finishing the stream")
            kind = message[0]
            if kind == "batch":
                yield message[1], message[2]
            elif kind == "log":
                _, name, level, text = message
                logging.getLogger(name).log(level, "%s", text)
            elif kind == "end":
                self.finished = True
                return
            else:
                self.finished = True
                _raise(*message[1:])

    def stop(self) -> None:
        """End the worker (at once if the stream was not read to the end) and reap it."""
        if not self.finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.inp.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _work(
    hub: Hub,
    exchange: Exchange,
    flow: EntityFlow,
    stream: str,
    cursor: str | None,
    out: BinaryIO,
    parent: int,
) -> None:  # pragma: no cover - runs in the worker
    """The worker's whole life: read, prepare and send every batch, then end."""
    try:
        _die_with(parent)
        # the store's connections are the parent's: never used here, and never closed (they
        # stay referenced until os._exit, so no finaliser of SQLite runs in this process)
        root = logging.getLogger()
        for logger in [root, *logging.root.manager.loggerDict.values()]:
            if isinstance(logger, logging.Logger):
                logger.handlers.clear()
        root.addHandler(_Forward(out))
        for staged, next_cursor in _prepared(hub, exchange, flow, stream, cursor):
            _send(out, ("batch", staged, next_cursor))
        _send(out, ("end",))
    except BaseException as exc:
        with contextlib.suppress(Exception):
            _send(out, ("error", *_error_of(exc)))
    finally:
        os._exit(0)  # no cleanup of what belongs to the parent (atexit, open files)


def _die_with(parent: int) -> None:  # pragma: no cover - runs in the worker
    """Be killed when the parent dies, however it dies (Linux: PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the line above
        os._exit(0)


__all__ = ["Staged", "can_fork", "prepared_batches", "stage"]
