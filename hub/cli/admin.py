"""Setting the hub up: ``hub keys``, ``hub db``, ``hub schemas`` and ``hub demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.cli.common import group, leaf, open_hub


def cmd_keys_generate(args: argparse.Namespace) -> int:
    from hub.privacy.crypto import generate_master_key

    print(generate_master_key())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from hub.privacy.rotation import describe, rotate

    hub = open_hub()

    def progress(step, counts, rows) -> None:
        done = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
        print(f"{step}: {sum(counts.values())} rows checked ({done})", flush=True)

    try:
        done = rotate(
            hub.store,
            batch_size=args.batch_size,
            progress=progress,
            allow_unmatched=args.allow_unmatched,
        )
    finally:
        hub.close()
    print(describe(done))
    return 0 if done.retired or not done.retiring else 3


def cmd_keys_status(args: argparse.Namespace) -> int:
    from hub.cli.output import emit, print_json
    from hub.privacy.rotation import status

    hub = open_hub()
    try:
        found = status(hub.store)
    finally:
        hub.close()
    if args.json:
        print_json(found)
        return 0
    rows = [
        {
            "key": k["key_id"],
            "state": k["state"],
            "configured": "yes" if k["configured"] else "NO",
            "retired": k["retired_at"],
            "rows needing it": ", ".join(f"{c} {n}" for c, n in k["rows"].items())
            + "".join(f" {w}: {n} to check" for w, n in k.get("pseudonyms_to_check", {}).items())
            or "-",
        }
        for k in found["keys"]
    ]
    emit(args, rows, ["key", "state", "configured", "retired", "rows needing it"])
    for step, p in found["rotation"].items():
        counts = ", ".join(f"{k} {n}" for k, n in sorted(p["counts"].items())) or "no rows"
        state = "done" if p["finished"] else "under way"
        print(f"rotation to {found['current']}, {step}: {state} ({counts})")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from hub.engine import Hub
    from hub.store.db import head_revision

    hub = Hub.open(upgrade=True)
    print(f"store {hub.store.display_url} is at the latest schema ({head_revision()})")
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
    keys = group(sub, "keys", "keys")
    leaf(keys, "generate", cmd_keys_generate, "print a new master key", False)
    rot = leaf(
        keys,
        "rotate",
        cmd_keys_rotate,
        "move the store to the configured current key (re-key, re-encrypt, retire the old);"
        " run again to go on after an interruption",
        False,
    )
    rot.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
    rot.add_argument(
        "--allow-unmatched",
        action="store_true",
        help="retire the old key even if some people's pseudonyms could not be re-keyed",
    )
    leaf(keys, "status", cmd_keys_status, "which keys the store's rows still need")
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
