"""The ``hub`` command: exchanges, adapters, sandboxes, runs, failures, users, the dashboard,
the demo. Output is a readable table, or JSON with ``--json`` (for scripts).

Exit status: 0 done, 1 done with failures (e.g. a run that failed), 2 an error the hub
reports in one line (configuration, usage), 75 (``EX_TEMPFAIL``) a transient error, such as
a store locked by another process past its time limit: run the command again later."""

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

from hub.errors import HubError, TransientError

EX_TEMPFAIL = 75  # sysexits.h: a temporary failure, the command may be run again later


def _console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # piped into a file or another program: do not fold the table to 80 columns
    width = None if stream.isatty() else 400
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def _emit(args: argparse.Namespace, rows: list[dict[str, Any]], headers: Sequence[str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return
    if not rows:
        print("(none)")
        return
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for h in headers:
        numeric = all(isinstance(r.get(h), int | float) for r in rows)
        table.add_column(h, justify="right" if numeric else "left", overflow="fold")
    for r in rows:
        table.add_row(*("" if r.get(h) is None else str(r.get(h)) for h in headers))
    _console().print(table)


def _progress(description: str, total: int | None = None):
    """A progress bar on stderr (silent when stderr is not a terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    progress = Progress(
        *columns, TimeElapsedColumn(), console=_console(stderr=True), transient=True
    )
    return progress, description, total


class _ProgressHandler(logging.Handler):
    """Shows the engine's latest batch message (counts only, no personal data) as progress."""

    def __init__(self, show):
        super().__init__(logging.INFO)
        self.show = show

    def emit(self, record: logging.LogRecord) -> None:
        self.show(record.getMessage()[:120])


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
    progress, _, _ = _progress(args.name)
    with progress:
        task = progress.add_task(f"{args.name}: starting")
        handler = _ProgressHandler(lambda text: progress.update(task, description=text))
        engine_log = logging.getLogger("hub.engine")
        engine_log.addHandler(handler)
        try:
            summary = run_exchange(hub, args.name, phases=phases)
        finally:
            engine_log.removeHandler(handler)
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
            system=args.system,
            error_class=args.error_class,
            since=_day(args.since),
            until=_day(args.until, end=True),
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
    hub = _hub()
    progress, description, total = _progress("replaying", len(args.id))
    with progress:
        task = progress.add_task(description, total=total)
        results = replay(
            hub,
            args.id,
            actor=_actor(),
            corrected=corrected,
            on_each=lambda _: progress.advance(task),
        )
    _emit(args, [r.__dict__ for r in results], ["letter_id", "ok", "detail"])
    return 0 if all(r.ok for r in results) else 1


def cmd_failures_resolve(args: argparse.Namespace) -> int:
    from hub.store import deadletters

    note = " ".join(args.note.split())
    if not note:
        raise HubError("--note is needed: say how it was resolved")
    hub = _hub()
    rows = []
    with hub.store.transaction() as conn:
        for letter_id in args.id:
            row = deadletters.get(conn, letter_id)
            if row is None:
                rows.append({"letter_id": letter_id, "ok": False, "detail": "no such dead letter"})
                continue
            deadletters.set_status(conn, letter_id, deadletters.RESOLVED, f"{_actor()}: {note}")
            rows.append({"letter_id": letter_id, "ok": True, "detail": f"was {row.status}"})
    _emit(args, rows, ["letter_id", "ok", "detail"])
    return 0 if all(r["ok"] for r in rows) else 1


def _day(value: str | None, *, end: bool = False):
    import datetime as dt

    if not value:
        return None
    try:
        day = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    except ValueError:
        raise HubError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return day + dt.timedelta(days=1) if end and len(value) == 10 else day


# --- runs --------------------------------------------------------------------------------


def _run_row(r) -> dict[str, Any]:
    return {
        "id": r.id,
        "exchange": r.exchange,
        "state": r.state,
        "started": r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
        "finished": r.finished_at.strftime("%Y-%m-%d %H:%M:%S") if r.finished_at else None,
        "read": r.read,
        "upserted": r.upserted,
        "delivered": r.delivered,
        "skipped": r.skipped,
        "failed": r.failed,
        "error": r.error,
    }


def cmd_runs_list(args: argparse.Namespace) -> int:
    from hub.store import runs

    hub = _hub()
    with hub.store.transaction() as conn:
        rows = [_run_row(r) for r in runs.list_runs(conn, args.exchange, limit=args.limit)]
    headers = ["id", "exchange", "state", "started", "read", "delivered", "skipped", "failed"]
    _emit(args, rows, headers)
    return 0


def cmd_runs_show(args: argparse.Namespace) -> int:
    from hub.store import runs

    hub = _hub()
    with hub.store.transaction() as conn:
        run = runs.get_run(conn, args.id)
        if run is None:
            raise HubError(f"no run {args.id}")
        batches = runs.batches_of(conn, args.id)
    info = _run_row(run)
    info["batches"] = [
        {
            "seq": b.seq,
            "phase": b.phase,
            "stream": b.stream,
            "read": b.read,
            "upserted": b.upserted,
            "unchanged": b.unchanged,
            "delivered": b.delivered,
            "skipped": b.skipped,
            "failed": b.failed,
        }
        for b in batches
    ]
    if args.json:
        print(json.dumps(info, indent=2, default=str, ensure_ascii=False))
        return 0
    for key, value in info.items():
        if key != "batches" and value is not None:
            print(f"{key:>10}: {value}")
    print()
    _emit(args, info["batches"], list(info["batches"][0]) if info["batches"] else ["seq"])
    return 0


# --- users and the dashboard -------------------------------------------------------------


def cmd_users_add(args: argparse.Namespace) -> int:
    from hub.store import users

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
    hub = _hub()
    with hub.store.transaction() as conn:
        users.set_user(conn, args.name, password, args.role)
    print(f"{args.name} can sign in as {args.role}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from hub.store import users

    hub = _hub()
    with hub.store.transaction() as conn:
        rows = [{"name": u.username, "role": u.role} for u in users.list_users(conn)]
    _emit(args, rows, ["name", "role"])
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.web.app import create_app

    print(f"dashboard on http://{args.host}:{args.port}/ (metrics at /metrics)")
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")
    return 0


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
    fl.add_argument("--system")
    fl.add_argument("--class", dest="error_class", help="error class, e.g. rule, invalid")
    fl.add_argument("--since", help="from this date (YYYY-MM-DD)")
    fl.add_argument("--until", help="up to and including this date")
    fl.add_argument("--limit", type=int, default=100)
    fs = leaf(fa, "show", cmd_failures_show, "show one failed record (personal data masked)", False)
    fs.add_argument("id", type=int)
    fs.add_argument("--reveal", action="store_true", help="show unmasked (needs --reason)")
    fs.add_argument("--reason", help="why you need the unmasked data (access log)")
    fr = leaf(fa, "replay", cmd_failures_replay, "replay failed records from their failed step")
    fr.add_argument("id", type=int, nargs="+")
    fr.add_argument("--payload", help="JSON file with the corrected native record (one id)")
    fv = leaf(fa, "resolve", cmd_failures_resolve, "mark failed records resolved, with a note")
    fv.add_argument("id", type=int, nargs="+")
    fv.add_argument("--note", required=True, help="how it was resolved")

    ru = sub.add_parser("runs", help="runs of exchanges").add_subparsers(required=True)
    rl = leaf(ru, "list", cmd_runs_list, "list runs, newest first")
    rl.add_argument("--exchange")
    rl.add_argument("--limit", type=int, default=30)
    rs = leaf(ru, "show", cmd_runs_show, "one run with its batches")
    rs.add_argument("id")

    us = sub.add_parser("users", help="dashboard users").add_subparsers(required=True)
    ua = leaf(us, "add", cmd_users_add, "add a user or change one's password and role", False)
    ua.add_argument("name")
    ua.add_argument("--role", choices=["viewer", "operator"], default="viewer")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    leaf(us, "list", cmd_users_list, "list users")

    w = sub.add_parser("web", help="serve the dashboard")
    w.set_defaults(func=cmd_web)
    w.add_argument("--host", default="127.0.0.1")
    w.add_argument("--port", type=int, default=8780)

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
    except TransientError as exc:
        print(f"error: {exc}; this is transient: try again later", file=sys.stderr)
        return EX_TEMPFAIL
    except HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
