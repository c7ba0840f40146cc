"""Plugin registration for municipal case systems (entry point ``hub: municipal``)."""

from hub.hookspecs import hookimpl
from hub.sandbox import Sandbox


@hookimpl
def hub_register_adapters():
    from hub_municipal.adapter import MunicipalAdapter

    return [MunicipalAdapter]


@hookimpl
def hub_register_sandboxes():
    from hub_municipal.sandbox import create_app

    return [
        Sandbox(
            system_id="municipal",
            title="Municipal case system (nightly XML export, XML import)",
            app_factory=create_app,
            default_port=8702,
            adapter_options={"municipality_code": "743"},
        )
    ]
