"""Plugin registration for the employment authority (entry point ``hub: te_office``)."""

from hub.hookspecs import hookimpl
from hub.sandbox import Sandbox


@hookimpl
def hub_register_adapters():
    from hub_te_office.adapter import TeOfficeAdapter

    return [TeOfficeAdapter]


@hookimpl
def hub_register_sandboxes():
    from hub_te_office import mapping
    from hub_te_office.sandbox import create_app

    return [
        Sandbox(
            system_id="te_office",
            title="Employment authority client data (X-Road REST)",
            app_factory=create_app,
            default_port=8701,
            adapter_options={"xroad_client": mapping.DEFAULT_CLIENT},
            base_path=mapping.BASE_PATH,
        )
    ]
