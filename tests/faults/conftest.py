"""The fault suite's fixtures: a hostile server in front of every sandbox, a hub reading each
source system into its store (tests/faults/exchanges.yaml), and the ledger.

The ledger is the suite's one promise, checked after every scenario: every record the
source holds is in the store exactly once or in the dead letters with its reason, nothing
else is there, and the run's state says the truth (a run that completes has lost nothing,
and ends ``success_with_failures`` exactly when records of it failed; a run that could not
take a document whole ends failed, naming it).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.adapter import SystemConfig
from hub.engine import Hub, RunSummary, run_exchange
from hub.engine.translate import native_ref
from hub.exchanges import streams_of
from hub.plugins import get_adapter_class
from hub.store import deadletters
from hub.store import schema as t
from hub.store.runs import COMPLETED, SUCCESS_WITH_FAILURES

from .hostile import HostileServer

EXCHANGES = Path(__file__).with_name("exchanges.yaml")
#: the exchange reading each source system into the hub
READS = {
    "te_office": "te_office_in",
    "municipal": "municipal_in",
    "kela": "kela_in",
    "innokyla": "innokyla_in",
}


_SOURCES: dict[str, dict[str, list[str]]] = {}


@pytest.fixture(scope="session")
def _hostile_servers(_running_sandboxes) -> dict[str, HostileServer]:
    servers = {s: HostileServer(r.url).start() for s, r in _running_sandboxes.items()}
    yield servers
    for server in servers.values():
        server.stop()


@dataclass
class Ledger:
    """What became of a source's records: stored (native id → times), dead letters (native
    id → reason) per stream."""

    stored: dict[str, Counter] = field(default_factory=dict)
    dead: dict[str, dict[str, str]] = field(default_factory=dict)


class FaultHub:
    """A hub on a fresh store reading from hostile servers in front of the sandboxes."""

    def __init__(self, sandboxes, hostile: dict[str, HostileServer]):
        self.sandboxes, self.hostile = sandboxes, hostile
        self.hub = Hub.open()

    def close(self) -> None:
        self.hub.close()

    def run(self, system: str) -> tuple[RunSummary, float]:
        """Extract everything ``system`` offers (one run); the summary and the seconds it took."""
        started = time.monotonic()
        summary = run_exchange(self.hub, READS[system], phases=("extract",))
        return summary, time.monotonic() - started

    def source(self, system: str) -> dict[str, list[str]]:
        """The native ids the source really holds, per stream, read through the adapter
        straight from the sandbox (no hostile server in between). The sandboxes are reset
        to the same seeded state before every test, so this is read once a session."""
        if system not in _SOURCES:
            _SOURCES[system] = self._read_source(system)
        return _SOURCES[system]

    def _read_source(self, system: str) -> dict[str, list[str]]:
        exchange = self.hub.config.exchange(READS[system])
        config = self.hub.config.system(system)
        direct = SystemConfig(
            system, self.sandboxes[system].base_url, config.options, timeout=30, deadline=120
        )
        out = {}
        with get_adapter_class(system)(direct) as adapter:
            for flow in exchange.entities:
                stream, _ = streams_of(exchange, flow)
                out[stream] = [
                    r.native_id for b in adapter.stream(stream).read(None, 500) for r in b.records
                ]
        return out

    def ledger(self, system: str) -> Ledger:
        exchange = self.hub.config.exchange(READS[system])
        keys = self.hub.keys
        found = Ledger()
        with self.hub.store.transaction() as conn:
            letters = deadletters.list_letters(conn, exchange=exchange.name, limit=100_000)
            for flow in exchange.entities:
                stream, _ = streams_of(exchange, flow)
                im = t.identity_map.c
                rows = conn.execute(
                    select(im.native_id).where(im.system == system, im.entity == flow.entity)
                ).scalars()
                context = f"{system}/{flow.entity}".encode()
                found.stored[stream] = Counter(
                    keys.decrypt(bytes(blob), context=context).decode() for blob in rows
                )
                records = conn.execute(
                    select(func.count())
                    .select_from(t.records)
                    .where(t.records.c.entity == flow.entity, t.records.c.origin_system == system)
                ).scalar_one()
                if flow.entity != "Client":  # one record per native id: exactly once
                    assert records == sum(found.stored[stream].values()), (stream, records)
                prefix = native_ref(system, stream, "")
                found.dead[stream] = {
                    letter.native_ref[len(prefix) :]: letter.reason
                    for letter in letters
                    if letter.stream == stream and letter.native_ref.startswith(prefix)
                }
        return found

    def assert_ledger(
        self,
        system: str,
        summary: RunSummary,
        *,
        source: dict[str, list[str]],
        bad: dict[str, set[str]] | None = None,
        extra: dict[str, set[str]] | None = None,
    ) -> Ledger:
        """The ledger of ``system`` after a run.

        ``source``: the native ids the source holds per stream (:meth:`source`); ``bad``:
        those a scenario broke, which must be dead letters; ``extra``: dead letters for
        things that are not records of the source (an element of no known kind).

        A run that completed (``success``, or ``success_with_failures`` exactly when records of
        it failed) has lost nothing: every source record is stored exactly once or a dead
        letter with a reason, the broken ones dead letters, nothing else. A
        run that failed has an error, and what it stored is still exactly what the source
        holds: nothing twice, nothing invented, nothing both stored and failed."""
        ledger = self.ledger(system)
        for stream, ids in source.items():
            stored, dead = ledger.stored[stream], ledger.dead[stream]
            broken = (bad or {}).get(stream, set())
            others = (extra or {}).get(stream, set())
            assert not [i for i, n in stored.items() if n > 1], f"{stream}: stored twice"
            assert not set(stored) & set(dead), f"{stream}: both stored and failed"
            assert set(stored) <= set(ids) - broken, f"{stream}: stored what it should not"
            assert set(dead) <= set(ids) | others, f"{stream}: dead letters of nothing"
            assert all(reason.strip() for reason in dead.values()), f"{stream}: no reason"
            assert broken <= set(dead) | (set(ids) - set(stored) - set(dead)), stream
            if summary.state in COMPLETED:
                assert set(stored) | set(dead) == set(ids) | others, (
                    f"{stream}: a completed run lost "
                    f"{sorted(set(ids) - set(stored) - set(dead))[:5]}"
                )
                assert broken <= set(dead), f"{stream}: a broken record was not failed"
        if summary.state in COMPLETED:
            assert summary.error is None
            assert (summary.state == SUCCESS_WITH_FAILURES) == (summary.failed > 0), summary
        else:
            assert summary.state == "failed" and summary.error, summary
        return ledger


@pytest.fixture
def faults(hub_env, sandboxes, _hostile_servers, monkeypatch) -> FaultHub:
    """The suite's own exchanges file names its systems by their adapters: the sandboxes are
    the plugin's, one per adapter (``sandboxes``); ``hub_env`` gives the store and key."""
    monkeypatch.setenv("HUB_EXCHANGES", str(EXCHANGES))
    for system, server in _hostile_servers.items():
        server.clear()
        base = server.url + sandboxes[system].sandbox.base_path
        monkeypatch.setenv(f"HUB_SYSTEM_{system.upper()}_URL", base)
    fault_hub = FaultHub(sandboxes, _hostile_servers)
    yield fault_hub
    for server in _hostile_servers.values():
        server.clear()
    fault_hub.close()
