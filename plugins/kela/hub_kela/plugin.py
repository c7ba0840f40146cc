"""Plugin registration for Kela (entry point ``hub: kela``)."""

from __future__ import annotations

from typing import Any

from hub.hookspecs import hookimpl
from hub.sandbox import Sandbox


@hookimpl
def hub_register_adapters() -> list[type[Any]]:
    from hub_kela.adapter import KelaAdapter

    return [KelaAdapter]


@hookimpl
def hub_register_sandboxes() -> list[Sandbox]:
    from hub_kela import mapping
    from hub_kela.sandbox import create_app

    return [
        Sandbox(
            system_id=mapping.SYSTEM,
            title=mapping.TITLE,
            app_factory=create_app,
            default_port=mapping.SANDBOX_PORT,
            adapter_options={
                mapping.OPTION_CLIENT: mapping.SANDBOX_CLIENT,
                mapping.OPTION_MUNICIPALITY: mapping.SANDBOX_MUNICIPALITY,
            },
        )
    ]
