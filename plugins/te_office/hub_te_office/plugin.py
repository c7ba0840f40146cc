"""Plugin registration for the employment authority (entry point ``hub: te_office``)."""

from __future__ import annotations

from typing import Any

from hub.hookspecs import hookimpl
from hub.sandbox import Sandbox


@hookimpl
def hub_register_adapters() -> list[type[Any]]:
    from hub_te_office.adapter import TeOfficeAdapter

    return [TeOfficeAdapter]


@hookimpl
def hub_register_sandboxes() -> list[Sandbox]:
    from hub_te_office import mapping
    from hub_te_office.sandbox import create_app

    return [
        Sandbox(
            system_id=mapping.SYSTEM,
            title=mapping.TITLE,
            app_factory=create_app,
            default_port=mapping.SANDBOX_PORT,
            adapter_options={mapping.OPTION_CLIENT: mapping.SANDBOX_CLIENT},
            base_path=mapping.BASE_PATH,
        )
    ]
