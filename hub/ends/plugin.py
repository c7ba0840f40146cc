"""The hub's own ends, registered through the same hook as every adapter."""

from __future__ import annotations

from hub.ends.adapter import HubEnd
from hub.hookspecs import hookimpl


@hookimpl
def hub_register_adapters():
    return [HubEnd]
