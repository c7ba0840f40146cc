"""Checking what plugins register: entities, adapters, sandboxes (used by :mod:`hub.plugins`).

Each ``check_*`` function judges one registered object on its own and gives the name it is
registered under, how to call it in messages and what is wrong with it. :func:`settle`
applies one to every plugin's registrations and decides who owns each name: a plugin with
anything wrong, or claiming a name another plugin claims too, is failed (with every reason,
naming the other plugin); the core's own registrations win over a plugin's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from typing import Any

from hub.adapter import Adapter, Stream
from hub.model import CanonicalEntity
from hub.sandbox import Sandbox

#: plugin name -> what its hook returned
Claims = dict[str, list[Any]]
#: what a check gives: the name the object is registered under (None: it has none), how
#: messages call it, and its problems
Verdict = tuple[str | None, str, list[str]]


def _shown(obj: object, limit: int = 80) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def _name_problem(value: object, what: str) -> str | None:
    if isinstance(value, str) and value.isascii() and value.isidentifier():
        return None
    return f"{what} must be an ASCII identifier, not {_shown(value)}"


def check_entity(obj: object) -> Verdict:
    """A canonical entity class: ``entity_name`` an identifier, its JSON Schema generated,
    ``subject_field`` one of its fields."""
    if not (isinstance(obj, type) and issubclass(obj, CanonicalEntity)) or obj is CanonicalEntity:
        return None, _shown(obj), [f"{_shown(obj)} is not a subclass of hub.model.CanonicalEntity"]
    where = obj.__qualname__
    name = getattr(obj, "entity_name", None)
    problem = _name_problem(name, f"{where}: entity_name")
    problems = [problem] if problem else []
    try:
        obj.model_json_schema(mode="validation")
    except Exception as exc:  # whatever pydantic raises for a type it cannot describe
        problems.append(f"{where}: its JSON Schema cannot be generated: {_first_line(exc)}")
    subject = getattr(obj, "subject_field", None)
    if subject is not None and subject not in obj.model_fields:
        problems.append(f"{where}: subject_field {subject!r} is not one of its fields")
    return (None if problem else name), where, problems


def _stream_problems(
    adapter: type[Adapter], stream: type[Stream], entities: Mapping[str, type]
) -> list[str]:
    """A stream's entity must be the one registered under its name."""
    entity = stream.entity
    registered = entities.get(entity.entity_name)
    if registered is entity:
        return []
    why = (
        "which no plugin registers (return it from hub_register_entities)"
        if registered is None
        else f"but the entity registered as {entity.entity_name} is "
        f"{registered.__module__}.{registered.__qualname__}"
    )
    return [
        f"{adapter.__qualname__}: stream {stream.name} carries "
        f"{entity.__module__}.{entity.__qualname__}, {why}"
    ]


def check_adapter(obj: object, entities: Mapping[str, type]) -> Verdict:
    """An adapter class: ``system_id`` an identifier, ``check`` implemented, at least one
    stream, :meth:`Adapter.problems` empty, every stream's entity registered."""
    if not (isinstance(obj, type) and issubclass(obj, Adapter)):
        return None, _shown(obj), [f"{_shown(obj)} is not a subclass of hub.adapter.Adapter"]
    where = obj.__qualname__
    system = getattr(obj, "system_id", None)
    problem = _name_problem(system, f"{where}: system_id")
    problems = [problem] if problem else []
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
        problems.append(f"{where}: does not implement {missing}")
    try:
        streams = list(obj.streams)
        found = obj.problems()
    except Exception as exc:  # streams that are not a sequence of classes
        return None, where, [*problems, f"{where}: streams cannot be read: {_first_line(exc)}"]
    if not streams:
        problems.append(f"{where}: lists no streams")
    problems += [p if p.startswith(where) else f"{where}: {p}" for p in found]
    for stream in streams:
        if isinstance(stream, type) and issubclass(stream, Stream) and not stream.problems():
            problems += _stream_problems(obj, stream, entities)
    return (None if problem else system), where, problems


def check_sandbox(obj: object, systems: Collection[str]) -> Verdict:
    """A :class:`Sandbox` for an installed adapter's system, with an app factory."""
    if not isinstance(obj, Sandbox):
        return None, _shown(obj), [f"{_shown(obj)} is not a hub.sandbox.Sandbox"]
    where = f"sandbox {obj.title or obj.system_id!r}"
    problems = []
    if obj.system_id not in systems:
        installed = ", ".join(sorted(systems)) or "none"
        problems.append(
            f"{where} is for system {_shown(obj.system_id)}, which no installed adapter has "
            f"(installed: {installed})"
        )
    if not callable(obj.app_factory):
        problems.append(f"{where}: app_factory is not callable")
    return (obj.system_id if isinstance(obj.system_id, str) else None), where, problems


def _refuse(
    kind: str,
    key: str,
    claimants: list[tuple[Any, str, str]],
    core: Collection[str],
    failed: dict[str, list[str]],
) -> None:
    """Settle a name claimed with different objects: the core's wins if it is one of them,
    else every claimant is failed, each message naming all of them."""
    own = {id(obj) for obj, plugin, _ in claimants if plugin in core}
    if len(own) == 1:
        winner = next((p, d) for obj, p, d in claimants if id(obj) in own)
        for obj, plugin, shown in claimants:
            if id(obj) not in own:
                failed.setdefault(plugin, []).append(
                    f"{kind} {key!r} is the hub's own (plugin {winner[0]}, {winner[1]}): "
                    f"plugin {plugin} ({shown}) cannot register it again"
                )
        return
    who = " and ".join(f"by plugin {plugin} ({shown})" for _, plugin, shown in claimants)
    for _, plugin, _ in claimants:
        failed.setdefault(plugin, []).append(f"{kind} {key!r} is registered twice: {who}")


def settle(
    kind: str,
    claims: Claims,
    alive: Collection[str],
    check: Callable[[Any], Verdict],
    failed: dict[str, list[str]],
    core: Collection[str],
) -> dict[str, tuple[Any, str]]:
    """Check the registrations of the ``alive`` plugins, fail the plugins in the wrong (their
    reasons added to ``failed``) and give the rest: name -> (object, plugin)."""
    claimed: dict[str, list[tuple[Any, str, str]]] = {}
    for plugin in sorted(p for p in claims if p in alive):
        problems: list[str] = []
        mine: dict[str, tuple[Any, str]] = {}
        for obj in claims[plugin]:
            try:
                key, shown, found = check(obj)
                if key is not None and not isinstance(key, str):
                    found = [*found, f"{shown}: its {kind} is not text"]
            except Exception as exc:  # whatever a registration holds, only its plugin fails
                problems.append(f"a {kind} registration cannot be checked: {_first_line(exc)}")
                continue
            problems += found
            if key is None or found:
                continue
            if key in mine and mine[key][0] is not obj:
                problems.append(f"{kind} {key!r} is registered twice: {mine[key][1]}, {shown}")
            mine.setdefault(key, (obj, shown))
        if problems:
            failed.setdefault(plugin, []).extend(problems)
            continue
        for key, (obj, shown) in mine.items():
            claimed.setdefault(key, []).append((obj, plugin, shown))
    for key, claimants in claimed.items():
        if len({id(obj) for obj, _, _ in claimants}) > 1:
            _refuse(kind, key, claimants, core, failed)
    settled: dict[str, tuple[Any, str]] = {}
    for key, claimants in sorted(claimed.items()):
        standing = [(obj, plugin) for obj, plugin, _ in claimants if plugin not in failed]
        if standing:  # the same object from several plugins: the core's, else the first
            standing.sort(key=lambda c: c[1] not in core)
            settled[key] = standing[0]
    return settled
