"""Setting the hub up: ``hub keys``, ``hub db``, ``hub schemas`` and ``hub demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.cli.common import group, leaf, open_hub


def cmd_keys_generate(args: argparse.Namespace) -> int:
    from hub.privacy.crypto import generate_master_key

    print(generate_master_key())
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    hub = open_hub()
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


def register(sub) -> None:
    leaf(group(sub, "keys", "keys"), "generate", cmd_keys_generate, "print a new master key", False)
    leaf(
        group(sub, "db", "the store"),
        "upgrade",
        cmd_db_upgrade,
        "migrate the store to the latest schema",
        False,
    )
    leaf(
        group(sub, "schemas", "JSON Schemas"),
        "export",
        cmd_schemas_export,
        "write hub/schemas/canonical/*.json from the model (in a checkout)",
        False,
    )
    about = "run every exchange through Airflow against sandboxes"
    d = sub.add_parser("demo", help=about, description=about)
    d.set_defaults(func=cmd_demo)
    d.add_argument("--size", type=int, default=60, help="synthetic clients per sandbox")
    d.add_argument("--home", help="data folder (default .demo/)")
