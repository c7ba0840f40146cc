"""``hub sandbox``: serve the plugins' sandboxes on local ports, in the foreground: one per
system declared in the exchanges file in use (:mod:`hub.sandbox_plan`)."""

from __future__ import annotations

import argparse
import time

from hub.cli.common import group, leaf


def cmd_serve(args: argparse.Namespace) -> int:
    from hub import sandbox as sb
    from hub import sandbox_plan as plan
    from hub.plugins import sandbox_registry

    servers = plan.plan(plan.in_use(), sandbox_registry(), args.system)
    ports = plan.assign(
        servers, port=args.port, ports=sb.parse_ports(args.ports) if args.ports else None
    )
    for server in servers:  # every port is free before anything starts
        if ports[server.name]:
            sb.check_port(args.host, ports[server.name])
    running: dict[str, sb.RunningSandbox] = {}
    try:
        running = plan.start(servers, ports, host=args.host, seed=args.seed, size=args.size)
        for system, served in running.items():
            url = served.base_url
            print(f"{system}: {url}  (export HUB_SYSTEM_{system.upper()}_URL={url})")
        print("serving; Ctrl-C stops", flush=True)
        while all(r.thread.is_alive() for r in running.values()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:  # also when one fails to start: the others stop
        plan.stop(running)
    return 0


def register(sub) -> None:
    sb = group(sub, "sandbox", "local sandboxes")
    s = leaf(
        sb,
        "serve",
        cmd_serve,
        "serve a sandbox per system declared in the exchanges file in use (HUB_EXCHANGES or "
        "the default), with the system's options; systems whose sandboxes would be the same "
        "share one. Each on the port of the system's base URL when that is local, else the "
        "sandbox's default, unless --port or --ports says otherwise",
        False,
    )
    s.add_argument(
        "system",
        nargs="*",
        help="declared systems to serve, or adapters (every system of it; its sandbox alone "
        "when none is declared); default: every declared system with a sandbox",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument(
        "--port",
        type=int,
        metavar="PORT",
        help="serve the first sandbox on PORT, the next on PORT+1, and so on, in the order "
        "given (default order: by system name); 0: each on any free port",
    )
    s.add_argument(
        "--ports",
        metavar="SYSTEM=PORT,...",
        help="the port of each system named (0: any free port), e.g. "
        "kela_county=9003,seinajoki=9002; overrides --port and the defaults for those "
        "systems (systems that share a sandbox share its port)",
    )
    s.add_argument("--seed", type=int, default=1, help="seed of the synthetic data (default 1)")
    s.add_argument("--size", type=int, default=50, help="number of synthetic clients")
