"""Plugin registration for municipal (entry point ``hub: municipal``)."""

from hub.hookspecs import hookimpl


@hookimpl
def hub_register_adapters():
    return []


@hookimpl
def hub_register_sandboxes():
    return []
