"""The core's own canonical entities, registered as any plugin's are (entry point
``hub: canonical`` of the ``integration-hub`` distribution).

The core registers its model through :func:`hub.hookspecs.hub_register_entities` like a
plugin, so that there is one registry of entities (:func:`hub.plugins.entity_registry`) and
one set of rules for them. Being the core's, this plugin is loaded whatever the allow and
deny lists say, and its entity names cannot be taken by another plugin.
"""

from __future__ import annotations

from hub.hookspecs import hookimpl
from hub.model import ENTITIES, CanonicalEntity


@hookimpl
def hub_register_entities() -> list[type[CanonicalEntity]]:
    return list(ENTITIES.values())
