"""Forked worker processes of the engine, and the pipes they talk through.

An extract reads in one (:mod:`hub.engine.reader`): what the adapter does — HTTP, parsing,
translating — and preparing the records then run on the second core while the task's own
process works with the store. A worker is forked, so it
inherits the settings, the rules and the keys (no key is passed anywhere, nothing is read
again); it builds its own adapter, never uses the store (the store's connections stay the
parent's: never used and never closed here) and dies with its parent.

Messages are pickled tuples, framed by length, from the worker to its parent; they come
from our own process tree only. The worker's log records are sent to the parent, redacted,
and logged there by the loggers they name; an error in the worker is reported as its kind
and message and raised again in the parent (:func:`reraise`).
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
from collections.abc import Callable
from typing import BinaryIO

from hub.errors import DeliveryError, HubError, PermanentError, TransientError
from hub.privacy import RedactingFilter, redact

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
_PIPE_BYTES = 1 << 20  # asked of the kernel for each pipe (the default is 64 KiB)


def can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


class Channel:
    """One end of a worker's pipe: the worker :meth:`send` s, the parent :meth:`receive` s."""

    def __init__(self, inp: BinaryIO | None = None, out: BinaryIO | None = None):
        self.inp, self.out = inp, out

    def send(self, message: tuple) -> None:
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = True  # no memo: messages hold no shared or circular objects (2x faster)
        pickler.dump(message)
        data = buffer.getbuffer()
        self.out.write(_HEADER.pack(len(data)))
        self.out.write(data)
        self.out.flush()

    def receive(self) -> tuple | None:
        """The next message (a worker's log records are logged on the way), or None when
        the other end is gone."""
        while True:
            header = self.inp.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return None
            (size,) = _HEADER.unpack(header)
            data = self.inp.read(size)
            if len(data) < size:
                return None
            message = pickle.loads(data)  # our own process tree's, never another party's
            if message[0] != "log":
                return message
            _, name, level, text = message
            logging.getLogger(name).log(level, "%s", text)

    def close(self) -> None:
        for end in (self.inp, self.out):
            if end is not None:
                with contextlib.suppress(OSError):
                    end.close()


def describe(exc: BaseException) -> tuple[str, str, float | None, int | None]:
    """An error as a worker reports it: kind, message (redacted), retry-after, status."""
    if isinstance(exc, DeliveryError):
        kind = "transient" if exc.transient else "permanent"
        return kind, redact(exc), exc.retry_after, exc.status
    if isinstance(exc, HubError):
        return "hub", redact(exc), None, None
    return "bug", redact(f"{type(exc).__name__}: {exc}"), None, None


def reraise(kind: str, message: str, retry_after: float | None, status: int | None) -> None:
    """Raise in the parent the error a worker reported (:func:`describe`)."""
    if kind == "transient":
        raise TransientError(message, retry_after=retry_after, status=status)
    if kind == "permanent":
        raise PermanentError(message, status=status)
    if kind == "hub":
        raise HubError(message)
    raise RuntimeError(f"a worker process failed: {message}")


class _Forward(logging.Handler):
    """In a worker: every log record, redacted, to the parent."""

    def __init__(self, channel: Channel):
        super().__init__()
        self.channel = channel
        self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.channel.send(("log", record.name, record.levelno, record.getMessage()))
        except Exception:  # the parent is gone: nothing to log to
            pass


class Worker:
    """A forked process running ``work(channel)``; ``channel`` here receives what it sends."""

    def __init__(self, work: Callable[[Channel], None], *, name: str):
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError):  # a larger pipe: fewer wake-ups per batch
            import fcntl

            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        parent = os.getpid()
        self.name = name
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - runs in the worker (measured in tests)
            os.close(read_fd)
            _live(work, Channel(out=os.fdopen(write_fd, "wb")), parent)
        os.close(write_fd)
        self.channel = Channel(inp=os.fdopen(read_fd, "rb", buffering=_PIPE_BYTES))
        self.finished = False
        log.debug("%s: worker %d", name, self.pid)

    def stop(self) -> None:
        """End the worker (at once unless it finished) and reap it."""
        if not self.finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.channel.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _live(work: Callable[[Channel], None], channel: Channel, parent: int) -> None:
    """A worker's whole life (pragma: runs in the worker)."""
    try:  # pragma: no cover
        _die_with(parent)
        root = logging.getLogger()
        for logger in [root, *logging.root.manager.loggerDict.values()]:
            if isinstance(logger, logging.Logger):
                logger.handlers.clear()
        root.addHandler(_Forward(channel))
        work(channel)
    except BaseException as exc:  # pragma: no cover
        with contextlib.suppress(Exception):
            channel.send(("error", *describe(exc)))
    finally:  # pragma: no cover
        os._exit(0)  # no cleanup of what belongs to the parent (atexit, open files)


def _die_with(parent: int) -> None:  # pragma: no cover - runs in the worker
    """Be killed when the parent dies, however it dies (Linux: PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the line above
        os._exit(0)
