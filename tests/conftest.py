"""Shared test configuration. Fixtures come from the hub's pytest plugin (hub.testing), but
for ``hub_env``, which this suite serves per system of the shipped configuration.

- ``system_sandboxes``: a sandbox per system declared in the shipped exchanges file, with
  that system's options (:mod:`hub.sandbox_plan`: the two municipalities' systems answer
  each as its own municipality; the Kela systems share one), each on a free local port,
  reset before each test; ``HUB_SYSTEM_<SYSTEM>_URL`` point the hub at them. Keyed by
  system name (``hub_env.received("county_case_system")``).
- ``hub_env``: as the plugin's, with ``system_sandboxes`` in place of the per-adapter
  ``sandboxes`` (which the conformance kit and the adapters' own tests use).
"""

from collections.abc import Iterator

import pytest

from hub.privacy.crypto import generate_master_key, load_keyring
from hub.store import Store
from hub.testing.fixtures import SANDBOX_SEED, SANDBOX_SIZE, Sandboxes, upgrade_store

BOTH_STORES = pytest.mark.parametrize(
    "store_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@pytest.fixture
def store(store_url):
    """A fresh store at ``store_url`` with a key of its own."""
    s = Store(store_url, load_keyring(key=generate_master_key()), upgrade=True)
    yield s
    s.close()


@pytest.fixture(scope="session")
def _system_sandboxes() -> Iterator[Sandboxes]:
    from hub import sandbox_plan as plan
    from hub.exchanges import load_exchanges
    from hub.plugins import sandbox_registry
    from hub.settings import DEFAULT_EXCHANGES

    servers = plan.plan(load_exchanges(DEFAULT_EXCHANGES.path()), sandbox_registry())
    running = plan.start(servers, seed=SANDBOX_SEED, size=SANDBOX_SIZE)
    yield Sandboxes(running)
    plan.stop(running)


@pytest.fixture
def system_sandboxes(_system_sandboxes, monkeypatch) -> Sandboxes:
    for served in {id(r): r for r in _system_sandboxes.values()}.values():
        _system_sandboxes.control(served.name, "reset", "POST")
    for system, served in _system_sandboxes.items():
        monkeypatch.setenv(f"HUB_SYSTEM_{system.upper()}_URL", served.base_url)
    return _system_sandboxes


@pytest.fixture
def hub_env(tmp_path, monkeypatch, master_key, system_sandboxes, store_url):
    """Environment in which ``Hub.open()`` gives a hub on a fresh store and a sandbox per
    system of the shipped configuration."""
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HUB_STORE_URL", store_url)
    upgrade_store(store_url)
    return system_sandboxes


@pytest.fixture
def webhook():
    """A webhook receiver on a free local port; what it was sent is in ``.received``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from hub import sandbox as sb

    received: list[dict] = []

    async def hook(request: Request):
        received.append(await request.json())
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    spec = sb.Sandbox("webhook", "webhook", lambda **_: None, 0)
    server = sb.RunningSandbox(spec, app, "127.0.0.1", sb.free_port()).start()
    server.received = received
    yield server
    server.stop()
