"""Loading plugins from entry points, once, with an allow/deny list; the registries.

Why not ``PluginManager.load_setuptools_entrypoints``: it stops at the first plugin that
fails to import, lets a typo in a hook's name crash every command (``check_pending``) and has
no allow or deny list. Here a plugin is taken whole or not at all, and every plugin that is
not taken is reported by its entry-point name with the reason (``hub adapters list``); the
others load. A plugin is not taken when it

- fails to import, implements no hook, implements a hook that does not exist (with the
  nearest real name as a hint), or takes arguments its hook does not give (pluggy's
  ``PluginValidationError``);
- raises in a hook, returns something that is not a list, or registers something that breaks
  the contract: an entity whose JSON Schema cannot be generated, an adapter class with
  :meth:`hub.adapter.Adapter.problems` or whose streams carry an entity no plugin registers,
  a sandbox that is not a :class:`hub.sandbox.Sandbox` or is for no installed adapter;
- registers a system id, entity name or sandbox another plugin registers too: both are
  refused, each message naming the other (the hub's own entities stay: the other fails).

Refusing a plugin can leave others without what they registered against (a sandbox for its
adapter, a stream of its entity): they are refused in turn, until what is left holds
together.

The core distribution's own plugins (:data:`CORE_PLUGINS`: its canonical entities, its own
ends) are loaded first and whatever ``HUB_PLUGINS_ALLOW`` / ``HUB_PLUGINS_DENY`` say: the
lists choose among optional adapters, and without the core's plugins no exchange could be
configured at all. They are entry points of ``integration-hub`` like any plugin, and are
loaded from their modules even when an installed copy's metadata predates them.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.metadata
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy

from hub import hookspecs
from hub.adapter import Adapter
from hub.errors import PluginError
from hub.model import CanonicalEntity
from hub.registrations import Claims, check_adapter, check_entity, check_sandbox, settle
from hub.sandbox import Sandbox

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "hub"
CORE_DISTRIBUTION = "integration-hub"
#: the core distribution's own plugins: entry-point name -> module (see the module docstring)
CORE_PLUGINS: dict[str, str] = {"canonical": "hub.model.plugin", "hub": "hub.ends.plugin"}


@dataclass
class PluginReport:
    """What became of every plugin found: loaded, failed (with why) or skipped."""

    loaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # name -> why
    skipped: list[str] = field(default_factory=list)  # by the allow/deny list
    #: plugin name -> ``"distribution version"`` it comes from (when known)
    distributions: dict[str, str] = field(default_factory=dict)
    #: the core's own plugins among those found
    core: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plugins:
    """The loaded plugins and everything they registered, by name."""

    manager: pluggy.PluginManager
    report: PluginReport
    entities: dict[str, type[CanonicalEntity]]
    adapters: dict[str, type[Adapter]]
    sandboxes: dict[str, Sandbox]
    #: ``(kind, name)`` -> plugin: kind ``entity``, ``adapter`` or ``sandbox``
    owners: dict[tuple[str, str], str]


def _names(env: str) -> set[str] | None:
    value = os.environ.get(env)
    if value is None:
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution(dist: importlib.metadata.Distribution | None) -> str | None:
    if dist is None:
        return None
    return f"{dist.metadata['Name']} {dist.version}"


def _core_distribution() -> str | None:
    try:
        return _distribution(importlib.metadata.distribution(CORE_DISTRIBUTION))
    except importlib.metadata.PackageNotFoundError:
        return None


def hook_problems(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """What is wrong with ``plugin``'s hooks, found before it is registered: a hook the hub
    does not have (with the nearest name as a hint), a function named like a hook but not
    marked, no hook at all. (pluggy checks the arguments when it registers the plugin.)"""
    known = {
        name
        for name in dir(pm.hook)
        if not name.startswith("_") and getattr(pm.hook, name).has_spec()
    }
    found, problems = [], []
    for attr in dir(plugin):
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if opts is None:
            if attr in known and callable(getattr(plugin, attr, None)):
                problems.append(f"{attr} is not marked @hookimpl (from hub.hookspecs)")
            continue
        name = opts.get("specname") or attr
        found.append(name)
        if name not in known and not opts.get("optionalhook"):
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            problems.append(f"implements {name}, which is not a hook of the hub{hint}")
    if not found and not problems:
        problems.append("implements no hook (mark its hook functions @hookimpl)")
    return problems


def register(pm: pluggy.PluginManager, plugin: object, name: str) -> str | None:
    """Register ``plugin`` as ``name``; why it cannot be (None: registered)."""
    if pm.is_registered(plugin):
        return f"the same module is already registered as plugin {pm.get_name(plugin)}"
    problems = hook_problems(pm, plugin)
    if problems:
        return "; ".join(problems)
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        if pm.has_plugin(name):  # older pluggy registers before it validates
            pm.unregister(name=name)
        return " ".join(str(exc).split())
    return None


def _call(pm: pluggy.PluginManager, hook: str, failed: dict[str, list[str]]) -> Claims:
    """What each plugin's ``hook`` returns (each called once); a plugin whose hook raises or
    returns no list is failed."""
    claims: Claims = {}
    for impl in getattr(pm.hook, hook).get_hookimpls():
        try:
            result = impl.function()
        except Exception as exc:  # a broken plugin must not take the others down
            failed.setdefault(impl.plugin_name, []).append(
                f"{hook} raised {type(exc).__name__}: {exc}"
            )
            continue
        if result is None:
            result = []
        if not isinstance(result, list | tuple):
            failed.setdefault(impl.plugin_name, []).append(
                f"{hook} returned {type(result).__name__}, not a list"
            )
            continue
        claims[impl.plugin_name] = list(result)
    return claims


def load_plugins(
    *,
    allow: Iterable[str] | None = None,
    deny: Iterable[str] = (),
    extra_plugins: Mapping[str, object] | None = None,
) -> Plugins:
    """Load the core's plugins, the entry-point plugins the lists allow and
    ``extra_plugins`` (name -> plugin object, as given), and what they register."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    report = PluginReport()
    allowed = set(allow) if allow is not None else None
    denied = set(deny)

    seen: dict[str, str] = {}  # plugin name -> where it comes from

    def add(name: str, load: Any, origin: str, distribution: str | None = None) -> None:
        if name in seen:
            clash = f"the plugin name {name!r} is used by {seen[name]} and by {origin}"
            if name in report.core:
                report.failed[f"{name} ({origin})"] = f"{clash}, the hub's own: rename it"
                return
            # which of the two was meant cannot be told: neither is loaded
            report.failed[name] = report.failed[f"{name} ({origin})"] = (
                f"{clash}: rename one of the entry points"
            )
            if pm.has_plugin(name):
                pm.unregister(name=name)
                report.loaded.remove(name)
            return
        seen[name] = origin
        if distribution:
            report.distributions[name] = distribution
        try:
            plugin = load()
        except Exception as exc:  # a broken plugin must not take the others down
            report.failed[name] = f"{type(exc).__name__}: {exc}"
            return
        try:
            problem = register(pm, plugin, name)
        except Exception as exc:  # a plugin object that breaks even being looked at
            problem = f"cannot be registered: {type(exc).__name__}: {exc}"
            if pm.has_plugin(name):
                pm.unregister(name=name)
        if problem:
            report.failed[name] = problem
        else:
            report.loaded.append(name)

    core_dist = _core_distribution()
    for name, module in CORE_PLUGINS.items():
        report.core.append(name)
        load = functools.partial(importlib.import_module, module)
        add(name, load, core_dist or CORE_DISTRIBUTION, core_dist)
    for ep in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    ):
        dist = getattr(ep, "dist", None)
        is_core = dist is not None and _normalise(dist.metadata["Name"]) == CORE_DISTRIBUTION
        if is_core and ep.name in CORE_PLUGINS:
            continue  # loaded above
        if is_core:
            report.core.append(ep.name)
        elif ep.name in seen:
            pass  # a clash with a plugin already loaded: reported whatever the lists say
        elif ep.name in denied or (allowed is not None and ep.name not in allowed):
            report.skipped.append(ep.name)
            continue
        add(ep.name, ep.load, _distribution(dist) or ep.value, _distribution(dist))
    for name, plugin in (extra_plugins or {}).items():
        add(name, lambda plugin=plugin: plugin, f"the plugin given as {name}")
    return _collect(pm, report)


def _collect(pm: pluggy.PluginManager, report: PluginReport) -> Plugins:
    """Call the registration hooks, check what they give and refuse the plugins that break
    the contract (whole: unregistered, their registrations dropped)."""
    failed: dict[str, list[str]] = {}
    entity_claims = _call(pm, "hub_register_entities", failed)
    adapter_claims = _call(pm, "hub_register_adapters", failed)
    sandbox_claims = _call(pm, "hub_register_sandboxes", failed)
    core = set(report.core)
    while True:  # until refusing a plugin refuses no other
        refused = len(failed)
        alive = set(report.loaded) - set(failed)
        entities = settle("entity", entity_claims, alive, check_entity, failed, core)
        known = {name: cls for name, (cls, _) in entities.items()}
        alive -= set(failed)
        adapters = settle(
            "system id",
            adapter_claims,
            alive,
            functools.partial(check_adapter, entities=known),
            failed,
            core,
        )
        alive -= set(failed)
        sandboxes = settle(
            "sandbox",
            sandbox_claims,
            alive,
            functools.partial(check_sandbox, systems=set(adapters)),
            failed,
            core,
        )
        if len(failed) == refused:
            break
    for name, problems in failed.items():
        report.failed[name] = "; ".join(dict.fromkeys(problems))
        if name in report.loaded:
            report.loaded.remove(name)
        if pm.has_plugin(name):
            pm.unregister(name=name)
    for name, why in report.failed.items():
        log.error("plugin %s is not loaded: %s", name, why)
    owners: dict[tuple[str, str], str] = {}
    for kind, found in (("entity", entities), ("adapter", adapters), ("sandbox", sandboxes)):
        owners.update({(kind, key): plugin for key, (_, plugin) in found.items()})
    return Plugins(
        manager=pm,
        report=report,
        entities={name: cls for name, (cls, _) in entities.items()},
        adapters={system: cls for system, (cls, _) in adapters.items()},
        sandboxes={system: sb for system, (sb, _) in sandboxes.items()},
        owners=owners,
    )


_loaded: Plugins | None = None
_loading = threading.local()
_lock = threading.Lock()


def get_plugins() -> Plugins:
    """The process-wide plugins, loaded once (by the first thread to ask) with the
    environment's allow and deny lists. A plugin that asks for them while it is being loaded
    (in a hook, or when its module is imported) gets a :class:`PluginError`, and is reported
    as failed with it."""
    global _loaded
    if _loaded is not None:
        return _loaded
    if getattr(_loading, "active", False):
        raise PluginError(
            "the registries were asked for while the plugins are being loaded: a plugin may "
            "use them only later, when its adapter runs"
        )
    with _lock:
        if _loaded is None:
            _loading.active = True
            try:
                _loaded = load_plugins(
                    allow=_names("HUB_PLUGINS_ALLOW"), deny=_names("HUB_PLUGINS_DENY") or ()
                )
            finally:
                _loading.active = False
    return _loaded


def get_plugin_manager() -> tuple[pluggy.PluginManager, PluginReport]:
    """The process-wide plugin manager and the report of what became of each plugin."""
    plugins = get_plugins()
    return plugins.manager, plugins.report


def entity_registry() -> dict[str, type[CanonicalEntity]]:
    """Every registered canonical entity by ``entity_name``: the core's and the plugins'."""
    return get_plugins().entities


def adapter_registry() -> dict[str, type[Adapter]]:
    """Every registered adapter class by system id."""
    return get_plugins().adapters


def sandbox_registry() -> dict[str, Sandbox]:
    """Every registered sandbox by system id."""
    return get_plugins().sandboxes


def _failed_hint() -> str:
    failed = get_plugins().report.failed
    return f"; plugins not loaded: {', '.join(failed)} (see hub adapters list)" if failed else ""


def get_adapter_class(system: str) -> type[Adapter]:
    """The adapter class of ``system``; an unknown system is a :class:`PluginError` listing
    the known ones and the plugins that failed."""
    registry = adapter_registry()
    if system not in registry:
        raise PluginError(
            f"no adapter for system {system!r} (known: {', '.join(sorted(registry)) or 'none'})"
            + _failed_hint()
        )
    return registry[system]
