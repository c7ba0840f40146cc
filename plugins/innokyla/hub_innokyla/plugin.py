"""Plugin registration (entry point ``hub: innokyla``)."""

from __future__ import annotations

from hub.hookspecs import hookimpl


@hookimpl
def hub_register_adapters() -> list:
    return []


@hookimpl
def hub_register_sandboxes() -> list:
    return []
