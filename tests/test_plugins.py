"""Plugins: loaded once from entry points, allow/deny lists, and every way a plugin can be
broken contained — reported by name, the plugin skipped whole, the others loaded."""

from __future__ import annotations

import json
import sys
import textwrap
import tomllib
import types
from pathlib import Path

import pytest

import hub.plugins
from hub import hookspecs
from hub.catalogue import describe_adapters
from hub.errors import PluginError
from hub.model import ENTITIES
from hub.plugins import (
    CORE_PLUGINS,
    adapter_registry,
    entity_registry,
    get_adapter_class,
    get_plugin_manager,
    get_plugins,
    hook_problems,
    load_plugins,
)

#: the checkout's root (the Makefile, pyproject.toml, docs/)
PROJECT_ROOT = Path(__file__).resolve().parents[1]

BUILT_IN = {"te_office", "municipal", "kela", "innokyla"}

GOOD = """
from hub.adapter import Adapter, CheckResult, Stream
from hub.hookspecs import hookimpl
from hub.model import Client
from hub.sandbox import Sandbox

class People(Stream):
    name = "people"
    entity = Client

    def read(self, cursor, batch_size):
        return iter(())

    def to_canonical(self, record):
        return Client(hetu=record.data["hetu"])

class GoodAdapter(Adapter):
    system_id = "good"
    streams = (People,)

    def check(self):
        return CheckResult(True, "fine")

@hookimpl
def hub_register_adapters():
    return [GoodAdapter]

@hookimpl
def hub_register_sandboxes():
    return [Sandbox("good", "Good", lambda seed, size: None, 1)]
"""

IMPOSTOR = """
from hub.hookspecs import hookimpl
from good_plugin import GoodAdapter

class Impostor(GoodAdapter):
    system_id = "te_office"

@hookimpl
def hub_register_adapters():
    return [Impostor]
"""


def plugin(code: str, name: str = "fake") -> types.ModuleType:
    """A plugin module made of ``code``."""
    module = types.ModuleType(name)
    exec(textwrap.dedent(code), module.__dict__)
    return module


def load(**plugins: str):
    """The core's plugins and ``plugins`` (name -> code); no entry-point plugin."""
    return load_plugins(allow=(), extra_plugins={n: plugin(c, n) for n, c in plugins.items()})


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch):
    """Plugin distributions on sys.path: a good one, one that fails to import, one that
    registers a system id the built-in te_office plugin has, one whose hook has a typo, and
    one that takes the name of the core's ``canonical`` plugin."""
    (tmp_path / "good_plugin.py").write_text(textwrap.dedent(GOOD))
    (tmp_path / "broken_plugin.py").write_text("import does_not_exist_anywhere\n")
    (tmp_path / "dup_plugin.py").write_text(textwrap.dedent(IMPOSTOR))
    (tmp_path / "typo_plugin.py").write_text(
        "from hub.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef hub_register_adapter():\n    return []\n"
    )
    dist = tmp_path / "fake_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[hub]\ngood = good_plugin\nbroken = broken_plugin\ndup = dup_plugin\n"
        "typo = typo_plugin\ncanonical = good_plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("good_plugin", "broken_plugin", "dup_plugin", "typo_plugin"):
        sys.modules.pop(name, None)


# --- the installed plugins -----------------------------------------------------------------


def test_builtin_adapters_are_registered_through_entry_points():
    assert BUILT_IN | {"hub"} <= set(adapter_registry())
    report = get_plugin_manager()[1]
    assert not report.failed
    assert report.distributions["te_office"].startswith("hub-te-office ")


def test_core_entities_are_registered_by_the_canonical_plugin():
    assert entity_registry() == ENTITIES
    plugins = get_plugins()
    assert {plugins.owners[("entity", name)] for name in ENTITIES} == {"canonical"}
    assert plugins.report.distributions["canonical"].startswith("integration-hub ")


def test_the_core_plugins_are_the_root_distributions_entry_points():
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["hub"] == CORE_PLUGINS


def test_plugin_manager_is_built_once():
    assert get_plugins() is get_plugins()
    assert get_plugin_manager()[0] is get_plugins().manager


def test_an_unknown_system_names_the_known_ones():
    with pytest.raises(PluginError, match=r"no adapter for system 'nope' \(known: .*te_office"):
        get_adapter_class("nope")


# --- loading: import errors, hook names and arguments ----------------------------------------


def test_broken_plugin_is_reported_by_name_and_others_load(fake_plugins):
    plugins = load_plugins(deny=["dup"])
    assert "does_not_exist_anywhere" in plugins.report.failed["broken"]
    assert {"good", "te_office"} <= set(plugins.report.loaded)
    assert "good" in plugins.adapters and "good" in plugins.sandboxes


def test_a_typo_in_a_hook_name_is_contained(fake_plugins):
    plugins = load_plugins(allow=["typo", "good"])
    why = plugins.report.failed["typo"]
    assert "hub_register_adapter, which is not a hook" in why
    assert "did you mean hub_register_adapters?" in why
    assert not plugins.manager.has_plugin("typo")
    plugins.manager.check_pending()  # nothing unverified is left registered
    assert "good" in plugins.adapters


def test_a_hook_with_arguments_it_is_not_given_is_contained():
    plugins = load(
        args="""
        from hub.hookspecs import hookimpl

        @hookimpl
        def hub_register_adapters(config):
            return []
        """
    )
    assert "hub_register_adapters" in plugins.report.failed["args"]
    assert "config" in plugins.report.failed["args"]
    assert "\n" not in plugins.report.failed["args"]
    assert "args" not in plugins.report.loaded


def test_a_plugin_without_hooks_is_reported():
    plugins = load(
        empty="x = 1",
        unmarked="def hub_register_adapters():\n    return []\n",
    )
    assert "implements no hook" in plugins.report.failed["empty"]
    assert "hub_register_adapters is not marked @hookimpl" in plugins.report.failed["unmarked"]


def test_a_hook_that_raises_or_returns_no_list_is_contained():
    plugins = load(
        raises="""
        from hub.hookspecs import hookimpl

        @hookimpl
        def hub_register_adapters():
            raise ImportError("no module named acme_sdk")
        """,
        scalar="""
        from hub.hookspecs import hookimpl

        @hookimpl
        def hub_register_entities():
            return "Client"
        """,
        good=GOOD,
    )
    failed = plugins.report.failed
    assert failed["raises"] == "hub_register_adapters raised ImportError: no module named acme_sdk"
    assert failed["scalar"] == "hub_register_entities returned str, not a list"
    assert "good" in plugins.adapters


def test_a_plugin_that_breaks_when_looked_at_or_registers_odd_values_is_contained():
    """Whatever a plugin object or its registrations hold, only that plugin fails."""
    hostile = types.ModuleType("hostile")

    def explode(name):
        raise RuntimeError(f"no attribute {name} here")

    hostile.__getattr__ = explode  # every look at the module raises
    odd = plugin(
        """
        from hub.hookspecs import hookimpl
        from hub.sandbox import Sandbox

        @hookimpl
        def hub_register_sandboxes():
            return [Sandbox(["te_office"], "unhashable id", lambda seed, size: None, 1)]
        """,
        "odd",
    )
    plugins = load_plugins(
        allow=(), extra_plugins={"hostile": hostile, "odd": odd, "good": plugin(GOOD, "good")}
    )
    failed = plugins.report.failed
    assert "hostile" in failed and "odd" in failed
    assert "good" in plugins.adapters and "te_office" not in failed


def test_an_adapter_the_engine_cannot_construct_is_refused():
    """The engine constructs every adapter as cls(config, context): one written for another
    signature would pass the kit and fail every run, so registration refuses it."""
    good = plugin(GOOD, "good")

    class OldAdapter(good.GoodAdapter):
        system_id = "old"

        def __init__(self, config):
            super().__init__(config)

    old = types.ModuleType("old")
    old.hub_register_adapters = hookspecs.hookimpl(lambda: [OldAdapter])
    plugins = load_plugins(allow=(), extra_plugins={"old": old})
    assert "__init__ must take (config, context=None)" in plugins.report.failed["old"]
    assert "old" not in plugins.adapters


def test_hook_problems_of_the_built_in_plugins_are_none():
    pm = get_plugin_manager()[0]
    for name in BUILT_IN | set(CORE_PLUGINS):
        assert hook_problems(pm, pm.get_plugin(name)) == [], name


# --- the allow and deny lists; the core's own plugins -----------------------------------------


def test_allow_list(fake_plugins):
    plugins = load_plugins(allow=["good"])
    assert plugins.report.loaded == [*CORE_PLUGINS, "good"]
    assert set(plugins.report.skipped) >= {"broken", "dup", "te_office", "municipal"}
    assert set(plugins.adapters) == {"good", "hub"}


def test_the_core_plugins_load_whatever_the_lists_say(fake_plugins):
    for plugins in (load_plugins(allow=["good"]), load_plugins(deny=list(CORE_PLUGINS))):
        assert set(CORE_PLUGINS) <= set(plugins.report.loaded)
        assert plugins.report.core == list(CORE_PLUGINS)
        assert plugins.entities == ENTITIES and "hub" in plugins.adapters


def test_a_plugin_cannot_take_a_core_plugins_name(fake_plugins):
    plugins = load_plugins(allow=["good"])
    assert "canonical" in plugins.report.loaded and "canonical" not in plugins.report.failed
    why = plugins.report.failed["canonical (fake-plugins 1.0)"]
    assert why == (
        "the plugin name 'canonical' is used by integration-hub 0.1.0 and by fake-plugins 1.0, "
        "the hub's own: rename it"
    )
    assert plugins.manager.get_plugin("canonical").__name__ == "hub.model.plugin"


def test_a_plugin_asking_for_the_registries_while_loading_fails_alone(tmp_path, monkeypatch):
    (tmp_path / "greedy_plugin.py").write_text(
        "from hub.hookspecs import hookimpl\nfrom hub.plugins import adapter_registry\n\n"
        "@hookimpl\ndef hub_register_adapters():\n    return list(adapter_registry().values())\n"
    )
    dist = tmp_path / "greedy-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: greedy\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hub]\ngreedy = greedy_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HUB_PLUGINS_ALLOW", "greedy,te_office")
    monkeypatch.setattr(hub.plugins, "_loaded", None)  # as in a new process
    try:
        plugins = get_plugins()
    finally:
        sys.modules.pop("greedy_plugin", None)
    assert plugins.report.failed == {
        "greedy": "hub_register_adapters raised PluginError: the registries were asked for "
        "while the plugins are being loaded: a plugin may use them only later, when its "
        "adapter runs"
    }
    assert "te_office" in plugins.adapters
    assert get_plugins() is plugins


# --- what plugins register ------------------------------------------------------------------


def test_a_duplicate_system_id_refuses_both_naming_both(fake_plugins):
    plugins = load_plugins(allow=["dup", "te_office"])
    for name in ("dup", "te_office"):
        why = plugins.report.failed[name]
        assert "system id 'te_office' is registered twice" in why
        assert "plugin dup (Impostor)" in why and "plugin te_office (TeOfficeAdapter)" in why
    assert "te_office" not in plugins.adapters and "te_office" not in plugins.sandboxes
    assert "good" not in plugins.adapters  # not allowed: dup imports it, does not register it


def test_a_broken_adapter_skips_the_whole_plugin():
    plugins = load(
        broken="""
        from hub.adapter import Adapter, CheckResult, Stream
        from hub.hookspecs import hookimpl
        from hub.model import Client
        from hub.sandbox import Sandbox

        class Idle(Stream):
            name = "idle"
            entity = Client

        class Abstract(Adapter):
            system_id = "abstract"
            streams = (Idle,)

        class Nameless(Adapter):
            streams = (Idle,)
            def check(self):
                return CheckResult(True, "")

        @hookimpl
        def hub_register_adapters():
            return [Abstract, Nameless, "Adapter"]

        @hookimpl
        def hub_register_sandboxes():
            return [Sandbox("abstract", "Abstract", lambda seed, size: None, 1)]
        """,
        good=GOOD,
    )
    why = plugins.report.failed["broken"]
    assert "Abstract: does not implement check" in why
    assert "stream Idle (idle): implements neither read nor write" in why
    assert "Nameless: system_id must be an ASCII identifier" in why
    assert "'Adapter' is not a subclass of hub.adapter.Adapter" in why
    assert "abstract" not in plugins.adapters and "abstract" not in plugins.sandboxes
    assert "broken" not in plugins.report.loaded and not plugins.manager.has_plugin("broken")
    assert {"good", "hub"} == set(plugins.adapters)


def test_sandbox_registrations_are_checked():
    plugins = load(
        orphan="""
        from hub.hookspecs import hookimpl
        from hub.sandbox import Sandbox

        @hookimpl
        def hub_register_sandboxes():
            return [Sandbox("nowhere", "Nowhere", lambda seed, size: None, 1)]
        """,
        notsandbox="""
        from hub.hookspecs import hookimpl

        @hookimpl
        def hub_register_sandboxes():
            return [{"system_id": "good"}]
        """,
        good=GOOD,
    )
    failed = plugins.report.failed
    assert "is for system 'nowhere', which no installed adapter has" in failed["orphan"]
    assert "{'system_id': 'good'} is not a hub.sandbox.Sandbox" in failed["notsandbox"]
    assert set(plugins.sandboxes) == {"good"}


PLUGIN_ENTITY = """
from typing import ClassVar

from hub.adapter import Adapter, CheckResult, Stream
from hub.hookspecs import hookimpl
from hub.model import CanonicalEntity

class Voucher(CanonicalEntity):
    entity_name: ClassVar[str] = "Voucher"
    code: str

class Vouchers(Stream):
    name = "vouchers"
    entity = Voucher

    def write(self, items):
        return []

    def to_native(self, record):
        return dict(record)

class VoucherAdapter(Adapter):
    system_id = "vouchers"
    streams = (Vouchers,)

    def check(self):
        return CheckResult(True, "")

@hookimpl
def hub_register_entities():
    return [Voucher]

@hookimpl
def hub_register_adapters():
    return [VoucherAdapter] if REGISTER_ADAPTER else []
"""


def test_plugins_register_entities():
    plugins = load(vouchers="REGISTER_ADAPTER = True\n" + PLUGIN_ENTITY)
    assert not plugins.report.failed
    assert set(plugins.entities) == set(ENTITIES) | {"Voucher"}
    assert plugins.owners[("entity", "Voucher")] == "vouchers"
    assert "vouchers" in plugins.adapters


def test_a_stream_of_an_entity_nobody_registers_is_refused():
    adapter_only = PLUGIN_ENTITY.replace("return [Voucher]", "return []")
    plugins = load(vouchers="REGISTER_ADAPTER = True\n" + adapter_only)
    why = plugins.report.failed["vouchers"]
    assert "stream vouchers carries vouchers.Voucher, which no plugin registers" in why
    assert "vouchers" not in plugins.adapters


def test_refusing_a_plugin_refuses_the_plugins_that_build_on_it():
    provider = (
        "REGISTER_ADAPTER = False\n"
        + PLUGIN_ENTITY
        + ("\n@hookimpl\ndef hub_register_sandboxes():\n    return [42]\n")
    )
    user = """
    from hub.adapter import Adapter, CheckResult
    from hub.hookspecs import hookimpl
    from provider import Vouchers

    class Other(Adapter):
        system_id = "other"
        streams = (Vouchers,)

        def check(self):
            return CheckResult(True, "")

    @hookimpl
    def hub_register_adapters():
        return [Other]
    """
    sys.modules["provider"] = plugin(provider, "provider")
    try:
        plugins = load_plugins(
            allow=(), extra_plugins={"provider": sys.modules["provider"], "user": plugin(user)}
        )
    finally:
        del sys.modules["provider"]
    assert "42 is not a hub.sandbox.Sandbox" in plugins.report.failed["provider"]
    assert "which no plugin registers" in plugins.report.failed["user"]
    assert "Voucher" not in plugins.entities and "other" not in plugins.adapters


def test_entities_are_checked():
    plugins = load(
        bad="""
        from typing import ClassVar

        from hub.hookspecs import hookimpl
        from hub.model import CanonicalEntity

        class Opaque:
            pass

        class NoSchema(CanonicalEntity):
            model_config = {"arbitrary_types_allowed": True}
            entity_name: ClassVar[str] = "NoSchema"
            thing: Opaque

        class BadName(CanonicalEntity):
            entity_name: ClassVar[str] = "bad name"

        class NoSubject(CanonicalEntity):
            entity_name: ClassVar[str] = "NoSubject"
            subject_field: ClassVar[str] = "hetu"

        @hookimpl
        def hub_register_entities():
            return [NoSchema, BadName, NoSubject, dict]
        """
    )
    why = plugins.report.failed["bad"]
    assert "NoSchema: its JSON Schema cannot be generated" in why
    assert "BadName: entity_name must be an ASCII identifier, not 'bad name'" in why
    assert "NoSubject: subject_field 'hetu' is not one of its fields" in why
    assert "<class 'dict'> is not a subclass of hub.model.CanonicalEntity" in why
    assert plugins.entities == ENTITIES


def test_the_core_entities_cannot_be_taken():
    plugins = load(
        client="""
        from typing import ClassVar

        from hub.hookspecs import hookimpl
        from hub.model import CanonicalEntity

        class Client(CanonicalEntity):
            entity_name: ClassVar[str] = "Client"

        @hookimpl
        def hub_register_entities():
            return [Client]
        """
    )
    assert "entity 'Client' is the hub's own (plugin canonical" in plugins.report.failed["client"]
    assert plugins.entities["Client"] is ENTITIES["Client"]


# --- describing what is installed ------------------------------------------------------------


def test_describe_adapters():
    listing = describe_adapters()
    te_office = next(a for a in listing.adapters if a.system == "te_office")
    assert te_office.plugin == "te_office" and te_office.sandbox and not te_office.core
    assert te_office.distribution.startswith("hub-te-office ")
    streams = {s.name: s for s in te_office.streams}
    assert streams["clients"].modes == "r" and streams["clients"].entity == "Client"
    assert streams["period_notifications"].modes == "w"
    assert streams["period_notifications"].carries  # a notification carries a few fields
    hub_end = next(a for a in listing.adapters if a.system == "hub")
    assert hub_end.core and not hub_end.connects and not hub_end.sandbox
    assert listing.entities["Client"] == "canonical"
    row = next(r for r in listing.rows() if r["system"] == "te_office")
    assert "clients(r): Client" in row["streams"] and row["sandbox"] == "yes"
    data = json.loads(json.dumps(listing.to_json()))
    assert data["plugins"]["failed"] == {} and "te_office" in data["plugins"]["loaded"]


def test_describe_adapters_lists_the_failed_plugins():
    listing = describe_adapters(load(empty="x = 1", good=GOOD))
    assert "implements no hook" in listing.failed["empty"]
    good = next(a for a in listing.adapters if a.system == "good")
    assert good.plugin == "good" and good.distribution is None and good.sandbox


# --- every hook documented --------------------------------------------------------------------

HOOKS = sorted(
    name
    for name in dir(hookspecs)
    if name.startswith("hub_") and hasattr(getattr(hookspecs, name), "hub_spec")
)


def test_every_hookspec_is_documented():
    assert HOOKS == ["hub_register_adapters", "hub_register_entities", "hub_register_sandboxes"]
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert len(doc.split()) > 40, f"{name} has no full docstring"
        assert f"``{name}``" in hookspecs.__doc__, f"the module docstring does not list {name}"


def test_the_hook_reference_documents_every_hook_and_no_other():
    text = (PROJECT_ROOT / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")
    headings = [line[4:].strip() for line in text.splitlines() if line.startswith("### ")]
    assert sorted(headings) == HOOKS
    for name in HOOKS:
        section = text.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert f"def {name}()" in section, f"docs/plugin-hooks.md: {name} has no signature"


def test_the_built_in_plugins_implement_only_known_hooks():
    pm = get_plugin_manager()[0]
    implemented = set()
    for name in BUILT_IN | set(CORE_PLUGINS):
        module = pm.get_plugin(name)
        for attr in dir(module):
            if pm.parse_hookimpl_opts(module, attr) is not None:
                implemented.add(attr)
    assert implemented and implemented <= set(HOOKS)
