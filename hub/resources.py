"""Files a distribution carries: schemas, XSDs, code lists and default configuration.

Each file lives inside the package of the distribution that owns it (``hub/schemas/``,
``hub/config/``, ``hub_kela/schemas/``, ...), so its wheel carries it, and is found through
:mod:`importlib.resources`, never relative to a source checkout. A :class:`PackagedFile`
names one such file and finds it when it is used; a file that is missing is a
:class:`~hub.errors.ConfigError` naming the package, the file and the distribution to
reinstall, not a bare ``FileNotFoundError`` from deep inside a parser.

:func:`source_checkout` is for developer tooling only (``hub schemas export`` writes into
the source tree): nothing the hub reads at run time is found through it.
"""

from __future__ import annotations

import atexit
import functools
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import tempfile
import threading
import tomllib
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from hub.errors import ConfigError

#: the distribution of the core package, as its ``pyproject.toml`` names it
CORE_DISTRIBUTION = "integration-hub"


class PackagedFile(os.PathLike):
    """A file inside package ``package``, at ``parts`` below it (e.g. ``PackagedFile("hub_kela",
    "schemas", "kunta.xsd")``). Nothing is looked up until the file is used: :meth:`path`,
    :meth:`read_text`, :meth:`read_bytes`, :meth:`read_json` and :func:`os.fspath` (``open``)
    raise :class:`~hub.errors.ConfigError` when the file is missing; :meth:`exists` says
    whether it is there. Like a :class:`~pathlib.Path`, ``str()`` is the file's name on the file
    system (so a function that opens ``str(path)`` takes one), raising ConfigError when it is
    missing; :attr:`label` (``hub_kela/schemas/kunta.xsd``) names it in messages."""

    __slots__ = ("package", "parts")

    def __init__(self, package: str, *parts: str):
        if not parts:
            raise ValueError("a packaged file needs a name below its package")
        self.package = package
        self.parts = parts

    @property
    def name(self) -> str:
        """The file's own name, e.g. ``kunta.xsd``."""
        return self.parts[-1]

    @property
    def where(self) -> str:
        """The file below its package, e.g. ``schemas/kunta.xsd``."""
        return "/".join(self.parts)

    @property
    def label(self) -> str:
        """The package and the file below it, e.g. ``hub_kela/schemas/kunta.xsd``."""
        return f"{self.package}/{self.where}"

    def __str__(self) -> str:
        return self.__fspath__()

    def __repr__(self) -> str:
        return f"PackagedFile({self.package!r}, {', '.join(map(repr, self.parts))})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PackagedFile):
            return NotImplemented
        return (self.package, self.parts) == (other.package, other.parts)

    def __hash__(self) -> int:
        return hash((self.package, self.parts))

    def __fspath__(self) -> str:
        return str(self.path())

    def resource(self) -> Traversable:
        """The file as :mod:`importlib.resources` gives it (ConfigError when missing)."""
        found = _package_root(self.package).joinpath(*self.parts)
        if not found.is_file():
            raise ConfigError(_missing(self.package, self.where, found))
        return found

    def exists(self) -> bool:
        try:
            self.resource()
        except ConfigError:
            return False
        return True

    def path(self) -> Path:
        """The file on the file system, its folder's other files beside it (an XSD's
        ``include``/``import`` of a neighbour resolves). An installed wheel is on the file
        system already; a package imported from a zip archive is copied out once per process
        (into a temporary folder removed at exit)."""
        found = self.resource()
        if isinstance(found, Path):
            return found
        folder = _extracted(self.package, self.parts[:-1])
        return folder / self.name

    def read_bytes(self) -> bytes:
        return self.resource().read_bytes()

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.resource().read_text(encoding=encoding)

    def read_json(self) -> Any:
        """The file parsed as JSON (ConfigError, with the line, when it is not JSON)."""
        try:
            return json.loads(self.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{self.label}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                f"{_reinstall(self.package)}"
            ) from None


def _package_root(package: str) -> Traversable:
    try:
        return importlib.resources.files(package)
    except ModuleNotFoundError:
        raise ConfigError(
            f"package {package} is not installed, so none of its files can be loaded"
        ) from None
    except TypeError:  # not a package but a plain module
        raise ConfigError(f"{package} is a module, not a package: it holds no files") from None


def _distributions(package: str) -> list[str]:
    """The installed distributions that provide ``package``: by the files they installed
    (a wheel), else by the modules of their entry points (an editable install, which lists
    no package files)."""
    top = package.partition(".")[0]
    found = set(importlib.metadata.packages_distributions().get(top, ()))
    if not found:
        for dist in importlib.metadata.distributions():
            modules = {ep.module.partition(".")[0] for ep in dist.entry_points}
            if top in modules and dist.metadata["Name"]:
                found.add(dist.metadata["Name"])
    return sorted(found)


def _reinstall(package: str) -> str:
    dists = _distributions(package)
    if not dists:
        return f"reinstall the distribution that provides {package}"
    return f"reinstall {' or '.join(dists)} (its wheel carries the file)"


def _missing(package: str, where: str, looked_at: Traversable) -> str:
    return (
        f"{package}: the packaged file {where} is missing (looked for {looked_at}); "
        f"the installation is incomplete: {_reinstall(package)}"
    )


_extract_lock = threading.Lock()


@functools.cache
def _extracted(package: str, folder_parts: tuple[str, ...]) -> Path:
    """A package's folder copied out of a zip archive onto the file system (with the folders
    below it), once per process; removed when the process ends."""
    with _extract_lock:
        source = _package_root(package).joinpath(*folder_parts)
        target = Path(tempfile.mkdtemp(prefix=f"{package}-resources-"))
        atexit.register(shutil.rmtree, target, ignore_errors=True)
        _copy_tree(source, target)
        return target


def _copy_tree(source: Traversable, target: Path) -> None:
    for entry in source.iterdir():
        if entry.is_dir():
            (target / entry.name).mkdir()
            _copy_tree(entry, target / entry.name)
        elif entry.is_file():
            (target / entry.name).write_bytes(entry.read_bytes())


def source_checkout() -> Path | None:
    """The source checkout the core package is imported from (the folder holding its
    ``pyproject.toml``), or None when the hub is installed from a wheel. For developer
    tooling that writes into the source tree; never for finding files at run time."""
    package = Path(__file__).resolve().parent
    pyproject = package.parent / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return package.parent if project.get("name") == CORE_DISTRIBUTION else None
