"""Sandboxes: local servers that speak an external system's protocol, for demos and tests.

A plugin registers a :class:`Sandbox` (hook ``hub_register_sandboxes``). The sandbox's ASGI
app is served over real HTTP on a local port by :func:`start` (in a background thread) or
``hub sandbox serve`` (in the foreground). Every sandbox mounts the same control API under
``/_sandbox`` so that tests and operators can switch faults on and off and see what the
sandbox received:

- ``GET  /_sandbox/faults`` / ``PUT /_sandbox/faults`` (JSON :class:`Faults`);
- ``POST /_sandbox/reset`` — back to the seeded state, faults off;
- ``GET  /_sandbox/received`` — the deliveries it accepted: a JSON list with one object per
  idempotency key, the key in its field ``idempotency_key`` (the conformance kit counts them).

Each sandbox has a default port; :func:`assign_ports` chooses others (``hub sandbox serve
--port`` / ``--ports``) and :func:`check_port` says why a port cannot be listened on.
``hub sandbox serve`` and the demo serve one per declared system, built with the system's
:attr:`Sandbox.instance_options` (:mod:`hub.sandbox_plan`).
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from hub.errors import HubError


@dataclass
class Faults:
    """Faults a sandbox can inject. All off by default.

    - ``rate_limit_every``: every n-th request gets 429 with ``Retry-After: retry_after``;
    - ``unavailable_every``: every n-th request gets 503 (with ``Retry-After``);
    - ``unavailable``: every request gets 503 until switched off (an outage);
    - ``slow_seconds``: every response is delayed this long;
    - ``malformed_every``: every n-th record served is malformed (breaks the model);
    - ``reject_writes``: every write is rejected as permanently invalid;
    """

    rate_limit_every: int = 0
    unavailable_every: int = 0
    unavailable: bool = False
    retry_after: float = 1.0
    slow_seconds: float = 0.0
    malformed_every: int = 0
    reject_writes: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown faults: {', '.join(sorted(unknown))}")
        return cls(**data)


class FaultState:
    """Faults plus the request counter they are applied by. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.faults = Faults()
        self.requests = 0

    def set(self, faults: Faults) -> None:
        with self._lock:
            self.faults, self.requests = faults, 0

    def next_request(self) -> tuple[int | None, float]:
        """Count a request; return (status to fail it with or None, delay in seconds)."""
        with self._lock:
            self.requests += 1
            f, n = self.faults, self.requests
        if f.unavailable:
            return 503, f.slow_seconds
        if f.rate_limit_every and n % f.rate_limit_every == 0:
            return 429, f.slow_seconds
        if f.unavailable_every and n % f.unavailable_every == 0:
            return 503, f.slow_seconds
        return None, f.slow_seconds

    def is_malformed(self, index: int) -> bool:
        every = self.faults.malformed_every
        return bool(every) and index % every == every - 1


def control_routes(
    state: FaultState, reset: Callable[[], None], received: Callable[[], list]
) -> Mount:
    """The ``/_sandbox`` control API every sandbox mounts."""

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(asdict(state.faults))

    async def put_faults(request: Request) -> JSONResponse:
        try:
            state.set(Faults.from_json(await request.json()))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(asdict(state.faults))

    async def post_reset(request: Request) -> JSONResponse:
        reset()
        state.set(Faults())
        return JSONResponse({"reset": True})

    async def get_received(request: Request) -> JSONResponse:
        return JSONResponse(received())

    return Mount(
        "/_sandbox",
        routes=[
            Route("/faults", get_faults, methods=["GET"]),
            Route("/faults", put_faults, methods=["PUT"]),
            Route("/reset", post_reset, methods=["POST"]),
            Route("/received", get_received, methods=["GET"]),
        ],
    )


class HostilePages:
    """Test-only, for sandboxes of JSON services paged as ``{items, has more}``: answers no
    well-behaved service sends, to prove that the adapter reads strictly (``PUT
    /_sandbox/hostile`` with JSON; ``GET`` shows it, with ``limits``: the ``limit`` of every
    page of ``stream`` asked for). Off until set; a reset switches it off. (The fault suite's
    hostile server, tests/faults/hostile.py, does this for any system from outside.)

    - ``stream``: the stream whose pages are served hostile;
    - ``records``: ``{"<position>": "<raw JSON text>"}``, served in place of the record at
      that position of the stream (the place in the order stays the record's);
    - ``body``: raw text served as every page of ``stream`` instead;
    - ``cut_after``, ``cut_times``: after ``cut_after`` pages of ``stream`` served whole, the
      next ``cut_times`` end half-way (whole as HTTP goes: the JSON is cut short);
    - ``answer``: raw text answered to every write, after its items were judged (and kept).
    """

    FIELDS = frozenset({"stream", "records", "body", "cut_after", "cut_times", "answer"})

    def __init__(self, items_key: str, more_key: str) -> None:
        self.items_key, self.more_key = items_key, more_key
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.settings: dict[str, Any] = {}
            self.limits: list[int] = []

    def set(self, settings: Any) -> str | None:
        """Take ``settings``; why they cannot be taken, or None."""
        if not isinstance(settings, dict) or set(settings) - self.FIELDS:
            return f"expected an object with some of {', '.join(sorted(self.FIELDS))}"
        with self.lock:
            self.settings, self.limits = settings, []
        return None

    def show(self) -> dict[str, Any]:
        with self.lock:
            return {**self.settings, "limits": list(self.limits)}

    def answer(self) -> str | None:
        with self.lock:
            return self.settings.get("answer")

    def page(
        self, stream: str, limit: int, rows: list[tuple[int, dict[str, Any]]], more: bool
    ) -> bytes | None:
        """The body of a page of ``rows`` ((position, record) pairs), or None to serve it
        as usual (``stream`` is not the hostile one)."""
        with self.lock:
            s = self.settings
            if not s or s.get("stream") != stream:
                return None
            self.limits.append(limit)
            served = len(self.limits)
        after = s.get("cut_after", 0)
        raw = s.get("records") or {}
        texts = [raw.get(str(i)) or json.dumps(r, ensure_ascii=False) for i, r in rows]
        body = (
            s.get("body")
            or f'{{"{self.items_key}":[{",".join(texts)}],"{self.more_key}":{json.dumps(more)}}}'
        ).encode()
        cut = after < served <= after + s.get("cut_times", 0)
        return body[: len(body) // 2] if cut else body


@dataclass(frozen=True)
class Sandbox:
    """A sandbox registered by a plugin.

    ``app_factory(seed, size)`` returns the ASGI app with deterministic synthetic data:
    ``seed`` fixes the data, ``size`` is the number of clients to generate.
    """

    system_id: str
    title: str
    app_factory: Callable[..., Any]
    default_port: int
    #: options the adapter needs to talk to this sandbox: the conformance kit connects with
    #: them; an exchanges file that points at the sandbox carries them under ``options``
    adapter_options: dict[str, Any] = field(default_factory=dict)
    #: path prefix of the service below the server root, appended to the base URL
    base_path: str = ""
    #: a system's options that make an instance of this sandbox: option name -> keyword
    #: argument of ``app_factory`` (``hub sandbox serve`` serves each declared system with
    #: its own values of these options)
    instance_options: Mapping[str, str] = field(default_factory=dict)


class SandboxError(HubError, RuntimeError):
    """A sandbox cannot be served: a bad port or port specification, a port in use."""


class RunningSandbox:
    """A sandbox served by uvicorn in a daemon thread."""

    def __init__(self, sandbox: Sandbox, app: Any, host: str, port: int, name: str = ""):
        self.sandbox = sandbox
        self.app = app
        self.host, self.port = host, port
        #: what it serves: a declared system (:mod:`hub.sandbox_plan`), or the adapter's id
        self.name = name or sandbox.system_id
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve()),
            name=f"sandbox-{self.name}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + self.sandbox.base_path

    def start(self, timeout: float = 10.0) -> RunningSandbox:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise SandboxError(f"sandbox {self.name} did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


#: the highest TCP port
MAX_PORT = 65535


def parse_ports(spec: str) -> dict[str, int]:
    """``SYSTEM=PORT,SYSTEM=PORT`` as a mapping (port 0: any free port).
    Raises :class:`SandboxError` naming what is wrong."""
    found: dict[str, int] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        system, sep, value = (x.strip() for x in item.partition("="))
        if not sep or not system or not value:
            raise SandboxError(f"--ports: {item!r} is not SYSTEM=PORT")
        if system in found:
            raise SandboxError(f"--ports: {system} is given twice")
        found[system] = _port(value, f"--ports: {system}")
    if not found:
        raise SandboxError("--ports: give SYSTEM=PORT, separated by commas")
    return found


def _port(value: str | int, where: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise SandboxError(f"{where}: {value!r} is not a port number") from None
    if not 0 <= port <= MAX_PORT:
        raise SandboxError(f"{where}: {port} is not a port (0 to {MAX_PORT}; 0: any free one)")
    return port


def assign_ports(
    sandboxes: Sequence[Sandbox] | Mapping[str, int],
    *,
    port: int | None = None,
    ports: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """The port of each sandbox, by name (a :class:`Sandbox`'s system id, or the keys of a
    mapping of names to default ports, in order): its default; with ``port``, the first on
    ``port``, the next on ``port + 1`` and so on (``port`` 0: each on any free port);
    ``ports`` overrides both for the names it gives (0: any free port). Raises
    :class:`SandboxError` for a name not among ``sandboxes``, a port outside 0–65535 and
    a port given to two names."""
    if not isinstance(sandboxes, Mapping):
        sandboxes = {s.system_id: s.default_port for s in sandboxes}
    served, ports = list(sandboxes), ports or {}
    unknown = sorted(set(ports) - set(served))
    if unknown:
        raise SandboxError(
            f"--ports names {', '.join(unknown)}, which is not served here "
            f"(served: {', '.join(served)})"
        )
    if port is not None:
        _port(port, "--port")
        if port and port + len(served) - 1 > MAX_PORT:
            raise SandboxError(f"--port: {len(served)} sandboxes do not fit above {port}")
    chosen = {}
    for i, (name, default) in enumerate(sandboxes.items()):
        if name in ports:
            chosen[name] = _port(ports[name], "--ports")
        elif port is not None:
            chosen[name] = port + i if port else 0
        else:
            chosen[name] = default
    by_port: dict[int, list[str]] = {}
    for system, number in chosen.items():
        if number:
            by_port.setdefault(number, []).append(system)
    shared = {n: systems for n, systems in by_port.items() if len(systems) > 1}
    if shared:
        raise SandboxError(
            "; ".join(f"port {n} is given to {' and '.join(s)}" for n, s in sorted(shared.items()))
        )
    return chosen


def check_port(host: str, port: int) -> None:
    """Raise :class:`SandboxError` saying why ``host:port`` cannot be listened on (in use,
    privileged, not an address of this machine). Binds as uvicorn does, and lets go."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise SandboxError(f"cannot listen on {host}: {exc.strerror}") from None
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            reason = {
                errno.EADDRINUSE: "is in use (another program, or a sandbox already running?)",
                errno.EACCES: "needs privileges (choose one above 1023)",
                errno.EADDRNOTAVAIL: "is not on an address of this machine",
            }.get(exc.errno, f"cannot be listened on ({exc.strerror})")
            raise SandboxError(f"port {port} on {host} {reason}") from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start(
    sandbox: Sandbox,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    seed: int = 1,
    size: int = 50,
    options: Mapping[str, Any] | None = None,
    name: str = "",
) -> RunningSandbox:
    """Serve ``sandbox`` on ``host:port`` (a free port if None) in a background thread;
    ``options``: further keyword arguments of its app factory (an instance's, see
    :attr:`Sandbox.instance_options`); ``name``: what it serves, for messages."""
    app = sandbox.app_factory(seed=seed, size=size, **(options or {}))
    return RunningSandbox(sandbox, app, host, port or free_port(host), name).start()
