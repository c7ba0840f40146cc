"""The architecture as the README describes it, kept true by tests: modules small, no import
cycle, no special case for the hub's own ends in the engine, no dispatch on stream names in
the adapters, Airflow only in the thin layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [ROOT / "hub", *sorted((ROOT / "plugins").glob("*/hub_*"))]
SOURCES = sorted(p for pkg in PACKAGES for p in pkg.rglob("*.py") if "migrations" not in p.parts)
#: the most lines a module may have ("modules small, named for what they do")
MAX_LINES = 400


def module_name(path: Path) -> str:
    base = (
        ROOT
        if path.is_relative_to(ROOT / "hub")
        else path.parents[
            len(path.relative_to(next(pkg for pkg in PACKAGES if path.is_relative_to(pkg))).parts)
        ]
    )
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported: module-level imports, not those under
    ``if TYPE_CHECKING:`` or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{a.name}" for a in node.names)
    return found


def test_no_module_is_over_the_size_limit():
    long = {
        str(p.relative_to(ROOT)): n
        for p in SOURCES
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_import_cycle():
    modules = {module_name(p): p for p in SOURCES}
    graph = {
        name: {m for m in top_level_imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    # a package imports its __init__ first: importing a.b imports a
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("path", sorted((ROOT / "hub" / "engine").glob("*.py")), ids=str)
def test_the_engine_has_no_branch_for_the_hubs_own_ends(path):
    """The hub's ends are a plugin (hub.ends): the engine treats them as any adapter."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            about_an_end = any(
                word in ast.unparse(side)
                for side in sides
                for word in ("source", "target", "system")
            )
            named_hub = any(isinstance(s, ast.Constant) and s.value == "hub" for s in sides)
            assert not (about_an_end and named_hub), (
                f"{path.name}:{node.lineno} compares an end with the system id 'hub'"
            )
        if isinstance(node, ast.ImportFrom) and node.module == "hub.ends":
            raise AssertionError(f"{path.name}:{node.lineno} imports the hub's ends")


def _stream_methods(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in (
            "read",
            "to_canonical",
            "to_native",
            "write",
        ):
            yield node


@pytest.mark.parametrize(
    "path", [p for p in SOURCES if "plugins" in p.parts or "ends" in p.parts], ids=str
)
def test_adapters_do_not_dispatch_on_stream_names(path):
    """Each stream is its own object: no method takes a stream name to route on."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for fn in _stream_methods(tree):
        names = [a.arg for a in fn.args.args]
        assert "stream" not in names, f"{path.name}:{fn.lineno} {fn.name}() takes a stream name"


def test_only_the_airflow_layer_imports_airflow():
    allowed = {"hub.web.airflow_plugin", "hub.ops.notifiers"}  # Airflow's plugin and notifier
    offenders = [
        module_name(p)
        for p in SOURCES
        if module_name(p) not in allowed
        and not module_name(p).startswith("hub.airflow")  # the DAGs the package carries
        and any(m == "airflow" or m.startswith("airflow.") for m in top_level_imports(p))
    ]
    assert not offenders, f"modules importing Airflow outside the thin layer: {offenders}"
