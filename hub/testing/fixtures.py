"""Pytest fixtures for the hub and for adapter plugins.

- ``store_url``: a fresh, empty store; parametrise with ``indirect`` over ``sqlite`` and
  ``postgresql`` (PostgreSQL at ``HUB_TEST_PG_URL``, default the local server's ``test``
  database; each test gets its own schema, dropped afterwards);
- ``master_key``: a fresh master key in ``HUB_MASTER_KEY``;
- ``sandboxes``: every registered sandbox running over real HTTP on a free local port,
  reset to its seeded state (faults off) before each test; ``HUB_SYSTEM_<ID>_URL`` point
  the hub at them;
- ``hub_env``: all of the above plus ``HUB_HOME`` in a temporary folder: ``Hub.open()`` works.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

from hub import sandbox as sb
from hub.privacy.crypto import generate_master_key

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SANDBOX_SEED = 1
SANDBOX_SIZE = 60


def pg_base_url() -> str:
    return os.environ.get("HUB_TEST_PG_URL", PG_DEFAULT)


@pytest.fixture
def store_url(request, tmp_path) -> Iterator[str]:
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    from sqlalchemy import create_engine, text

    schema = f"hub_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_base_url())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_base_url() else "?"
    try:
        yield f"{pg_base_url()}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def master_key(monkeypatch) -> str:
    key = generate_master_key()
    monkeypatch.setenv("HUB_MASTER_KEY", key)
    return key


class Sandboxes(dict):
    """Running sandboxes by system id, with helpers to drive their control API."""

    def control(self, system: str, path: str, method: str = "GET", **kwargs) -> httpx.Response:
        url = f"{self[system].url}/_sandbox/{path}"
        response = httpx.request(method, url, trust_env=False, timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def faults(self, system: str, **faults) -> None:
        self.control(system, "faults", "PUT", json=faults)

    def received(self, system: str) -> list:
        return self.control(system, "received").json()

    def reset(self) -> None:
        for system in self:
            self.control(system, "reset", "POST")


@pytest.fixture(scope="session")
def _running_sandboxes() -> Iterator[Sandboxes]:
    from hub.plugins import sandbox_registry

    running = Sandboxes()
    for system, spec in sandbox_registry().items():
        running[system] = sb.start(spec, seed=SANDBOX_SEED, size=SANDBOX_SIZE)
    yield running
    for r in running.values():
        r.stop()


@pytest.fixture
def sandboxes(_running_sandboxes, monkeypatch) -> Sandboxes:
    _running_sandboxes.reset()
    for system, running in _running_sandboxes.items():
        monkeypatch.setenv(f"HUB_SYSTEM_{system.upper()}_URL", running.base_url)
    return _running_sandboxes


def upgrade_store(url: str) -> None:
    """Bring the store at ``url`` to the latest schema, as ``hub db upgrade`` does (the
    first step of every installation; opening a hub does not migrate)."""
    from hub.store.db import create_store_engine, migrate

    engine = create_store_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


@pytest.fixture
def hub_env(tmp_path, monkeypatch, master_key, sandboxes, store_url):
    """Environment in which ``Hub.open()`` gives a hub on a fresh store (upgraded, as
    ``hub db upgrade`` leaves it) and the sandboxes."""
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUB_STORE_URL", store_url)
    upgrade_store(store_url)
    return sandboxes
