"""Plugin registration for te_office (entry point ``hub: te_office``)."""

from hub.hookspecs import hookimpl


@hookimpl
def hub_register_adapters():
    return []


@hookimpl
def hub_register_sandboxes():
    return []
