"""The ``hub`` command: exchanges, adapters, sandboxes, runs, failures, users, the dashboard,
the demo. Output is a readable table, or JSON with ``--json`` (for scripts).

Exit status: 0 done, 1 done with failures (e.g. a run that failed), 2 an error the hub
reports in one line (configuration, usage), 75 (``EX_TEMPFAIL``) a transient error, such as
a store locked by another process past its time limit: run the command again later."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from hub.cli import (
    adapters,
    admin,
    audit,
    exchanges,
    failures,
    indicators,
    purge,
    runs,
    sandbox,
    users,
    web,
)
from hub.errors import HubError, TransientError

EX_TEMPFAIL = 75  # sysexits.h: a temporary failure, the command may be run again later

#: the command groups, in the order ``hub --help`` lists them; each adds its commands
GROUPS = (
    exchanges,
    adapters,
    sandbox,
    failures,
    runs,
    indicators,
    audit,
    purge,
    users,
    web,
    admin,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hub", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = p.add_subparsers(dest="group", required=True)
    for module in GROUPS:
        module.register(sub)
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
