"""Test support for the hub and for adapter plugins.

- :mod:`hub.testing.fixtures`: pytest fixtures (stores, master key, running sandboxes), a
  pytest plugin registered through the ``pytest11`` entry point;
- :mod:`hub.testing.conformance`: the contract suite every adapter must pass
  (:class:`~hub.testing.conformance.AdapterConformance`).
"""
