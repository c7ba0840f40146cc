"""A sandbox in a process of its own, so that serving the data does not compete with the
measured process for its interpreter: ``python -m bench.serve SYSTEM PORT [EXPORT_DIR]``."""

from __future__ import annotations

import sys

import uvicorn

from hub.plugins import sandbox_registry

from bench.data import SEED


def main() -> None:
    system, port = sys.argv[1], int(sys.argv[2])
    options = {"export_dir": sys.argv[3]} if len(sys.argv) > 3 else {}
    app = sandbox_registry()[system].app_factory(seed=SEED, size=0, **options)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
