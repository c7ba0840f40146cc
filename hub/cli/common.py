"""What the command groups share: building their parsers, the store, who is acting."""

from __future__ import annotations

import argparse
import getpass


def leaf(parent, name: str, func, help: str, json_flag: bool = True) -> argparse.ArgumentParser:
    """A command ``name`` under ``parent`` (a subparsers action) that runs ``func(args)``."""
    q = parent.add_parser(name, help=help, description=help)
    q.set_defaults(func=func)
    if json_flag:
        q.add_argument("--json", action="store_true", help="output JSON (for scripts)")
    return q


def group(sub, name: str, help: str):
    """A command group ``name`` (``hub NAME ...``); returns its subparsers action."""
    return sub.add_parser(name, help=help, description=help).add_subparsers(required=True)


def open_hub():
    """The hub; with ``HUB_SECRETS=airflow``, its key and store from Airflow's connections
    as the DAGs find them (:mod:`hub.airflow.secrets`)."""
    import os

    if os.environ.get("HUB_SECRETS", "").strip().lower() == "airflow":
        from hub.airflow.secrets import open_hub as from_airflow

        return from_airflow()
    from hub.engine import Hub

    return Hub.open()


def actor() -> str:
    """Who is acting, for the access log and notes: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"
