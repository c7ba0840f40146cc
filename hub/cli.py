"""The ``hub`` command: exchanges, adapters, sandboxes, failures, the demo."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hub.errors import HubError


def _table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _emit(args: argparse.Namespace, rows: list[dict[str, Any]], headers: Sequence[str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
    else:
        print(_table([[r.get(h) for h in headers] for r in rows], headers) if rows else "(none)")


def _hub():
    from hub.engine import Hub

    return Hub.open()


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"


# --- exchanges ---------------------------------------------------------------------------


def cmd_exchanges_list(args: argparse.Namespace) -> int:
    from hub.exchanges import load_exchanges
    from hub.settings import Settings

    config = load_exchanges(Settings.from_env().exchanges_file)
    rows = [
        {
            "name": x.name,
            "source": x.source,
            "target": x.target,
            "schedule": x.schedule or "manual",
            "entities": ", ".join(f.entity for f in x.entities),
        }
        for x in config.exchanges.values()
    ]
    _emit(args, rows, ["name", "source", "target", "schedule", "entities"])
    return 0


def cmd_exchanges_validate(args: argparse.Namespace) -> int:
    from hub.exchanges import check_against_adapters, load_exchanges
    from hub.settings import Settings

    path = Path(args.file) if args.file else Settings.from_env().exchanges_file
    config = load_exchanges(path)
    problems = check_against_adapters(config)
    for p in problems:
        print(f"{path}: {p}", file=sys.stderr)
    if not problems:
        print(f"{path}: {len(config.exchanges)} exchanges, {len(config.systems)} systems: valid")
    return 1 if problems else 0


def cmd_exchanges_run(args: argparse.Namespace) -> int:
    from hub.engine import run_exchange

    hub = _hub()
    phases = tuple(args.phase) if args.phase else ("check", "extract", "deliver")
    summary = run_exchange(hub, args.name, phases=phases)
    _emit(
        args,
        [summary.__dict__],
        [
            "exchange",
            "state",
            "read",
            "upserted",
            "unchanged",
            "delivered",
            "skipped",
            "failed",
            "open_dead_letters",
        ],
    )
    if summary.error and not args.json:
        print(f"error: {summary.error}", file=sys.stderr)
    return 0 if summary.state == "success" else 1


# --- adapters ----------------------------------------------------------------------------


def cmd_adapters_list(args: argparse.Namespace) -> int:
    from hub.plugins import adapter_registry, get_plugin_manager

    _, report = get_plugin_manager()
    rows = [
        {
            "system": sid,
            "adapter": f"{cls.__module__}.{cls.__qualname__}",
            "streams": ", ".join(
                f"{n}({'r' if s.readable else ''}{'w' if s.writable else ''})"
                for n, s in cls.streams.items()
            ),
        }
        for sid, cls in sorted(adapter_registry().items())
    ]
    _emit(args, rows, ["system", "adapter", "streams"])
    for name, error in report.failed.items():
        print(f"plugin {name} failed to load: {error}", file=sys.stderr)
    if report.skipped:
        print(f"skipped by the allow/deny list: {', '.join(report.skipped)}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_adapters_check(args: argparse.Namespace) -> int:
    from hub.exchanges import load_exchanges
    from hub.plugins import get_adapter_class
    from hub.settings import Settings

    config = load_exchanges(Settings.from_env().exchanges_file)
    systems = args.system or sorted(config.systems)
    rows, failed = [], False
    for system in systems:
        with get_adapter_class(system)(config.system(system)) as adapter:
            result = adapter.check()
        failed |= not result.ok
        rows.append({"system": system, "ok": result.ok, "detail": result.detail})
    _emit(args, rows, ["system", "ok", "detail"])
    return 1 if failed else 0


# --- sandboxes ---------------------------------------------------------------------------


def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    from hub import sandbox as sb
    from hub.plugins import sandbox_registry

    registry = sandbox_registry()
    chosen = args.system or sorted(registry)
    running = []
    for system in chosen:
        if system not in registry:
            raise HubError(f"no sandbox for {system!r} (known: {', '.join(sorted(registry))})")
        spec = registry[system]
        running.append(
            sb.start(spec, host=args.host, port=spec.default_port, seed=args.seed, size=args.size)
        )
    for r in running:
        print(
            f"{r.sandbox.system_id}: {r.base_url}  (export HUB_SYSTEM_"
            f"{r.sandbox.system_id.upper()}_URL={r.base_url})"
        )
    print("serving; Ctrl-C stops", flush=True)
    try:
        while all(r.thread.is_alive() for r in running):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    for r in running:
        r.stop()
    return 0


# --- failures ----------------------------------------------------------------------------


def cmd_failures_list(args: argparse.Namespace) -> int:
    from hub.store import deadletters

    hub = _hub()
    with hub.store.transaction() as conn:
        letters = deadletters.list_letters(
            conn,
            exchange=args.exchange,
            status=None if args.status == "all" else args.status,
            stage=args.stage,
            limit=args.limit,
        )
    rows = [
        {
            "id": r.id,
            "exchange": r.exchange,
            "stage": r.stage,
            "class": r.error_class,
            "record": r.native_ref,
            "field": r.field,
            "status": r.status,
            "at": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "reason": r.reason,
        }
        for r in letters
    ]
    _emit(args, rows, ["id", "exchange", "stage", "class", "field", "status", "at", "reason"])
    return 0


def cmd_failures_show(args: argparse.Namespace) -> int:
    from hub.privacy.mask import mask_payload
    from hub.store import audit, deadletters

    hub = _hub()
    with hub.store.transaction() as conn:
        row = deadletters.get(conn, args.id)
        if row is None:
            raise HubError(f"no dead letter {args.id}")
        payload = deadletters.payload_of(hub.keys, row)
        if args.reveal and not args.reason:
            raise HubError("--reveal needs --reason (it is written to the access log)")
        audit.log_access(
            conn,
            actor=_actor(),
            action="reveal" if args.reveal else "read",
            purpose=args.reason or f"inspect dead letter {row.id} (masked)",
            items=[audit.Access(None, row.record_id)],
            exchange=row.exchange,
        )
    info = {
        "id": row.id,
        "exchange": row.exchange,
        "run_id": row.run_id,
        "stage": row.stage,
        "system": row.system,
        "stream": row.stream,
        "entity": row.entity,
        "record": row.native_ref,
        "record_id": row.record_id,
        "class": row.error_class,
        "field": row.field,
        "status": row.status,
        "note": row.note,
        "created_at": str(row.created_at),
        "reason": row.reason,
        "payload": payload if args.reveal else mask_payload(payload),
    }
    print(json.dumps(info, indent=2, ensure_ascii=False, default=str))
    return 0


def cmd_failures_replay(args: argparse.Namespace) -> int:
    from hub.engine import replay

    corrected = None
    if args.payload:
        if len(args.id) != 1:
            raise HubError("--payload corrects one record: give exactly one id")
        corrected = {args.id[0]: json.loads(Path(args.payload).read_text(encoding="utf-8"))}
    results = replay(_hub(), args.id, actor=_actor(), corrected=corrected)
    _emit(args, [r.__dict__ for r in results], ["letter_id", "ok", "detail"])
    return 0 if all(r.ok for r in results) else 1


# --- misc --------------------------------------------------------------------------------


def cmd_keys_generate(args: argparse.Namespace) -> int:
    from hub.privacy.crypto import generate_master_key

    print(generate_master_key())
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    hub = _hub()
    print(f"store {hub.store.display_url} is at the latest schema")
    return 0


def cmd_schemas_export(args: argparse.Namespace) -> int:
    from hub.model.schemas import write_schemas

    for path in write_schemas():
        print(path)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hub.demo import main as demo_main

    return demo_main(size=args.size, home=Path(args.home) if args.home else None)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hub", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = p.add_subparsers(dest="group", required=True)

    def leaf(parent, name: str, func, help: str, json_flag: bool = True):
        q = parent.add_parser(name, help=help)
        q.set_defaults(func=func)
        if json_flag:
            q.add_argument("--json", action="store_true", help="output JSON")
        return q

    ex = sub.add_parser("exchanges", help="declared exchanges").add_subparsers(required=True)
    leaf(ex, "list", cmd_exchanges_list, "list the declared exchanges")
    v = leaf(ex, "validate", cmd_exchanges_validate, "validate the exchanges file", False)
    v.add_argument("--file", help="file to validate (default: the configured one)")
    r = leaf(ex, "run", cmd_exchanges_run, "run an exchange now, in this process")
    r.add_argument("name")
    r.add_argument("--phase", action="append", choices=["check", "extract", "deliver"])

    ad = sub.add_parser("adapters", help="installed adapters").add_subparsers(required=True)
    leaf(ad, "list", cmd_adapters_list, "list adapters and plugins that failed to load")
    c = leaf(ad, "check", cmd_adapters_check, "check connectivity of systems")
    c.add_argument("system", nargs="*")

    sb = sub.add_parser("sandbox", help="local sandboxes").add_subparsers(required=True)
    s = leaf(sb, "serve", cmd_sandbox_serve, "serve sandboxes on their default ports", False)
    s.add_argument("system", nargs="*")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--size", type=int, default=50, help="number of synthetic clients")

    fa = sub.add_parser("failures", help="dead letters").add_subparsers(required=True)
    fl = leaf(fa, "list", cmd_failures_list, "list failed records")
    fl.add_argument("--exchange")
    fl.add_argument("--stage", choices=["read", "translate", "validate", "deliver"])
    fl.add_argument("--status", default="open", choices=["open", "replayed", "resolved", "all"])
    fl.add_argument("--limit", type=int, default=100)
    fs = leaf(fa, "show", cmd_failures_show, "show one failed record (personal data masked)", False)
    fs.add_argument("id", type=int)
    fs.add_argument("--reveal", action="store_true", help="show unmasked (needs --reason)")
    fs.add_argument("--reason", help="why you need the unmasked data (access log)")
    fr = leaf(fa, "replay", cmd_failures_replay, "replay failed records from their failed step")
    fr.add_argument("id", type=int, nargs="+")
    fr.add_argument("--payload", help="JSON file with the corrected native record (one id)")

    leaf(
        sub.add_parser("keys", help="keys").add_subparsers(required=True),
        "generate",
        cmd_keys_generate,
        "print a new master key",
        False,
    )
    leaf(
        sub.add_parser("db", help="the store").add_subparsers(required=True),
        "upgrade",
        cmd_db_upgrade,
        "migrate the store to the latest schema",
        False,
    )
    leaf(
        sub.add_parser("schemas", help="JSON Schemas").add_subparsers(required=True),
        "export",
        cmd_schemas_export,
        "write schemas/canonical/*.json from the model",
        False,
    )
    d = sub.add_parser("demo", help="run every exchange through Airflow against sandboxes")
    d.set_defaults(func=cmd_demo)
    d.add_argument("--size", type=int, default=60, help="synthetic clients per sandbox")
    d.add_argument("--home", help="data folder (default .demo/)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from hub.privacy import install_log_redaction

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_redaction()
    try:
        return args.func(args)
    except HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
