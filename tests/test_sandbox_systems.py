"""Sandboxes per declared system (hub.sandbox_plan): a system's options make an instance of
its adapter's sandbox (``Sandbox.instance_options``), so two systems of one adapter with
different options are served each on its own port, each answering as itself; systems whose
sandboxes would be the same share one."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub import sandbox as sb
from hub import sandbox_plan as plan
from hub.adapter import SystemConfig
from hub.exchanges import HubConfig, load_exchanges
from hub.plugins import sandbox_registry
from hub.settings import DEFAULT_EXCHANGES

# --- a sandbox of its own: what an instance is made of -----------------------------------


def whoami_app(seed: int = 1, size: int = 50, code: str = "000", region: str = "") -> Starlette:
    async def whoami(request):
        return JSONResponse({"code": code, "region": region, "seed": seed, "size": size})

    return Starlette(routes=[Route("/whoami", whoami)])


FAKE = sb.Sandbox(
    "fake",
    "Fake",
    whoami_app,
    8790,
    instance_options={"municipality_code": "code", "region_name": "region"},
)
PLAIN = sb.Sandbox("plain", "Plain", whoami_app, 8795)  # one app serves every system


def config(**systems: tuple[str, str, dict]) -> HubConfig:
    """Systems ``name=(adapter, base_url, options)``."""
    return HubConfig(
        Path("test.yaml"),
        {
            name: SystemConfig(name, url, options, adapter=adapter)
            for name, (adapter, url, options) in systems.items()
        },
    )


def whoami(running: sb.RunningSandbox) -> dict:
    return httpx.get(f"{running.url}/whoami", trust_env=False, timeout=10).json()


def test_instance_options_are_empty_unless_registered():
    assert PLAIN.instance_options == {}
    assert FAKE.instance_options["municipality_code"] == "code"


def test_start_passes_the_options_to_the_app_factory():
    running = sb.start(FAKE, seed=3, size=7, options={"code": "408"}, name="lapua")
    try:
        assert whoami(running) == {"code": "408", "region": "", "seed": 3, "size": 7}
        assert running.name == "lapua" and running.thread.name == "sandbox-lapua"
    finally:
        running.stop()


def test_two_systems_of_one_adapter_are_served_each_as_itself_on_its_own_port():
    a, b = sb.free_port(), sb.free_port()
    while b == a:
        b = sb.free_port()
    cfg = config(
        seinajoki=("fake", f"http://127.0.0.1:{a}", {"municipality_code": "743", "other": 1}),
        lapua=("fake", f"http://localhost:{b}/api", {"municipality_code": "408"}),
    )
    servers = plan.plan(cfg, {"fake": FAKE})
    assert [(s.name, s.systems, dict(s.kwargs), s.port) for s in servers] == [
        ("lapua", ("lapua",), {"code": "408"}, b),  # by name; the port of its base URL
        ("seinajoki", ("seinajoki",), {"code": "743"}, a),  # options not registered: left out
    ]
    ports = plan.assign(servers)
    assert ports == {"lapua": b, "seinajoki": a}
    running = plan.start(servers, ports)
    try:
        assert running["seinajoki"].port == a and running["lapua"].port == b
        assert whoami(running["seinajoki"])["code"] == "743"
        assert whoami(running["lapua"])["code"] == "408"
    finally:
        plan.stop(running)


def test_systems_whose_sandboxes_would_be_the_same_share_one():
    cfg = config(
        kela_county=("plain", "http://127.0.0.1:8703", {"municipality_codes": ["743", "408"]}),
        kela_seinajoki=("plain", "http://127.0.0.1:8703", {"municipality_code": "743"}),
        kela_lapua=("plain", "http://127.0.0.1:8703", {"municipality_code": "408"}),
        elsewhere=("plain", "http://127.0.0.1:8709", {}),  # the same app, another port
    )
    servers = plan.plan(cfg, {"plain": PLAIN})
    assert [(s.name, s.systems, s.port) for s in servers] == [
        ("elsewhere", ("elsewhere",), 8709),
        ("kela_county", ("kela_county", "kela_seinajoki", "kela_lapua"), 8703),
    ]
    running = plan.start(servers)  # any free ports
    try:
        assert running["kela_county"] is running["kela_lapua"] is running["kela_seinajoki"]
        assert running["elsewhere"] is not running["kela_county"]
    finally:
        plan.stop(running)


def test_ports_default_to_the_sandboxs_own_when_the_base_url_is_not_local():
    cfg = config(
        seinajoki=("fake", "https://case.seinajoki.example.fi", {"municipality_code": "743"}),
        lapua=("fake", "https://case.lapua.example.fi:8443", {"municipality_code": "408"}),
        county=("fake", "http://127.0.0.1:8791", {"municipality_code": "999"}),
    )
    servers = {s.name: s.port for s in plan.plan(cfg, {"fake": FAKE})}
    # in the order declared: the default, then the next ports up no other server has
    assert servers == {"county": 8791, "seinajoki": 8790, "lapua": 8792}


def test_names_choose_systems_or_adapters_and_ports_go_by_system():
    cfg = config(
        a1=("fake", "http://127.0.0.1:1", {"municipality_code": "001"}),
        a2=("fake", "http://127.0.0.1:2", {"municipality_code": "002"}),
        p1=("plain", "http://127.0.0.1:3", {}),
        p2=("plain", "http://127.0.0.1:3", {}),
    )
    registry = {"fake": FAKE, "plain": PLAIN, "lonely": sb.Sandbox("lonely", "L", whoami_app, 1)}
    names = lambda *n: [s.name for s in plan.plan(cfg, registry, n)]  # noqa: E731
    assert names("a2", "plain") == ["a2", "p1"]  # in the order given
    assert names("fake") == ["a1", "a2"]  # an adapter: every system of it
    assert names("lonely") == ["lonely"]  # no system of it declared: its sandbox alone
    assert names() == ["a1", "a2", "lonely", "p1"]
    with pytest.raises(sb.SandboxError, match="no sandbox for 'nope'"):
        plan.plan(cfg, registry, ["nope"])

    servers = plan.plan(cfg, registry, ["plain", "fake"])
    assert plan.assign(servers, port=9000) == {"p1": 9000, "a1": 9001, "a2": 9002}
    assert plan.assign(servers, ports={"p2": 9100}) == {"p1": 9100, "a1": 1, "a2": 2}
    assert plan.assign(servers, ports={"p1": 9100, "p2": 9100})["p1"] == 9100
    with pytest.raises(sb.SandboxError, match="p1 and p2 share one sandbox"):
        plan.assign(servers, ports={"p1": 9100, "p2": 9101})
    with pytest.raises(sb.SandboxError, match="--ports names plain, which is not served"):
        plan.assign(servers, ports={"plain": 9100})


def test_options_the_sandbox_cannot_take_are_a_clear_error():
    narrow = sb.Sandbox(
        "narrow", "N", lambda seed, size: None, 1, instance_options={"code": "code"}
    )
    cfg = config(x=("narrow", "http://127.0.0.1:1", {"code": "743"}))
    with pytest.raises(sb.SandboxError, match="systems/x: the sandbox of adapter 'narrow'"):
        plan.plan(cfg, {"narrow": narrow})


def test_local_port_is_only_for_addresses_of_this_machine():
    assert plan.local_port("http://127.0.0.1:8701/r1/x") == 8701
    assert plan.local_port("http://localhost:9000") == 9000
    assert plan.local_port("http://[::1]:9001") == 9001
    assert plan.local_port("http://127.0.0.1/") is None  # no port given: the default
    assert plan.local_port("https://case.example.fi:8443") is None
    assert plan.local_port("http://10.0.0.5:8701") is None


# --- the shipped configuration ------------------------------------------------------------


def test_the_shipped_systems_are_planned_each_as_itself():
    servers = plan.plan(load_exchanges(DEFAULT_EXCHANGES.path()), sandbox_registry())
    by_name = {s.name: s for s in servers}
    assert {s.name: s.systems for s in servers} == {
        "county_case_system": ("county_case_system",),
        "employment_authority": ("employment_authority",),
        "innokyla": ("innokyla",),
        "kela_county": ("kela_county", "kela_seinajoki", "kela_lapua", "kela_employment_area"),
        "lapua": ("lapua",),
        "seinajoki": ("seinajoki",),
    }
    assert {s.name: s.port for s in servers} == {
        "employment_authority": 8701,
        "county_case_system": 8702,
        "kela_county": 8703,
        "innokyla": 8704,
        "seinajoki": 8705,
        "lapua": 8706,
    }
    kwargs = {name: dict(s.kwargs) for name, s in by_name.items()}
    assert kwargs["seinajoki"] != kwargs["lapua"] != kwargs["county_case_system"]


def municipalities_served(base_url: str) -> list[str]:
    """The municipalities a case-system sandbox's export is of."""
    listing = httpx.get(f"{base_url}/exports", trust_env=False, timeout=30).json()
    export_id = listing["exports"][0]["id"]
    head = httpx.get(f"{base_url}/exports/{export_id}", trust_env=False, timeout=30).text[:2000]
    return re.search(r'municipality="([^"]*)"', head)[1].split()


def test_the_case_systems_of_the_county_and_the_towns_answer_each_as_itself():
    cfg = load_exchanges(DEFAULT_EXCHANGES.path())
    servers = plan.plan(cfg, sandbox_registry(), ["county_case_system", "seinajoki", "lapua"])
    running = plan.start(servers, size=6)
    try:
        assert municipalities_served(running["seinajoki"].base_url) == ["743"]
        assert municipalities_served(running["lapua"].base_url) == ["408"]
        county = municipalities_served(running["county_case_system"].base_url)
        assert county == cfg.system("county_case_system").options["municipality_codes"]
    finally:
        plan.stop(running)


# --- hub sandbox serve ---------------------------------------------------------------------


def test_sandbox_serve_serves_each_declared_system_on_the_port_of_its_base_url(
    tmp_path, monkeypatch
):
    from test_cli import Served, free_ports

    town, county = free_ports(2)
    data = yaml.safe_load(DEFAULT_EXCHANGES.read_text())
    data["systems"]["lapua"]["base_url"] = f"http://127.0.0.1:{town}"
    data["systems"]["county_case_system"]["base_url"] = f"http://127.0.0.1:{county}"
    path = tmp_path / "exchanges.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    monkeypatch.setenv("HUB_EXCHANGES", str(path))
    seinajoki = free_ports(1)[0]
    args = ["lapua", "county_case_system", "seinajoki", "--ports", f"seinajoki={seinajoki}"]
    with Served(*args, "--size", "6") as served:
        urls = served.wait_serving()
        assert urls == {
            "lapua": f"http://127.0.0.1:{town}",
            "county_case_system": f"http://127.0.0.1:{county}",
            "seinajoki": f"http://127.0.0.1:{seinajoki}",
        }
        assert municipalities_served(urls["lapua"]) == ["408"]
        assert municipalities_served(urls["seinajoki"]) == ["743"]
        assert "408" in municipalities_served(urls["county_case_system"])
        assert served.interrupt() == 0
