"""``hub web``: serve the dashboard."""

from __future__ import annotations

import argparse


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.web.app import create_app

    print(f"dashboard on http://{args.host}:{args.port}/ (metrics at /metrics)")
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")
    return 0


def register(sub) -> None:
    w = sub.add_parser("web", help="serve the dashboard", description="serve the dashboard")
    w.set_defaults(func=cmd_web)
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    w.add_argument("--port", type=int, default=8780, help="port to listen on (default 8780)")
