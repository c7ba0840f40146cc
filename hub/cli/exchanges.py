"""``hub exchanges``: the declared exchanges: list, validate, run one now."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hub.cli.common import group, leaf, open_hub
from hub.cli.output import ProgressHandler, emit, progress

PHASES = ("check", "extract", "deliver")


def cmd_list(args: argparse.Namespace) -> int:
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
    emit(args, rows, ["name", "source", "target", "schedule", "entities"])
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from hub.exchanges import check_against_adapters, load_exchanges
    from hub.settings import Settings

    path = Path(args.file) if args.file else Settings.from_env().exchanges_file
    config = load_exchanges(path)  # the file itself: a ConfigError naming every mistake
    problems = check_against_adapters(config) + _airflow_problems(config)
    for p in problems:
        print(f"{path}: {p}", file=sys.stderr)
    if not problems:
        print(f"{path}: {len(config.exchanges)} exchanges, {len(config.systems)} systems: valid")
    return 1 if problems else 0


def _airflow_problems(config) -> list[str]:
    """What Airflow itself refuses of the exchanges' DAGs (the checks the DAG file makes),
    when Airflow is installed."""
    try:
        from hub.airflow.exchanges import built_dags
    except ImportError:
        return []
    _, invalid = built_dags(config)
    return [message.removeprefix(f"{config.path}: ") for message in invalid.values()]


def cmd_run(args: argparse.Namespace) -> int:
    from hub.engine import run_exchange

    hub = open_hub()
    phases = tuple(args.phase) if args.phase else PHASES
    with progress() as bar:
        task = bar.add_task(f"{args.name}: starting")
        handler = ProgressHandler(lambda text: bar.update(task, description=text))
        engine_log = logging.getLogger("hub.engine")
        # the batches' counts reach the progress display; the log lines reach stderr only
        # with --verbose
        level, propagate = engine_log.level, engine_log.propagate
        engine_log.setLevel(logging.INFO)
        engine_log.propagate = bool(getattr(args, "verbose", False))
        engine_log.addHandler(handler)
        try:
            summary = run_exchange(hub, args.name, phases=phases, wait=args.wait)
        finally:
            engine_log.removeHandler(handler)
            engine_log.setLevel(level)
            engine_log.propagate = propagate
    headers = ["exchange", "state", "read", "upserted", "unchanged", "delivered", "skipped"]
    emit(args, [summary.__dict__], [*headers, "failed", "held_back", "open_dead_letters"])
    if summary.error and not args.json:
        print(f"error: {summary.error}", file=sys.stderr)
    return _exit_status(args, summary)


RUN_EPILOG = (
    "exit status: 0 the run succeeded; 2 it went through all its phases but some records "
    "failed (state success_with_failures: they wait as dead letters, see hub failures list "
    "--exchange NAME); 1 the run failed; 75 another run of the exchange held it past --wait. "
    "A mistake in the command or the configuration also exits 2, with an error: line."
)


def _exit_status(args: argparse.Namespace, summary) -> int:
    """0, 2 or 1: a script or scheduler tells a run that completed with failed records (they
    wait for an operator, the rest went through) from a clean run and from a failed one."""
    from hub.store import runs

    if summary.state == runs.SUCCESS:
        return 0
    if summary.state != runs.SUCCESS_WITH_FAILURES:
        return 1
    if not args.json:
        print(
            f"{summary.exchange}: {summary.failed} record(s) failed; see them with "
            f"hub failures list --exchange {summary.exchange}",
            file=sys.stderr,
        )
    return 2


def cmd_held_back(args: argparse.Namespace) -> int:
    from hub.cli.runs import print_held
    from hub.store import heldback

    hub = open_hub()
    hub.config.exchange(args.name)  # a clear error for an unknown name
    with hub.store.transaction() as conn:
        held = heldback.summary(conn, exchange=args.name)
    if not held:
        if args.json:
            print("[]")
        else:
            print(f"{args.name}: nothing has been held back")
        return 0
    print_held(args, held)
    return 0


def register(sub) -> None:
    ex = group(sub, "exchanges", "declared exchanges")
    leaf(ex, "list", cmd_list, "list the declared exchanges")
    v = leaf(ex, "validate", cmd_validate, "validate the exchanges file", False)
    v.add_argument("--file", help="file to validate (default: the configured one)")
    h = leaf(
        ex,
        "held-back",
        cmd_held_back,
        "what the exchange's legal basis did not cover, per rule: records held back whole, "
        "records sent without some of their items, and why",
    )
    h.add_argument("name", help="the exchange's name (see hub exchanges list)")
    r = leaf(ex, "run", cmd_run, "run an exchange now, in this process")
    r.epilog = RUN_EPILOG
    r.add_argument("name", help="the exchange's name (see hub exchanges list)")
    r.add_argument(
        "--phase",
        action="append",
        choices=PHASES,
        help="run only this phase (repeat for several; default: all, in order)",
    )
    r.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="when another run of the exchange is going on, wait this long for it to end "
        "(default HUB_LEASE_WAIT, 0: end at once with exit status 75)",
    )
