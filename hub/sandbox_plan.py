"""Sandboxes per declared system: which sandbox servers serve the systems of an exchanges file.

A system is an instance of an adapter (``systems.<name>.adapter``, default the name). Every
declared system whose adapter registers a sandbox is served by that sandbox, built with the
system's own values of the sandbox's :attr:`~hub.sandbox.Sandbox.instance_options` (option
name → keyword argument of the app factory): two municipalities, each with its own
municipality code, are two servers, each answering as itself.

Systems of one adapter **share a server** when they would get the same app (the same
factory arguments) on the same port: Kela's sandbox, which takes no instance options and
serves every municipality that asks, is one server for ``kela_county``, ``kela_seinajoki``
and ``kela_lapua``. Systems of one adapter given different local ports in the exchanges file
get servers of their own even when their options agree.

A server's port is the port of its systems' base URL (the one in use: the exchanges file's,
or ``HUB_SYSTEM_<NAME>_URL``) when that is a local address, else the sandbox's default port
(the next one up that no other server of the plan has, when two servers would have it).
``hub sandbox serve --port`` / ``--ports`` choose others (:func:`assign`); ``--ports`` names
systems, any system of a shared server naming that server. A server is named by the first
of its systems in the order they are declared.

An installed adapter with a sandbox but no declared system is served by itself, named by its
adapter id (without arguments: alongside the declared systems), so that an adapter's author
can try its sandbox before declaring it.
"""

from __future__ import annotations

import inspect
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hub import sandbox as sb
from hub.exchanges import HubConfig


@dataclass(frozen=True)
class Server:
    """One sandbox server of a plan: ``sandbox`` built with ``kwargs``, serving ``systems``."""

    name: str
    sandbox: sb.Sandbox
    systems: tuple[str, ...]
    #: keyword arguments of the app factory, from the systems' instance options
    kwargs: Mapping[str, Any]
    #: its port unless told otherwise: the systems' local port, or the sandbox's default
    port: int


def in_use() -> HubConfig:
    """The exchanges file in use (``HUB_EXCHANGES``, or the one the package ships)."""
    from hub.exchanges import load_exchanges
    from hub.settings import Settings

    return load_exchanges(Settings.from_env().exchanges_file)


def local_port(base_url: str) -> int | None:
    """The port of ``base_url`` when it names one on this machine (a loopback address or
    ``localhost``), else None."""
    try:
        parts = urlsplit(base_url)
        port, host = parts.port, parts.hostname or ""
    except ValueError:
        return None
    if port is None:
        return None
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return None
    return port if loopback else None


def factory_kwargs(config: HubConfig, system: str, sandbox: sb.Sandbox) -> dict[str, Any]:
    """The app factory's keyword arguments for ``system``: its values of the sandbox's
    instance options. Raises :class:`~hub.sandbox.SandboxError` when the factory does not
    take them."""
    options = config.system(system).options
    kwargs = {arg: options[opt] for opt, arg in sandbox.instance_options.items() if opt in options}
    try:
        inspect.signature(sandbox.app_factory).bind(seed=1, size=1, **kwargs)
    except TypeError as exc:
        raise sb.SandboxError(
            f"systems/{system}: the sandbox of adapter {sandbox.system_id!r} cannot be built "
            f"with its options: {exc}"
        ) from None
    return kwargs


def plan(
    config: HubConfig, registry: Mapping[str, sb.Sandbox], names: Sequence[str] = ()
) -> list[Server]:
    """The servers that serve ``names`` (declared systems, or adapter ids: every declared
    system of that adapter, or its sandbox by itself when none is declared), in the order
    given; without names, every declared system with a sandbox and every sandbox no system
    is declared of, by name. Raises :class:`~hub.sandbox.SandboxError` for a name with no
    sandbox."""
    declared: dict[str, list[str]] = {}
    for system in config.systems:
        if config.adapter_of(system) in registry:
            declared.setdefault(config.adapter_of(system), []).append(system)
    wanted: list[str] = []
    for name in names or sorted({*(s for ss in declared.values() for s in ss), *registry}):
        if name in config.systems:
            if config.adapter_of(name) not in registry:
                raise sb.SandboxError(
                    f"no sandbox for {name!r}: its adapter {config.adapter_of(name)!r} "
                    "registers none"
                )
            wanted.append(name)
        elif name in registry:  # an adapter: its declared systems, or its sandbox alone
            if name not in declared:
                wanted.append(name)
            elif names:
                wanted.extend(declared[name])
        else:
            known = sorted({*(s for ss in declared.values() for s in ss), *registry})
            raise sb.SandboxError(f"no sandbox for {name!r} (known: {', '.join(known)})")
    groups: dict[tuple[str, str, int | None], list[str]] = {}
    kwargs: dict[str, dict[str, Any]] = {}
    for system in dict.fromkeys(wanted):
        declared_here = system in config.systems
        adapter = config.adapter_of(system) if declared_here else system
        sandbox = registry[adapter]
        kwargs[system] = factory_kwargs(config, system, sandbox) if declared_here else {}
        port = local_port(config.system(system).base_url) if declared_here else None
        key = (adapter, json.dumps(kwargs[system], sort_keys=True, default=str), port)
        groups.setdefault(key, []).append(system)
    order = {s: i for i, s in enumerate(config.systems)}
    for systems in groups.values():
        systems.sort(key=lambda s: order.get(s, len(order)))
    # default ports in the order the systems are declared, then the servers as asked
    ports, taken = {}, {key[2] for key in groups if key[2] is not None}
    for key in sorted(groups, key=lambda k: order.get(groups[k][0], len(order))):
        port = key[2]
        if port is None:
            port = registry[key[0]].default_port
            while port in taken and port < sb.MAX_PORT:
                port += 1
            taken.add(port)
        ports[key] = port
    servers = [
        Server(systems[0], registry[key[0]], tuple(systems), kwargs[systems[0]], ports[key])
        for key, systems in groups.items()
    ]
    return servers if names else sorted(servers, key=lambda s: s.name)


def assign(
    servers: Sequence[Server], *, port: int | None = None, ports: Mapping[str, int] | None = None
) -> dict[str, int]:
    """The port of each server, by its name: its own (:attr:`Server.port`); with ``port``,
    the first on ``port``, the next on ``port + 1`` and so on (0: each on any free port);
    ``ports`` (by system) overrides both for the servers of the systems it names. Raises
    :class:`~hub.sandbox.SandboxError` as :func:`hub.sandbox.assign_ports` does, and for
    different ports given to systems that share a server."""
    server_of = {system: s.name for s in servers for system in s.systems}
    by_server: dict[str, int] = {}
    named: dict[str, str] = {}
    for system, number in (ports or {}).items():
        if system not in server_of:
            raise sb.SandboxError(
                f"--ports names {system}, which is not served here (served: {', '.join(server_of)})"
            )
        name = server_of[system]
        if name in by_server and by_server[name] != number:
            raise sb.SandboxError(
                f"--ports: {named[name]} and {system} share one sandbox (the same options); "
                "give it one port"
            )
        by_server[name], named[name] = number, named.get(name, system)
    return sb.assign_ports({s.name: s.port for s in servers}, port=port, ports=by_server)


def start(
    servers: Sequence[Server],
    ports: Mapping[str, int] | None = None,
    *,
    host: str = "127.0.0.1",
    seed: int = 1,
    size: int = 50,
) -> dict[str, sb.RunningSandbox]:
    """Start every server on its port in ``ports`` (by server name; missing or 0: any free
    port); the running sandbox of each system (systems that share a server share it). When
    one cannot start, those started are stopped."""
    running: dict[str, sb.RunningSandbox] = {}
    try:
        for s in servers:
            port = (ports or {}).get(s.name) or None
            served = sb.start(
                s.sandbox, host=host, port=port, seed=seed, size=size, options=s.kwargs, name=s.name
            )
            running.update(dict.fromkeys(s.systems, served))
    except BaseException:
        stop(running)
        raise
    return running


def stop(running: Mapping[str, sb.RunningSandbox]) -> None:
    """Stop every server of ``running`` (each once)."""
    for served in {id(r): r for r in running.values()}.values():
        served.stop()
