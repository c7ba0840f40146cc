"""Hook specifications of the hub: the whole plugin interface, in one place.

Writing a plugin
----------------

A plugin is a module (or any object) with functions marked ``@hookimpl`` whose names are
the hooks below. It is published as an entry point in the ``hub`` group of its
distribution's ``pyproject.toml``::

    [project.entry-points.hub]
    my_system = "hub_my_system.plugin"

and ``hub_my_system/plugin.py`` implements the hooks it needs::

    from hub.hookspecs import hookimpl

    @hookimpl
    def hub_register_adapters():
        from hub_my_system.adapter import MySystemAdapter  # imported when first asked for

        return [MySystemAdapter]

``hub adapters new my_system`` writes such a distribution, with a sandbox and a
conformance test that passes as generated (:func:`hub.scaffold.scaffold`). The hooks:

- ``hub_register_entities`` — canonical entities (:class:`hub.model.CanonicalEntity`
  subclasses) the plugin adds to the hub's model;
- ``hub_register_adapters`` — :class:`hub.adapter.Adapter` classes: a connection to one
  system and its streams;
- ``hub_register_sandboxes`` — :class:`hub.sandbox.Sandbox` s: local servers that speak the
  protocol of a system an adapter connects to, for demos and tests.

The built-in adapters (``plugins/te_office``, ``plugins/municipal``, ``plugins/kela``,
``plugins/innokyla``) are separate distributions registered exactly this way, and so are
the core's own parts (entry points ``canonical``: the canonical entities, and ``hub``: the
hub's own ends) — those two are loaded whatever the allow and deny lists say, since the hub
is not whole without them. Every hook is documented for plugin authors in
``docs/plugin-hooks.md``; a test keeps that page and these specifications in step.

How plugins are loaded
----------------------

Once per process, by :func:`hub.plugins.load_plugins` (the allow and deny lists
``HUB_PLUGINS_ALLOW`` / ``HUB_PLUGINS_DENY`` are comma-separated entry-point names). A
plugin is taken whole or not at all: one that fails to import, implements a hook that does
not exist here (a typo: ``hub_register_adapter``), takes arguments a hook does not give,
raises in a hook or registers something that breaks the contract is reported by its
entry-point name (``hub adapters list``) and none of its registrations are used; the other
plugins load. A system id, entity name or sandbox registered by two plugins is refused for
both, each message naming the other (the core's own entities win over a plugin's).

Hooks are called without arguments, once each per plugin, and every hook returns a list
(or a tuple; None counts as empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from hub.adapter import Adapter
    from hub.model import CanonicalEntity
    from hub.sandbox import Sandbox

PROJECT = "hub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def hub_register_entities() -> Sequence[type[CanonicalEntity]]:
    """Return the canonical entity classes this plugin adds to the hub's model.

    Each must subclass :class:`hub.model.CanonicalEntity` and set ``entity_name``, an
    identifier unique across all plugins (the name exchanges, the store and the schemas use;
    the core's own entities — ``Client``, ``ServiceEpisode``, … — cannot be replaced). Its
    JSON Schema is generated from the model (``model_json_schema()`` must work: every field
    of a type pydantic can describe), and ``subject_field``, if set, must name a field.

    Called once, before ``hub_register_adapters``: a stream may carry an entity of any
    plugin, but only one registered under its ``entity_name`` (the same class). The core's
    own entities are registered through this hook too, by its ``canonical`` plugin
    (:mod:`hub.model.plugin`). The registry is :func:`hub.plugins.entity_registry`.
    """


@hookspec
def hub_register_adapters() -> Sequence[type[Adapter]]:
    """Return the adapter classes this plugin provides.

    Each class must subclass :class:`hub.adapter.Adapter`, implement ``check``, set a
    ``system_id`` that is an identifier unique across all plugins (it names the system in the
    exchanges file and in ``HUB_SYSTEM_<ID>_URL``) and list its ``streams``: at least one
    :class:`hub.adapter.Stream` subclass, each passing :meth:`hub.adapter.Stream.problems`
    and carrying a registered canonical entity (``hub_register_entities``). An adapter
    declares the ``options`` its systems take as a JSON Schema, ``options_schema`` (with
    ``additionalProperties: false`` an unknown option is refused), and a writable stream
    the fields it needs in every record, ``requires``: ``hub exchanges validate`` checks
    the exchanges file against both.

    Called once, when the plugins are first loaded. The classes are instantiated later, once
    per run, with the system's :class:`hub.adapter.SystemConfig`. Import the adapter module
    inside the hook, as in the example above: listing plugins then stays quick, and an
    import error is reported against this plugin. The registry is
    :func:`hub.plugins.adapter_registry`.
    """


@hookspec
def hub_register_sandboxes() -> Sequence[Sandbox]:
    """Return the sandboxes this plugin provides: local servers that speak the protocol of
    the system an adapter connects to (:class:`hub.sandbox.Sandbox` instances).

    A sandbox's ``system_id`` must be that of an installed adapter (usually this plugin's
    own), and each system has at most one sandbox. Its ``app_factory(seed=, size=)``
    returns an ASGI app holding deterministic synthetic data (identity codes only from the
    temporary range 900–999: :mod:`hub.synthetic`) that honours :class:`hub.sandbox.Faults`
    and mounts :func:`hub.sandbox.control_routes` under ``/_sandbox``.

    Called once, after ``hub_register_adapters``. ``hub sandbox serve``, the demo and the
    test fixture ``sandboxes`` (which the conformance kit runs against) use the registry,
    :func:`hub.plugins.sandbox_registry`.
    """
