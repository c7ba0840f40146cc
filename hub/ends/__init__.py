"""The hub's own ends of an exchange, as a built-in plugin.

The hub is an end like any other system: an adapter (:class:`HubEnd`, system id ``hub``)
registered through the same ``hub_register_adapters`` hook as every adapter, from the
core's entry point ``hub = "hub.ends.plugin"``. It needs no connection settings
(``connects = False``) and offers:

- as a **source**, records the hub derives from its store (:mod:`hub.ends.derived`:
  indicators per practice model), read whole on every run;
- as a **target**, one kept stream per canonical entity (:mod:`hub.ends.kept`): what an
  exchange reads is kept in the store and sent nowhere, so nothing is queued for it.

The engine knows none of this: it reads and writes these streams as it does any other.
"""

from hub.ends.adapter import HubEnd

__all__ = ["HubEnd"]
