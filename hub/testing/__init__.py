"""Test support for the hub and for adapter plugins (a pytest plugin, ``hub.testing.fixtures``,
registered through the ``pytest11`` entry point)."""
