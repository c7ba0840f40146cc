"""The hub as users install it: every distribution built as a wheel, installed into a fresh
environment away from the checkout, and run from there against the sandboxes.

The hub's files (schemas, XSDs, default configuration) are package data, found through
``importlib.resources`` (:mod:`hub.resources`); nothing is found through the checkout. The
slow test proves it end to end: it builds the five wheels with ``uv build``, checks that each
carries its package's files, installs them with ``uv pip install`` into a new virtual
environment (dependency versions pinned to ``uv.lock``, so the uv cache serves them), and,
in a temporary working directory with only ``HUB_HOME`` and ``HUB_MASTER_KEY`` set, runs
``hub exchanges validate``, serves the sandboxes with ``hub sandbox serve`` and runs inbound
exchanges with ``hub exchanges run``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from hub.errors import ConfigError
from hub.resources import PackagedFile

ROOT = Path(__file__).resolve().parents[1]
#: distribution -> (its source folder, its package)
DISTRIBUTIONS = {
    "integration-hub": (ROOT, "hub"),
    "hub-te-office": (ROOT / "plugins" / "te_office", "hub_te_office"),
    "hub-municipal": (ROOT / "plugins" / "municipal", "hub_municipal"),
    "hub-kela": (ROOT / "plugins" / "kela", "hub_kela"),
    "hub-innokyla": (ROOT / "plugins" / "innokyla", "hub_innokyla"),
}
#: files every wheel must carry (besides every file of its package folder)
REQUIRED = {
    "integration-hub": [
        "hub/schemas/exchanges.schema.json",
        "hub/schemas/canonical/Client.schema.json",
        "hub/config/exchanges.yaml",
        "hub/config/rules.yaml",
    ],
    "hub-municipal": [
        "hub_municipal/schemas/export.xsd",
        "hub_municipal/schemas/import.xsd",
        "hub_municipal/schemas/records.xsd",
    ],
    "hub-kela": [
        "hub_kela/schemas/kunta.xsd",
        "hub_kela/schemas/x-road/xroad.xsd",
        "hub_kela/schemas/x-road/identifiers.xsd",
    ],
    "hub-innokyla": [
        "hub_innokyla/schemas/indicator.schema.json",
        "hub_innokyla/schemas/practice-model.schema.json",
    ],
}
#: exchanges run from the installed hub: two kept in the hub (the county case system's export
#: against export.xsd; Innokylä's JSON), and Kela's SOAP answers (X-Road XSDs, kunta.xsd)
#: delivered into a municipality's import (import.xsd): every packaged schema is used
INBOUND = ("county_to_hub", "innokyla_to_hub")
DELIVERED = ("kela_to_seinajoki",)
#: the systems of the shipped configuration, each served by a sandbox of the installed plugins
SANDBOXES = (
    "county_case_system",
    "employment_authority",
    "innokyla",
    "kela_county",
    "kela_lapua",
    "kela_seinajoki",
    "lapua",
    "seinajoki",
)
#: how ``hub sandbox serve`` says where a system listens
_LISTENING = re.compile(r"\(export (HUB_SYSTEM_[A-Z_]+_URL)=(\S+)\)")
TIMEOUT = 300  # seconds, for one command


# --- without building: the sources -----------------------------------------------------------


def _modules() -> list[Path]:
    found = [*ROOT.joinpath("hub").rglob("*.py"), *ROOT.joinpath("dags").glob("*.py")]
    for _, (source, package) in DISTRIBUTIONS.items():
        if source != ROOT:
            found += source.joinpath(package).rglob("*.py")
    return sorted(found)


def test_no_module_finds_files_through_the_checkout():
    """PROJECT_ROOT (the folder above the ``hub`` package) is defined for the test suite; no
    module of a distribution, nor a DAG file, uses it to find a file."""
    users = [
        str(path.relative_to(ROOT))
        for path in _modules()
        if "PROJECT_ROOT" in path.read_text(encoding="utf-8")
    ]
    assert users == ["hub/settings.py"], users  # its definition, and no use
    settings = ROOT.joinpath("hub", "settings.py").read_text(encoding="utf-8")
    assert settings.count("PROJECT_ROOT") == 1, "hub/settings.py uses PROJECT_ROOT"


def test_the_repository_dag_folder_imports_the_packaged_dags():
    """``dags/`` holds exactly the DAG files :func:`hub.airflow.write_dag_folder` writes."""
    from hub.airflow import DAG_FILES

    assert sorted(p.name for p in ROOT.joinpath("dags").glob("*.py")) == sorted(DAG_FILES)
    for name, text in DAG_FILES.items():
        assert ROOT.joinpath("dags", name).read_text(encoding="utf-8") == text, name


def test_packaged_files_load_and_a_missing_one_is_a_config_error():
    from hub.exchanges import SCHEMA_FILE
    from hub.settings import DEFAULT_EXCHANGES, DEFAULT_RULES, Settings

    assert SCHEMA_FILE.read_json()["$id"] == "urn:fi:hub:schema:exchanges:1"
    settings = Settings.from_env() if "HUB_EXCHANGES" not in os.environ else None
    if settings is not None:
        assert settings.exchanges_file == DEFAULT_EXCHANGES.path()
    assert DEFAULT_RULES.path().is_file() and DEFAULT_EXCHANGES.exists()
    xroad = PackagedFile("hub_kela", "schemas", "x-road", "xroad.xsd")
    assert (xroad.path().parent / "identifiers.xsd").is_file()  # its import, beside it

    missing = PackagedFile("hub_municipal", "schemas", "missing.xsd")
    assert not missing.exists()
    for use in (missing.path, missing.read_bytes, missing.read_json, lambda: str(missing)):
        with pytest.raises(ConfigError) as caught:
            use()
        message = str(caught.value)
        assert "hub_municipal" in message and "schemas/missing.xsd" in message
        assert "reinstall hub-municipal" in message
    with pytest.raises(ConfigError, match="hub_nowhere is not installed"):
        PackagedFile("hub_nowhere", "schemas", "a.xsd").read_text()


def test_a_package_imported_from_a_zip_gives_its_files_with_their_neighbours(tmp_path, monkeypatch):
    """A zipped package's file is copied out with its folder, so an XSD's include of the
    file beside it resolves."""
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hub_zipped/__init__.py", "")
        z.writestr("hub_zipped/schemas/main.xsd", "<main/>")
        z.writestr("hub_zipped/schemas/part.xsd", "<part/>")
        z.writestr("hub_zipped/schemas/deeper/more.xsd", "<more/>")
    monkeypatch.syspath_prepend(str(archive))
    monkeypatch.delitem(sys.modules, "hub_zipped", raising=False)

    main = PackagedFile("hub_zipped", "schemas", "main.xsd")
    path = main.path()
    assert not str(path).startswith(str(archive)) and path.read_text() == "<main/>"
    assert (path.parent / "part.xsd").read_text() == "<part/>"
    assert (path.parent / "deeper" / "more.xsd").read_text() == "<more/>"
    assert PackagedFile("hub_zipped", "schemas", "part.xsd").path().parent == path.parent
    assert main.read_bytes() == b"<main/>" and os.fspath(main) == str(path)
    with pytest.raises(ConfigError, match="schemas/gone.xsd is missing"):
        PackagedFile("hub_zipped", "schemas", "gone.xsd").path()


# --- built and installed ----------------------------------------------------------------------


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    try:
        import uv  # noqa: F401  (the uv package, as `make install` may have put it)
    except ImportError:
        pytest.fail("uv is needed to build and install the wheels (make install gets it)")
    return [sys.executable, "-m", "uv"]


def _tool_env() -> dict[str, str]:
    """The environment for uv: this one without what points at the checkout's venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "PYTHON"))}
    for name in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "CONDA_PREFIX"):
        env.pop(name, None)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def _run(args, *, cwd: Path, env: dict[str, str], check: bool = True, timeout=TIMEOUT):
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited with {done.returncode}\n"
            f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
        )
    return done


def _package_files(source: Path, package: str) -> set[str]:
    """The files of ``package`` in ``source`` that the build takes (git does not ignore
    them), as paths in a wheel."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", package],
            cwd=source,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = [name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        names = [
            path.relative_to(source).as_posix()
            for path in source.joinpath(package).rglob("*")
            if "__pycache__" not in path.parts and path.suffix != ".pyc"
        ]
    return {name for name in names if source.joinpath(name).is_file()}


def _wait_for_sandboxes(server: subprocess.Popen, log: Path, deadline: float) -> dict[str, str]:
    """Until the sandbox of every system answers on its control API (the server must keep
    running); the ``HUB_SYSTEM_<NAME>_URL`` settings that point the hub at them, as the
    command prints."""
    waiting, urls = set(SANDBOXES), {}
    while waiting:
        if server.poll() is not None:
            pytest.fail(f"hub sandbox serve exited with {server.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"sandboxes {sorted(waiting)} did not answer:\n{log.read_text()}")
        urls = dict(_LISTENING.findall(log.read_text()))
        for system in list(waiting):
            url = urls.get(f"HUB_SYSTEM_{system.upper()}_URL")
            if url is None:
                continue
            root = "/".join(url.split("/")[:3])  # the control API is at the server's root
            try:
                if httpx.get(f"{root}/_sandbox/received", timeout=2, trust_env=False).is_success:
                    waiting.discard(system)
            except httpx.TransportError:
                pass
        time.sleep(0.3)
    return urls


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)  # the command's own way to stop: Ctrl-C
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)


def _summary(done: subprocess.CompletedProcess) -> dict:
    rows = json.loads(done.stdout)
    assert len(rows) == 1, done.stdout
    return rows[0]


@pytest.mark.slow
def test_installed_wheels_run_an_exchange_away_from_the_checkout(tmp_path):
    timings: dict[str, float] = {}
    started = time.monotonic()
    uv, tools = _uv(), _tool_env()

    # 1. build every distribution as a wheel
    wheel_dir = tmp_path / "wheels"
    wheels: dict[str, Path] = {}
    package_files: dict[str, set[str]] = {}
    for dist, (source, package) in DISTRIBUTIONS.items():
        package_files[dist] = _package_files(source, package)  # as the build finds them
        _run([*uv, "build", "--wheel", "--out-dir", wheel_dir, source], cwd=tmp_path, env=tools)
        prefix = dist.replace("-", "_") + "-"
        (wheels[dist],) = [w for w in wheel_dir.glob("*.whl") if w.name.startswith(prefix)]
    timings["build"] = time.monotonic() - started

    # 2. each wheel carries its package's files: every file of the package folder (code,
    # schemas, XSDs, configuration, templates), and the ones named above for certain
    for dist, (_, package) in DISTRIBUTIONS.items():
        names = set(zipfile.ZipFile(wheels[dist]).namelist())
        lacking = package_files[dist] - names
        assert not lacking, f"{wheels[dist].name} lacks files of {package}/"
        assert set(REQUIRED.get(dist, ())) <= names, wheels[dist].name
        if dist in REQUIRED:
            assert any(n.endswith((".xsd", ".schema.json")) for n in names), wheels[dist].name

    # 3. a fresh environment away from the checkout, the wheels installed into it with the
    # dependency versions of uv.lock
    mark = time.monotonic()
    venv = tmp_path / "venv"
    _run([*uv, "venv", "--python", "3.11", venv], cwd=tmp_path, env=tools)
    python = venv / "bin" / "python"
    constraints = tmp_path / "constraints.txt"
    _run(
        [
            *uv,
            "export",
            "--frozen",
            "--all-packages",
            "--no-default-groups",
            "--no-hashes",
            "--no-emit-workspace",
            "--no-header",
            "--output-file",
            constraints,
        ],
        cwd=ROOT,
        env=tools,
    )
    _run(
        [*uv, "pip", "install", "--python", python, "-c", constraints, *wheels.values()],
        cwd=tmp_path,
        env=tools,
    )
    timings["install"] = time.monotonic() - mark

    # 4. the user's shell: the environment activated, a data folder and a master key
    work = tmp_path / "work"
    work.mkdir()
    user = {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "VIRTUAL_ENV": str(venv),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmp_path),
    }
    where = _run(
        [python, "-c", "import hub, hub_kela, hub_municipal; print(hub.__file__)"],
        cwd=work,
        env=user,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    key = _run(["hub", "keys", "generate"], cwd=work, env=user).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_=-]{40,}", key), "hub keys generate printed no key"
    user |= {"HUB_HOME": str(work / "data"), "HUB_MASTER_KEY": key}

    # 5. the packaged exchanges file, validated against the packaged schema and the plugins
    done = _run(["hub", "exchanges", "validate"], cwd=work, env=user)
    assert "valid" in done.stdout and str(venv) in done.stdout, done.stdout
    # developer tooling that writes into a checkout's source tree refuses, changing nothing
    canonical = next(venv.glob("lib/python*/site-packages/hub/schemas/canonical"))
    before = {p.name: p.stat().st_mtime_ns for p in canonical.iterdir()}
    done = _run(["hub", "schemas", "export"], cwd=work, env=user, check=False)
    assert done.returncode == 2 and "not run from a checkout" in done.stderr, done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in canonical.iterdir()} == before

    # 6. the sandboxes served by the installed hub, and exchanges run against them
    mark = time.monotonic()
    log = tmp_path / "sandboxes.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            ["hub", "sandbox", "serve", "--port", "0"],  # any free ports: nothing to collide with
            cwd=work,
            env=user,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        user |= _wait_for_sandboxes(server, log, time.monotonic() + 120)
        # the first step of an installation: the store's schema
        done = _run(["hub", "db", "upgrade"], cwd=work, env=user, check=False)
        assert done.returncode == 0, f"hub db upgrade:\n{done.stdout}\n{done.stderr}"
        for name in (*INBOUND, *DELIVERED):
            command = ["hub", "exchanges", "run", name, "--json"]
            done = _run(command, cwd=work, env=user, check=False)
            assert done.returncode == 0, f"{name}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            summary = _summary(done)
            assert summary["state"] == "success", summary
            assert summary["read"] > 0 and summary["upserted"] > 0, summary
            assert summary["failed"] == 0, summary
            if name in DELIVERED:
                assert summary["delivered"] > 0, summary
    finally:
        _stop(server)
    timings["exchanges"] = time.monotonic() - mark

    # 7. the records are in the store the installed hub made in HUB_HOME
    store = work / "data" / "hub.db"
    with sqlite3.connect(store) as db:
        stored = dict(db.execute("SELECT entity, count(*) FROM records GROUP BY entity"))
    assert stored.get("Assessment", 0) > 0 and stored.get("PracticeModel", 0) > 0, stored
    assert stored.get("BillingLine", 0) > 0, stored
    timings["total"] = time.monotonic() - started
    print("timings (s):", {k: round(v, 1) for k, v in timings.items()})
