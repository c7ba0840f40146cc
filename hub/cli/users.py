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


def cmd_disable(args: argparse.Namespace) -> int:
    from hub.store import users

    hub = open_hub()
    with hub.store.transaction() as conn:
        users.disable_user(conn, args.name)
    print(f"{args.name} can no longer sign in; their sessions have ended")
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    """Forget the failed sign-ins, and so the lock, of a user name and/or a client address."""
    from hub.errors import HubError
    from hub.store import signin

    if not args.name and not args.address:
        raise HubError("give a user name, --address or both")
    hub = open_hub()
    targets = [
        (signin.USER, args.name, args.name),
        (signin.ADDRESS, args.address, f"address {args.address}"),
    ]
    with hub.store.transaction() as conn:
        for kind, value, shown in (target for target in targets if target[1]):
            if signin.forget(conn, kind, signin.throttle_key(hub.store.keys, kind, value)):
                print(f"{shown}: sign-in unlocked (failed attempts forgotten)")
            else:
                print(f"{shown}: not locked, no failed sign-ins counted")
    return 0


def register(sub) -> None:
    us = group(sub, "users", "dashboard users")
    ua = leaf(us, "add", cmd_add, "add a user or change one's password and role", False)
    ua.add_argument("name", help="the user's sign-in name")
    ua.add_argument(
        "--role",
        choices=["viewer", "operator", "auditor"],
        default="viewer",
        help="viewer: sees everything, personal data masked; operator: may also reveal, "
        "replay and resolve; auditor: may read the access and disclosure logs, e.g. a "
        "client's log extract (default viewer)",
    )
    ua.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    leaf(us, "list", cmd_list, "list users")
    ud = leaf(us, "disable", cmd_disable, "stop a user signing in and end their sessions", False)
    ud.add_argument("name", help="the user's sign-in name")
    uu = leaf(
        us,
        "unlock",
        cmd_unlock,
        "lift a sign-in lock after too many failed attempts (for a name, an address or both)",
        False,
    )
    uu.add_argument("name", nargs="?", help="the sign-in name (whether or not a user has it)")
    uu.add_argument("--address", help="the client address that was locked")
