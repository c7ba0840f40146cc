"""``hub adapters new``: the scaffold renders a distribution that installs as a third-party
adapter and passes the conformance kit untouched; ``make install`` keeps such adapters."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hub.plugins import load_plugins
from hub.scaffold import Names, ScaffoldError, name_problem, render, scaffold
from hub.testing.conformance import AdapterConformance

#: the checkout's root (the Makefile, pyproject.toml, docs/)
PROJECT_ROOT = Path(__file__).resolve().parents[1]

NAME = "acme_crm"


@pytest.mark.parametrize("name", ["acme", "acme_crm", "x9", "kela2_test"])
def test_usable_names(name):
    assert name_problem(name) is None
    names = Names.of(name)
    assert names.package == f"hub_{name}" and names.distribution.startswith("hub-")
    assert names.package.isidentifier() and 8710 <= names.port < 8800


@pytest.mark.parametrize(
    "name",
    ["", "Acme", "acme-crm", "1acme", "acme__crm", "acme_", "_acme", "hub", "a" * 41, "äkäs"],
)
def test_unusable_names_are_refused(name, tmp_path):
    assert name_problem(name)
    with pytest.raises(ScaffoldError):
        scaffold(name, tmp_path)
    assert not any(tmp_path.iterdir())


def test_an_existing_target_is_never_overwritten(tmp_path):
    target = scaffold(NAME, tmp_path)
    (target / "README.md").write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold(NAME, tmp_path)
    assert (target / "README.md").read_text() == "mine"


def test_the_rendered_distribution_is_whole():
    files = {str(path): text for path, text in render(Names.of(NAME)).items()}
    assert {
        "pyproject.toml",
        "README.md",
        "hub_acme_crm/__init__.py",
        "hub_acme_crm/plugin.py",
        "hub_acme_crm/adapter.py",
        "hub_acme_crm/mapping.py",
        "hub_acme_crm/sandbox.py",
        "hub_acme_crm/data.py",
        "tests/test_conformance.py",
        "tests/test_mapping.py",
    } == set(files)
    for path, text in files.items():
        assert "${" not in text, path
        if path.endswith(".py"):
            compile(text, path, "exec")
    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["name"] == "hub-acme-crm"
    assert project["project"]["entry-points"]["hub"] == {NAME: "hub_acme_crm.plugin"}
    assert "class TestAcmeCrmConformance(AdapterConformance)" in files["tests/test_conformance.py"]


def test_the_generated_code_is_lint_clean(tmp_path):
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    target = scaffold(NAME, tmp_path)
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        done = subprocess.run([ruff, *args], cwd=target, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_generated_plugin_registers_cleanly(tmp_path, monkeypatch):
    target = scaffold(NAME, tmp_path)
    monkeypatch.syspath_prepend(str(target))
    try:
        plugin = importlib.import_module("hub_acme_crm.plugin")
        plugins = load_plugins(allow=(), extra_plugins={NAME: plugin})
    finally:
        for module in [m for m in sys.modules if m.split(".")[0] == "hub_acme_crm"]:
            del sys.modules[module]
    assert not plugins.report.failed
    adapter = plugins.adapters[NAME]
    assert {s.name: (s.readable, s.writable) for s in adapter.streams} == {
        "clients": (True, False),
        "episodes": (False, True),
    }
    assert plugins.sandboxes[NAME].adapter_options == {"api_token": "sandbox-token"}


def _clean_env() -> dict[str, str]:
    drop = {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH", "PYTEST_ADDOPTS"}
    return {
        k: v for k, v in os.environ.items() if k not in drop and not k.startswith("HUB_PLUGINS_")
    }


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, env=_clean_env(), **kwargs)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_a_scaffolded_adapter_installs_and_passes_the_conformance_kit(tmp_path):
    """As a third party would: a fresh virtual environment with the hub (from this checkout,
    at the locked versions) and the scaffolded distribution installed the way ``make
    install`` installs adapters; the generated tests run there untouched, and pytest finds
    the hub's fixtures by the entry point alone."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    target = scaffold(NAME, tmp_path / "local-adapters")
    venv, locked = tmp_path / "venv", tmp_path / "locked.txt"
    python = str(venv / "bin" / "python")
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    _run(
        [uv, "export", "--frozen", "--no-hashes", "--no-emit-workspace", "--quiet"]
        + ["--format", "requirements.txt", "-o", str(locked)],
        cwd=PROJECT_ROOT,
    )
    _run(
        [uv, "pip", "install", "--quiet", "--python", python, "--constraint", str(locked)]
        + ["-e", str(PROJECT_ROOT), "-e", str(target), "pytest", "pytest-timeout"]
    )
    tests = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=target)
    summary = tests.stdout.strip().splitlines()[-1]
    kit = [name for name in dir(AdapterConformance) if name.startswith("test_")]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= len(kit) + 1, summary
    assert not re.search(r"failed|error|skipped", summary), summary
    listing = _run(
        [
            python,
            "-c",
            "import json; from hub.catalogue import describe_adapters as d; "
            "print(json.dumps(d().to_json()))",
        ],
        cwd=tmp_path,
    )
    installed = json.loads(listing.stdout)
    assert installed["plugins"]["failed"] == {}
    acme = next(a for a in installed["adapters"] if a["system"] == NAME)
    assert acme["plugin"] == NAME and acme["distribution"] == "hub-acme-crm 0.1.0"
    assert acme["sandbox"] is True


FAKE_UV = """#!/bin/sh
echo "$*" >> "$FAKE_UV_LOG"
if [ "$1" = export ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = -o ]; then echo "httpx==0.28.1" > "$2"; echo "$2" >> "$FAKE_UV_LOG.files"; fi
    shift
  done
fi
"""


def _make_install(folder, fake_uv, log) -> list[str]:
    env = {**_clean_env(), "FAKE_UV_LOG": str(log)}
    subprocess.run(
        ["make", "-s", "-f", str(PROJECT_ROOT / "Makefile"), "install", f"UV={fake_uv}"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    return log.read_text().splitlines()


@pytest.fixture
def fake_uv(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    path = tmp_path / "uv"
    path.write_text(FAKE_UV)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_make_install_installs_the_listed_adapters_against_the_lock(tmp_path, fake_uv):
    folder = tmp_path / "checkout"
    (folder / "local-adapters" / "hub-acme-crm").mkdir(parents=True)
    (folder / "local-adapters" / "hub-acme-crm" / "pyproject.toml").write_text("[project]\n")
    (folder / "local-adapters" / "notes").mkdir()  # not a distribution: left alone
    (folder / "adapters.txt").write_text("hub-other==1.0\n")
    log = tmp_path / "uv.log"
    calls = _make_install(folder, fake_uv, log)
    constraints = (tmp_path / "uv.log.files").read_text().strip()
    assert calls == [
        "--version",
        "sync --locked --inexact",
        "export --frozen --no-hashes --no-emit-workspace --format requirements.txt --quiet "
        f"-o {constraints}",
        f"pip install --python .venv/bin/python --constraint {constraints} -r adapters.txt "
        "-e local-adapters/hub-acme-crm",
    ]
    assert not os.path.exists(constraints)  # a temporary file, removed


def test_make_install_without_adapters_only_syncs(tmp_path, fake_uv):
    folder = tmp_path / "checkout"
    folder.mkdir()
    calls = _make_install(folder, fake_uv, tmp_path / "uv.log")
    assert calls == ["--version", "sync --locked --inexact"]
