"""Plugin registration for Innokylä (entry point ``hub: innokyla``)."""

from __future__ import annotations

from typing import Any

from hub.hookspecs import hookimpl
from hub.sandbox import Sandbox


@hookimpl
def hub_register_adapters() -> list[type[Any]]:
    from hub_innokyla.adapter import InnokylaAdapter

    return [InnokylaAdapter]


@hookimpl
def hub_register_sandboxes() -> list[Sandbox]:
    from hub_innokyla import mapping
    from hub_innokyla.sandbox import create_app

    return [
        Sandbox(
            system_id=mapping.SYSTEM,
            title=mapping.TITLE,
            app_factory=create_app,
            default_port=mapping.SANDBOX_PORT,
            adapter_options={mapping.OPTION_KEY: mapping.SANDBOX_KEY},
        )
    ]
