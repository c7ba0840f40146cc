"""Retention: how long the hub keeps what it holds, and the purge that lets the rest go.

The periods are configuration (``retention:`` in the exchanges file, :mod:`.config`); what
is due before which time is computed from them and the store (:mod:`.plan`); the purge
removes it in bounded batches (:mod:`hub.store.purge`) and records what it removed
(:mod:`.purge`). ``hub purge`` and the ``hub_health`` DAG run it.
"""
