"""Plugin registration for municipal case systems (entry point ``hub: municipal``)."""

from __future__ import annotations

from typing import Any

from hub.hookspecs import hookimpl
from hub.sandbox import Sandbox


@hookimpl
def hub_register_adapters() -> list[type[Any]]:
    from hub_municipal.adapter import MunicipalAdapter

    return [MunicipalAdapter]


@hookimpl
def hub_register_sandboxes() -> list[Sandbox]:
    from hub_municipal import mapping
    from hub_municipal.sandbox import create_app

    return [
        Sandbox(
            system_id=mapping.SYSTEM,
            title=mapping.TITLE,
            app_factory=create_app,
            default_port=mapping.SANDBOX_PORT,
            adapter_options={mapping.OPTION_MUNICIPALITY: mapping.SANDBOX_MUNICIPALITY},
            base_path="",
            # a system's municipalities make an instance of the sandbox (a county's, a town's)
            instance_options={
                mapping.OPTION_MUNICIPALITIES: "municipality_codes",
                mapping.OPTION_MUNICIPALITY: "municipality",
            },
        )
    ]
