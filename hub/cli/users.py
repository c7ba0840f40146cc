"""``hub users``: who may sign in to the dashboard, and as what role."""

from __future__ import annotations

import argparse
import getpass
import sys

from hub.cli.common import group, leaf, open_hub
from hub.cli.output import emit


def cmd_add(args: argparse.Namespace) -> int:
    from hub.store import users

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
    hub = open_hub()
    with hub.store.transaction() as conn:
        users.set_user(conn, args.name, password, args.role)
    print(f"{args.name} can sign in as {args.role}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from hub.store import users

    hub = open_hub()
    with hub.store.transaction() as conn:
        rows = [{"name": u.username, "role": u.role} for u in users.list_users(conn)]
    emit(args, rows, ["name", "role"])
    return 0


def register(sub) -> None:
    us = group(sub, "users", "dashboard users")
    ua = leaf(us, "add", cmd_add, "add a user or change one's password and role", False)
    ua.add_argument("name", help="the user's sign-in name")
    ua.add_argument(
        "--role",
        choices=["viewer", "operator"],
        default="viewer",
        help="viewer: sees everything, personal data masked; operator: may also reveal, "
        "replay and resolve (default viewer)",
    )
    ua.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    leaf(us, "list", cmd_list, "list users")
