"""A sandbox in a process of its own, so that serving the data does not compete with the
measured process for its interpreter: ``python -m bench.serve ADAPTER PORT [NAME=VALUE ...]``
(options of the sandbox's app, e.g. ``export_dir=...`` or ``billing_dir=...``)."""

from __future__ import annotations

import sys

import uvicorn

from bench.data import SEED
from hub.plugins import sandbox_registry


def main() -> None:
    adapter, port = sys.argv[1], int(sys.argv[2])
    options = dict(arg.split("=", 1) for arg in sys.argv[3:])
    app = sandbox_registry()[adapter].app_factory(seed=SEED, size=0, **options)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
