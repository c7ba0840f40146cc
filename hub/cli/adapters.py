"""``hub adapters``: the installed adapters and the systems they connect."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hub.cli.common import group, leaf
from hub.cli.output import emit, print_json


def cmd_list(args: argparse.Namespace) -> int:
    """One row per stream of every installed adapter: what it reads or writes, which
    canonical entity, the fields it carries, and whether a sandbox stands in for it."""
    from hub.catalogue import describe_adapters

    listing = describe_adapters()
    if args.json:
        print_json(listing.to_json())
    else:
        rows = [
            {
                "system": a.system,
                "stream": s.name,
                "entity": s.entity,
                "mode": s.modes + ("" if s.delivers else " (kept)"),
                "carries": "all fields" if s.carries is None else ", ".join(s.carries),
                "sandbox": "yes" if a.sandbox else ("-" if not a.connects else "no"),
                "plugin": f"{a.plugin} ({a.distribution})" if a.distribution else a.plugin,
            }
            for a in listing.adapters
            for s in a.streams
        ]
        emit(args, rows, ["system", "stream", "entity", "mode", "carries", "sandbox", "plugin"])
    for name, error in listing.failed.items():
        print(f"plugin {name} was not loaded: {error}", file=sys.stderr)
    if listing.skipped:
        print(f"skipped by the allow/deny list: {', '.join(listing.skipped)}", file=sys.stderr)
    return 1 if listing.failed else 0


def cmd_new(args: argparse.Namespace) -> int:
    """Write a new adapter distribution that passes the conformance kit as generated."""
    from hub.plugins import adapter_registry
    from hub.scaffold import ScaffoldError, scaffold

    if args.name in adapter_registry():  # two plugins claiming one system: neither loads
        print(
            f"hub adapters new: the system id {args.name!r} is taken by an installed adapter "
            "(hub adapters list); choose another",
            file=sys.stderr,
        )
        return 2
    try:
        target = scaffold(args.name, Path(args.dest))
    except ScaffoldError as exc:
        print(f"hub adapters new: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {target}")
    print("next: `make install` installs it (editable) with the hub; then")
    print(f"      `uv run pytest {target}` runs its conformance suite against its sandbox")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from hub.exchanges import load_exchanges
    from hub.plugins import get_adapter_class
    from hub.settings import Settings

    config = load_exchanges(Settings.from_env().exchanges_file)
    systems = args.system or sorted(config.systems)
    rows, failed = [], False
    for system in systems:
        with get_adapter_class(config.adapter_of(system))(config.system(system), None) as adapter:
            result = adapter.check()
        failed |= not result.ok
        rows.append({"system": system, "ok": result.ok, "detail": result.detail})
    emit(args, rows, ["system", "ok", "detail"])
    return 1 if failed else 0


def register(sub) -> None:
    ad = group(sub, "adapters", "installed adapters")
    leaf(ad, "list", cmd_list, "list adapters, their streams and plugins that failed to load")
    n = leaf(ad, "new", cmd_new, "scaffold a new adapter distribution", json_flag=False)
    n.add_argument("name", help="the system id of the new adapter, e.g. esf_participants")
    n.add_argument(
        "--dest",
        default="local-adapters",
        help="folder to write the distribution into (default: local-adapters, which "
        "`make install` installs)",
    )
    c = leaf(ad, "check", cmd_check, "check connectivity of systems")
    c.add_argument("system", nargs="*", help="systems to check (default: every configured system)")
