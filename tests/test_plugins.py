"""Plugins: loaded from entry points once, allow/deny lists, broken and duplicate plugins."""

import sys
import textwrap

import pytest

from hub.errors import PluginError
from hub.plugins import adapter_registry, build_plugin_manager, collect_adapters


@pytest.fixture
def fake_plugins(tmp_path, monkeypatch):
    """Install three plugin distributions on sys.path: a good one, a broken one and one that
    registers a system id that the built-in te_office plugin already has."""
    (tmp_path / "good_plugin.py").write_text(
        textwrap.dedent("""
        from hub.adapter import Adapter, CheckResult
        from hub.hookspecs import hookimpl
        from hub.model import Client
        from hub.adapter import StreamSpec

        class GoodAdapter(Adapter):
            system_id = "good"
            streams = {"people": StreamSpec(Client)}
            def check(self):
                return CheckResult(True, "fine")

        @hookimpl
        def hub_register_adapters():
            return [GoodAdapter]
    """)
    )
    (tmp_path / "broken_plugin.py").write_text("import does_not_exist_anywhere\n")
    (tmp_path / "dup_plugin.py").write_text(
        textwrap.dedent("""
        from hub.adapter import Adapter, CheckResult
        from hub.hookspecs import hookimpl

        class Impostor(Adapter):
            system_id = "te_office"
            streams = {}
            def check(self):
                return CheckResult(True, "")

        @hookimpl
        def hub_register_adapters():
            return [Impostor]
    """)
    )
    dist = tmp_path / "fake_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[hub]\ngood = good_plugin\nbroken = broken_plugin\ndup = dup_plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("good_plugin", "broken_plugin", "dup_plugin"):
        sys.modules.pop(name, None)


def test_builtin_adapters_are_registered_through_entry_points():
    registry = adapter_registry()
    assert {"te_office", "municipal"} <= set(registry)


def test_broken_plugin_is_reported_by_name_and_others_load(fake_plugins):
    pm, report = build_plugin_manager(deny=["dup"])
    assert "broken" in report.failed and "does_not_exist_anywhere" in report.failed["broken"]
    assert "good" in report.loaded and "te_office" in report.loaded
    assert "good" in collect_adapters(pm)


def test_duplicate_system_id_is_an_error_naming_both(fake_plugins):
    pm, _ = build_plugin_manager(deny=["broken"])
    with pytest.raises(PluginError, match=r"'te_office' is registered twice") as info:
        collect_adapters(pm)
    assert "plugin dup (Impostor)" in str(info.value)
    assert "plugin te_office (TeOfficeAdapter)" in str(info.value)


def test_allow_list(fake_plugins):
    pm, report = build_plugin_manager(allow=["good"])
    assert report.loaded == ["good"]
    assert set(report.skipped) >= {"broken", "dup", "te_office", "municipal"}
    assert list(collect_adapters(pm)) == ["good"]


def test_plugin_manager_is_built_once():
    from hub.plugins import get_plugin_manager

    assert get_plugin_manager() is get_plugin_manager()
