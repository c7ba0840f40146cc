"""A new adapter distribution, ready to fill in: what ``hub adapters new NAME`` writes.

:func:`scaffold` renders the templates carried in this package (``template/``, read with
:mod:`importlib.resources`, so they travel inside the wheel) into ``DEST/hub-NAME/``:

- ``pyproject.toml`` with the entry point ``NAME = "hub_NAME.plugin"`` in the ``hub`` group;
- ``hub_NAME/plugin.py`` registering the adapter and its sandbox;
- ``hub_NAME/adapter.py``: the connection (:class:`hub.http.HttpService`, an API token) and
  two streams in the :class:`hub.adapter.Stream` contract — ``clients`` read page by page
  after a ``(modified, id)`` cursor (:class:`hub.paging.keyset.KeysetStream`, which pages
  with :class:`~hub.paging.keyset.KeysetPaginator`) and ``episodes`` written in batches with
  idempotency keys (:class:`hub.writing.BatchOutcomes`);
- ``hub_NAME/mapping.py``: every name of the (invented) protocol and the translations to and
  from the canonical model;
- ``hub_NAME/sandbox.py`` and ``hub_NAME/data.py``: a sandbox of the protocol
  (:class:`hub.sandbox.Sandbox`, faults, ``/_sandbox`` control API) seeded with synthetic
  people whose identity codes are from the temporary range 900–999 (:mod:`hub.synthetic`);
- ``tests/``: the conformance kit (:class:`hub.testing.conformance.AdapterConformance`),
  which passes as generated, and unit tests of the mapping.

Templates are :class:`string.Template` s (``${package}``…); a file's path under
``template/`` is its path in the distribution, ``package`` standing for the package's name
and ``.tmpl`` dropped.
"""

from __future__ import annotations

import re
import string
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from hub.errors import HubError

#: a system id: lower-case words of letters and digits joined by single underscores
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
MAX_NAME = 40
#: system ids the core itself uses
RESERVED = frozenset({"hub"})
#: the ports ``hub sandbox serve`` gives generated sandboxes (the built-in ones use 8701-8704)
PORTS = range(8710, 8800)
SUFFIX = ".tmpl"


class ScaffoldError(HubError):
    """The adapter cannot be scaffolded: the name is not usable, or the target exists."""


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a new adapter (None: it can). It becomes the system id
    (``HUB_SYSTEM_<NAME>_URL``), the package ``hub_<name>`` and the distribution
    ``hub-<name>``, so it is lower-case letters, digits and single underscores, starting
    with a letter."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        return (
            f"{name!r} is not a usable adapter name: use lower-case letters, digits and single "
            "underscores, starting with a letter (e.g. acme_crm)"
        )
    if len(name) > MAX_NAME:
        return f"{name!r} is longer than {MAX_NAME} characters"
    if name in RESERVED:
        return f"{name!r} is the system id of the hub's own end"
    return None


@dataclass(frozen=True)
class Names:
    """The names a new adapter is known by, for the templates."""

    system: str
    package: str
    distribution: str
    title: str
    classname: str
    #: the name in upper case, for environment variables
    constant: str
    port: int

    @classmethod
    def of(cls, name: str) -> Names:
        problem = name_problem(name)
        if problem:
            raise ScaffoldError(problem)
        words = name.split("_")
        return cls(
            system=name,
            package=f"hub_{name}",
            distribution=f"hub-{name.replace('_', '-')}",
            title=" ".join(w.capitalize() for w in words),
            classname="".join(w.capitalize() for w in words),
            constant=name.upper(),
            port=PORTS[zlib.crc32(name.encode()) % len(PORTS)],
        )


def _templates(folder: Traversable, parts: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _templates(entry, (*parts, entry.name))
        elif entry.name.endswith(SUFFIX):
            yield (*parts, entry.name)


def template_root() -> Traversable:
    return resources.files(__name__) / "template"


def render(names: Names) -> dict[Path, str]:
    """Every file of the distribution for ``names``: path relative to it -> text."""
    values = {k: str(v) for k, v in asdict(names).items()}
    files: dict[Path, str] = {}
    root = template_root()
    for parts in _templates(root):
        source = root.joinpath(*parts)
        target = [names.package if p == "package" else p for p in parts[:-1]]
        target.append(parts[-1].removesuffix(SUFFIX))
        try:
            text = string.Template(source.read_text(encoding="utf-8")).substitute(values)
        except (KeyError, ValueError) as exc:
            raise ScaffoldError(f"template {'/'.join(parts)} is broken: {exc}") from None
        files[Path(*target)] = text
    return files


def scaffold(name: str, dest: Path) -> Path:
    """Write a new adapter distribution for system ``name`` into ``dest/hub-<name>/`` and
    return that folder. ``dest`` is created if need be; an existing target is never
    overwritten (:class:`ScaffoldError`, as is a name :func:`name_problem` refuses)."""
    names = Names.of(name)
    target = Path(dest) / names.distribution
    if target.exists():
        raise ScaffoldError(f"{target} already exists: choose another folder or name")
    files = render(names)
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


__all__ = ["Names", "ScaffoldError", "name_problem", "render", "scaffold"]
