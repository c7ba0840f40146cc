"""Hook specifications of the hub: the whole plugin interface, in one place.

A plugin is a module (or object) with functions marked ``@hub.hookimpl`` whose names match
the specifications below. It is published as an entry point in the ``hub`` group::

    [project.entry-points.hub]
    my_system = "hub_my_system.plugin"

The built-in adapters (``plugins/te_office``, ``plugins/municipal``, ``plugins/kela``,
``plugins/innokyla``) are registered exactly this way, as separate distributions. Plugins are
loaded once per process by :func:`hub.plugins.get_plugin_manager`, honouring the allow and
deny lists
(``HUB_PLUGINS_ALLOW`` / ``HUB_PLUGINS_DENY``, comma-separated entry-point names).

Hooks are called without positional arguments, as pluggy requires; every hook returns a list
(pluggy collects the lists of all plugins).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from hub.adapter import Adapter
    from hub.sandbox import Sandbox

PROJECT = "hub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def hub_register_adapters() -> Sequence[type[Adapter]]:
    """Return the adapter classes this plugin provides.

    Called once, when the plugin manager is first built (on the first use of
    :func:`hub.plugins.adapter_registry`). Each class must subclass
    :class:`hub.adapter.Adapter` and set a unique ``system_id``; a ``system_id`` registered by
    two plugins is an error that names both. The classes are instantiated later, once per
    run, with the system's :class:`hub.adapter.SystemConfig`.
    """


@hookspec
def hub_register_sandboxes() -> Sequence[Sandbox]:
    """Return the sandboxes this plugin provides: local servers that speak the protocol of
    the system an adapter connects to (see :class:`hub.sandbox.Sandbox`).

    Called once, when the sandbox registry is first used (``hub sandbox serve``, the demo and
    the test fixtures). A sandbox's ``system_id`` must match an adapter's.
    """
