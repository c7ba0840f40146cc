"""``hub sandbox``: serve the plugins' sandboxes on local ports, in the foreground."""

from __future__ import annotations

import argparse
import time

from hub.cli.common import group, leaf
from hub.errors import HubError


def cmd_serve(args: argparse.Namespace) -> int:
    from hub import sandbox as sb
    from hub.plugins import sandbox_registry

    registry = sandbox_registry()
    chosen = args.system or sorted(registry)
    for system in chosen:
        if system not in registry:
            raise HubError(f"no sandbox for {system!r} (known: {', '.join(sorted(registry))})")
    specs = [registry[system] for system in dict.fromkeys(chosen)]
    ports = sb.assign_ports(
        specs, port=args.port, ports=sb.parse_ports(args.ports) if args.ports else None
    )
    for spec in specs:  # every port is free before anything starts
        if ports[spec.system_id]:
            sb.check_port(args.host, ports[spec.system_id])
    running: list[sb.RunningSandbox] = []
    try:
        for spec in specs:
            port = ports[spec.system_id] or None  # None: any free port
            served = sb.start(spec, host=args.host, port=port, seed=args.seed, size=args.size)
            running.append(served)
        for r in running:
            system, url = r.sandbox.system_id, r.base_url
            print(f"{system}: {url}  (export HUB_SYSTEM_{system.upper()}_URL={url})")
        print("serving; Ctrl-C stops", flush=True)
        while all(r.thread.is_alive() for r in running):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:  # also when one fails to start: the others stop
        for r in running:
            r.stop()
    return 0


def register(sub) -> None:
    sb = group(sub, "sandbox", "local sandboxes")
    s = leaf(
        sb,
        "serve",
        cmd_serve,
        "serve sandboxes, each on its default port unless --port or --ports says otherwise",
        False,
    )
    s.add_argument("system", nargs="*", help="systems to serve (default: every sandbox)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument(
        "--port",
        type=int,
        metavar="PORT",
        help="serve the first system on PORT, the next on PORT+1, and so on, in the order "
        "given (default order: by name); 0: each on any free port",
    )
    s.add_argument(
        "--ports",
        metavar="SYSTEM=PORT,...",
        help="the port of each system named (0: any free port), e.g. kela=9003,municipal=9002;"
        " overrides --port and the defaults for those systems",
    )
    s.add_argument("--seed", type=int, default=1, help="seed of the synthetic data (default 1)")
    s.add_argument("--size", type=int, default=50, help="number of synthetic clients")
