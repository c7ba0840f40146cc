"""A hostile server that can stand in for any of the hub's external systems.

It listens on a local port and speaks HTTP/1.1 at the byte level, so it can do what no
well-behaved framework would let a test do: drip headers, cut a body short while the
connection looks fine, send a body that never ends, lie in ``Content-Length``, compress a
gigabyte of zeros into a few megabytes, redirect, answer with garbage. By default it
forwards every request to the real sandbox behind it and passes the answer on faithfully;
a test switches a misbehaviour on for the requests it matches, for a number of times or
until cleared. A misbehaviour is a function ``(request, upstream) -> steps``: the bytes to
send and the pauses between them, computed from the sandbox's real answer (fetched only if
the misbehaviour asks for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import httpx

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "date",
    "server",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Upstream:
    """The sandbox's own answer to the request."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Send:
    data: bytes


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Close:
    """Close the connection now (whatever was promised)."""


Step = Send | Sleep | Close
Behaviour = Callable[[Request, Upstream | None], Iterable[Step]]


@dataclass
class Rule:
    behaviour: Behaviour
    when: Callable[[Request], bool]
    times: int | None  # None: until cleared
    needs_upstream: bool
    used: int = 0


@dataclass
class HostileServer:
    """A hostile stand-in for the system at ``upstream`` (its sandbox's root URL)."""

    upstream: str
    rules: list[Rule] = field(default_factory=list)
    seen: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    # --- control ------------------------------------------------------------------------

    def misbehave(
        self,
        behaviour: Behaviour,
        *,
        when: Callable[[Request], bool] = lambda r: True,
        times: int | None = None,
        upstream: bool = True,
    ) -> None:
        """Answer the requests ``when`` matches with ``behaviour``, ``times`` times (None:
        until :meth:`clear`). ``upstream=False``: the sandbox is not asked first."""
        with self._lock:
            self.rules.append(Rule(behaviour, when, times, upstream))

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def used(self) -> int:
        """How many requests were answered by a misbehaviour."""
        with self._lock:
            return sum(r.used for r in self.rules)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- serving ------------------------------------------------------------------------

    def start(self) -> HostileServer:
        thread = threading.Thread(target=self._run, name="hostile", daemon=True)
        thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the hostile server did not start")
        return self

    def stop(self) -> None:
        """Close every connection still held open (a hanging answer) and stop."""
        if self._loop is None:
            return

        async def shutdown() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._client.aclose()
            asyncio.get_running_loop().stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        server = loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._client = httpx.AsyncClient(base_url=self.upstream, trust_env=False, timeout=60)
        self._started.set()
        loop.run_forever()

    def _rule_for(self, request: Request) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if (rule.times is None or rule.used < rule.times) and rule.when(request):
                    rule.used += 1
                    return rule
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.seen.append(request)
                rule = self._rule_for(request)
                upstream = None
                if rule is None or rule.needs_upstream:
                    upstream = await self._ask_upstream(request)
                steps = (
                    passthrough(request, upstream)
                    if rule is None
                    else rule.behaviour(request, upstream)
                )
                if not await _perform(steps, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _ask_upstream(self, request: Request) -> Upstream:
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "accept-encoding")}
        response = await self._client.request(
            request.method, request.path, headers=headers, content=request.body
        )
        return Upstream(
            response.status_code,
            response.reason_phrase,
            [(k, v) for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP],
            response.content,
        )


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    return Request(method, path, headers, body)


async def _perform(steps: Iterable[Step], writer: asyncio.StreamWriter) -> bool:
    """Carry out the steps; False when the connection is (to be) closed."""
    for step in steps:
        if isinstance(step, Send):
            writer.write(step.data)
            await writer.drain()
        elif isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
        else:
            return False
    return True


# --- building answers -------------------------------------------------------------------------


def head(status: int, headers: Iterable[tuple[str, str]], reason: str = "") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def answer(
    status: int, body: bytes, headers: Iterable[tuple[str, str]] = (), *, length: int | None = None
) -> list[Step]:
    """A whole answer with ``Content-Length`` (``length`` to lie about it)."""
    declared = len(body) if length is None else length
    return [Send(head(status, [*headers, ("Content-Length", str(declared))]) + body)]


def passthrough(request: Request, upstream: Upstream | None) -> list[Step]:
    """The sandbox's answer, as it gave it."""
    assert upstream is not None
    return answer(upstream.status, upstream.body, upstream.headers, length=None)


def with_body(transform: Callable[[bytes], bytes]) -> Behaviour:
    """The sandbox's answer with its body transformed; HTTP itself whole and honest."""

    def behaviour(request: Request, upstream: Upstream | None) -> list[Step]:
        assert upstream is not None
        return answer(upstream.status, transform(upstream.body), upstream.headers)

    return behaviour


def status(code: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> Behaviour:
    """A fixed answer, whatever was asked."""
    return lambda request, upstream: answer(code, body, headers)


def raw(data: bytes, *, close: bool = True) -> Behaviour:
    """These bytes, as they are, then (by default) the connection closed."""
    return lambda request, upstream: [Send(data), *([Close()] if close else [Sleep(3600)])]


def cut_after(fraction: float) -> Behaviour:
    """The sandbox's answer promising its whole length, the connection closed after
    ``fraction`` of the body."""

    def behaviour(request: Request, upstream: Upstream | None) -> list[Step]:
        assert upstream is not None
        body = upstream.body
        keep = body[: int(len(body) * fraction)]
        first = head(upstream.status, [*upstream.headers, ("Content-Length", str(len(body)))])
        return [Send(first + keep), Close()]

    return behaviour


def chunked_cut(fraction: float) -> Behaviour:
    """A chunked answer whose last chunk never comes: the connection closes mid-body."""

    def behaviour(request: Request, upstream: Upstream | None) -> list[Step]:
        assert upstream is not None
        keep = upstream.body[: int(len(upstream.body) * fraction)]
        first = head(upstream.status, [*upstream.headers, ("Transfer-Encoding", "chunked")])
        return [Send(first + b"%x\r\n" % len(keep) + keep + b"\r\n"), Close()]

    return behaviour


def drip_headers(every: float, total: float = 3600) -> Behaviour:
    """The answer's headers one byte at a time, ``every`` seconds apart, for ``total``."""

    def behaviour(request: Request, upstream: Upstream | None) -> Iterator[Step]:
        data = head(200, [("X-Drip", "x" * 4000)])
        sent = 0.0
        for byte in data:
            yield Send(bytes([byte]))
            yield Sleep(every)
            sent += every
            if sent > total:
                return

    return behaviour


def drip_body(every: float, piece: bytes = b" ") -> Behaviour:
    """The sandbox's headers, then its body a little at a time, forever if need be: a body
    padded with ``piece`` (whitespace is harmless in XML and JSON) sent ``every`` seconds."""

    def behaviour(request: Request, upstream: Upstream | None) -> Iterator[Step]:
        assert upstream is not None
        yield Send(head(upstream.status, [*upstream.headers, ("Transfer-Encoding", "chunked")]))
        while True:
            yield Send(b"%x\r\n" % len(piece) + piece + b"\r\n")
            yield Sleep(every)

    return behaviour


def endless(piece: bytes = b" " * 65536, *, chunked: bool = True) -> Behaviour:
    """A 200 answer whose body never ends, as fast as the client takes it."""

    def behaviour(request: Request, upstream: Upstream | None) -> Iterator[Step]:
        if chunked:
            yield Send(
                head(
                    200,
                    [
                        ("Content-Type", "application/octet-stream"),
                        ("Transfer-Encoding", "chunked"),
                    ],
                )
            )
            while True:
                yield Send(b"%x\r\n" % len(piece) + piece + b"\r\n")
        else:
            yield Send(
                head(200, [("Content-Type", "application/octet-stream"), ("Connection", "close")])
            )
            while True:
                yield Send(piece)

    return behaviour


@functools.cache
def _bomb(size: int, coding: str, chunk: bytes) -> bytes:
    block = chunk * (1 << 20)
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.flush()


def bomb(size: int, coding: str = "gzip", chunk: bytes = b" ") -> Behaviour:
    """A small compressed body that expands to ``size`` bytes of ``chunk``."""
    data = _bomb(size, coding, chunk)

    def behaviour(request: Request, upstream: Upstream | None) -> list[Step]:
        return answer(200, data, [("Content-Encoding", coding)])

    return behaviour


def encoded(coding: str, transform: Callable[[bytes], bytes] = lambda b: b) -> Behaviour:
    """The sandbox's answer compressed with ``coding`` (then ``transform``-ed: cut, corrupt)."""

    def behaviour(request: Request, upstream: Upstream | None) -> list[Step]:
        assert upstream is not None
        if coding == "gzip":
            data = gzip.compress(upstream.body)
        elif coding == "deflate":
            data = zlib.compress(upstream.body)
        else:
            data = upstream.body
        return answer(
            upstream.status, transform(data), [*upstream.headers, ("Content-Encoding", coding)]
        )

    return behaviour


def padded(megabytes: int) -> Behaviour:
    """The sandbox's answer with ``megabytes`` MiB of whitespace before its last byte (still
    the same JSON or XML), sent a MiB at a time: a huge page without a huge server."""

    def behaviour(request: Request, upstream: Upstream | None) -> Iterator[Step]:
        assert upstream is not None
        body = upstream.body
        length = len(body) + (megabytes << 20)
        yield Send(head(upstream.status, [*upstream.headers, ("Content-Length", str(length))]))
        yield Send(body[:-1])
        for _ in range(megabytes):
            yield Send(b" " * (1 << 20))
        yield Send(body[-1:])

    return behaviour


def hang() -> Behaviour:
    """Take the request and never answer."""
    return lambda request, upstream: [Sleep(3600)]
