"""Loading plugins from entry points, once, with an allow/deny list.

Why not ``PluginManager.load_setuptools_entrypoints``: it stops at the first plugin that
fails to import and has no allow or deny list. Here every failing plugin is reported by its
entry-point name and the others still load; ``hub adapters list`` shows both.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import pluggy

from hub import hookspecs
from hub.adapter import Adapter
from hub.errors import PluginError

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "hub"


@dataclass
class PluginReport:
    loaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # name -> error
    skipped: list[str] = field(default_factory=list)  # by the allow/deny list


def _names(env: str) -> set[str] | None:
    value = os.environ.get(env)
    if value is None:
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


def build_plugin_manager(
    *,
    allow: Iterable[str] | None = None,
    deny: Iterable[str] = (),
    extra_plugins: Iterable[object] = (),
) -> tuple[pluggy.PluginManager, PluginReport]:
    """A new plugin manager with the entry-point plugins allowed by the lists loaded."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    report = PluginReport()
    allowed = set(allow) if allow is not None else None
    denied = set(deny)
    for ep in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    ):
        if ep.name in denied or (allowed is not None and ep.name not in allowed):
            report.skipped.append(ep.name)
            continue
        if pm.has_plugin(ep.name):  # the same distribution installed twice
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # a broken plugin must not take the others down
            report.failed[ep.name] = f"{type(exc).__name__}: {exc}"
            log.error("plugin %s (%s) failed to load: %s", ep.name, ep.value, exc)
            continue
        report.loaded.append(ep.name)
    for plugin in extra_plugins:
        pm.register(plugin)
        report.loaded.append(pm.get_name(plugin) or repr(plugin))
    pm.check_pending()
    return pm, report


@functools.cache
def get_plugin_manager() -> tuple[pluggy.PluginManager, PluginReport]:
    """The process-wide plugin manager, built once from the environment's lists."""
    return build_plugin_manager(
        allow=_names("HUB_PLUGINS_ALLOW"), deny=_names("HUB_PLUGINS_DENY") or ()
    )


def collect_adapters(pm: pluggy.PluginManager) -> dict[str, type[Adapter]]:
    """All adapters by system id. A duplicate id or a non-adapter is a :class:`PluginError`."""
    found: dict[str, tuple[type[Adapter], str]] = {}
    for impl in pm.hook.hub_register_adapters.get_hookimpls():
        plugin_name = impl.plugin_name
        for cls in impl.function() or ():
            if not (isinstance(cls, type) and issubclass(cls, Adapter)):
                raise PluginError(f"plugin {plugin_name} registered {cls!r}, not an Adapter")
            system = getattr(cls, "system_id", None)
            if not system:
                raise PluginError(f"plugin {plugin_name}: {cls.__name__} has no system_id")
            if system in found:
                raise PluginError(
                    f"system id {system!r} is registered twice: by plugin {found[system][1]} "
                    f"({found[system][0].__qualname__}) and by plugin {plugin_name} "
                    f"({cls.__qualname__})"
                )
            found[system] = (cls, plugin_name)
    return {system: cls for system, (cls, _) in found.items()}


def collect_sandboxes(pm: pluggy.PluginManager) -> dict:
    found: dict = {}
    for impl in pm.hook.hub_register_sandboxes.get_hookimpls():
        for sandbox in impl.function() or ():
            if sandbox.system_id in found:
                raise PluginError(
                    f"sandbox {sandbox.system_id!r} is registered twice (plugin {impl.plugin_name})"
                )
            found[sandbox.system_id] = sandbox
    return found


@functools.cache
def adapter_registry() -> dict[str, type[Adapter]]:
    return collect_adapters(get_plugin_manager()[0])


@functools.cache
def sandbox_registry() -> dict:
    return collect_sandboxes(get_plugin_manager()[0])


def get_adapter_class(system: str) -> type[Adapter]:
    registry = adapter_registry()
    if system not in registry:
        failed = get_plugin_manager()[1].failed
        hint = f"; plugins that failed to load: {', '.join(failed)}" if failed else ""
        raise PluginError(
            f"no adapter for system {system!r} (known: {', '.join(sorted(registry)) or 'none'})"
            + hint
        )
    return registry[system]
