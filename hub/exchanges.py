"""Declared exchanges: the exchanges file (``HUB_EXCHANGES``; by default the package's
``hub/config/exchanges.yaml``), validated by the package's ``hub/schemas/exchanges.schema.json``
and then against the installed plugins.

Each setting is declared once, in the JSON Schema, with its default; the parser takes the
defaults from there. Loading is cheap (one YAML file, no plugin import), so the Airflow DAG
file can call :func:`load_exchanges` at parse time. What needs the installed plugins is
checked by :func:`check_against_adapters`, run by ``hub exchanges validate`` and before every
run: the ends of an exchange are systems declared under ``systems`` or an installed adapter
that needs no connection (the hub's own ends, :mod:`hub.ends`); its entities are registered
canonical entities, its fields theirs, its streams readable and writable.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from hub.adapter import Stream, SystemConfig
from hub.config_validation import load_yaml, schedule_problem
from hub.disclosure.rules import RecordRule, parse_rules
from hub.errors import ConfigError, PluginError
from hub.indicators.periods import Policy
from hub.resources import PackagedFile
from hub.retention.config import Retention, parse_retention
from hub.settings import system_url_override

#: the exchanges file's JSON Schema, carried by the ``hub`` package
SCHEMA_FILE = PackagedFile("hub", "schemas", "exchanges.schema.json")


@dataclass(frozen=True)
class EntityFlow:
    entity: str
    fields: tuple[str, ...]
    source_stream: str | None = None
    target_stream: str | None = None
    #: the record rules as declared (``records:``), checked by :func:`check_against_adapters`
    #: and compiled by :func:`record_rules`
    records: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Exchange:
    name: str
    source: str
    target: str
    #: the adapters the two ends are instances of (a system's ``adapter``, or its name)
    source_adapter: str
    target_adapter: str
    schedule: str | None
    legal_basis: str
    #: run when these exchanges have all delivered since this one last ran (Airflow assets)
    after: tuple[str, ...]
    entities: tuple[EntityFlow, ...]
    # the settings below: their meaning and defaults are in the JSON Schema, nowhere else
    description: str
    batch_size: int
    #: extract: the most records one store transaction holds, and the longest it waits
    commit_every: int
    commit_seconds: float
    #: extract: read and prepare in a worker process while this one stores (two cores)
    parallel: bool
    retries: int
    retry_delay_seconds: int
    max_attempts: int
    max_wait_seconds: float

    @property
    def timing(self) -> str:
        """When it runs, in words: its schedule, ``after …`` or ``manual``."""
        if self.after:
            return "after " + ", ".join(self.after)
        return self.schedule or "manual"

    def flow(self, entity: str) -> EntityFlow:
        for f in self.entities:
            if f.entity == entity:
                return f
        raise KeyError(entity)


@dataclass(frozen=True)
class HubConfig:
    path: Path
    systems: Mapping[str, SystemConfig]
    exchanges: Mapping[str, Exchange] = field(default_factory=dict)
    #: how long the store keeps what it holds (``retention:``; :mod:`hub.retention`)
    retention: Retention | None = None
    #: how the derived indicators are released (``indicators:``; :mod:`hub.indicators`)
    indicators: Policy = field(default_factory=Policy)
    #: exchanges left out, by name, and why (only when loaded ``partial``: :func:`parse`)
    invalid: Mapping[str, str] = field(default_factory=dict)
    _readers: dict[tuple[str, str], list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def exchange(self, name: str) -> Exchange:
        if name in self.invalid:
            raise ConfigError(self.invalid[name])
        if name not in self.exchanges:
            known = ", ".join(sorted(self.exchanges)) or "none"
            raise ConfigError(f"{self.path}: no exchange named {name!r} (declared: {known})")
        return self.exchanges[name]

    def adapter_of(self, name: str) -> str:
        """The adapter system ``name`` is an instance of."""
        return _adapter_of(self.systems, name)

    def system(self, name: str) -> SystemConfig:
        """The connection settings of ``name``, as declared under ``systems``."""
        if name not in self.systems:
            known = ", ".join(sorted(self.systems)) or "none"
            raise ConfigError(
                f"{self.path}: system {name!r} is not declared under systems (declared: {known})"
            )
        return self.systems[name]

    def readers_of(self, system: str, entity: str) -> list[str]:
        """Exchanges that move ``entity`` out of ``system`` to a target that takes it from
        the outbox (they get new versions queued)."""
        key = (system, entity)
        if key not in self._readers:
            self._readers[key] = [
                x.name
                for x in self.exchanges.values()
                if x.source == system
                and any(f.entity == entity for f in x.entities)
                and _delivers(x, x.flow(entity))
            ]
        return self._readers[key]


def _delivers(exchange: Exchange, flow: EntityFlow) -> bool:
    """Whether the exchange's target takes ``flow``'s records from the outbox. A target
    that cannot be resolved is assumed to (its own run then fails, naming the problem):
    a version is never left unqueued for want of a plugin."""
    try:
        return target_stream(exchange, flow).delivers
    except (ConfigError, PluginError):
        return True


@functools.cache
def _schema() -> dict[str, Any]:
    return SCHEMA_FILE.read_json()  # ConfigError naming the package when it is missing


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top level)"


def _explained(error: jsonschema.ValidationError) -> str:
    """What a value that does not match a pattern should look like, from the schema."""
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f" ({described})" if error.validator == "pattern" and described else ""


def parse(data: Any, path: Path, *, partial: bool = False) -> HubConfig:
    """The configuration of ``data`` (the file at ``path``). A mistake in the file as a
    whole is a :class:`ConfigError`; so is a mistake inside one exchange, unless
    ``partial``: then the exchange is left out and its message kept in
    :attr:`HubConfig.invalid` (the Airflow DAG file builds the others)."""
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    inside: dict[str, list[jsonschema.ValidationError]] = {}
    for e in errors:
        where = list(e.absolute_path)
        if len(where) >= 2 and where[0] == "exchanges" and isinstance(data["exchanges"], dict):
            inside.setdefault(str(where[1]), []).append(e)
    if len(errors) > sum(map(len, inside.values())) or (inside and not partial):
        raise ConfigError(_mismatch(path, errors))
    invalid = {name: _mismatch(path, errs) for name, errs in inside.items()}

    system_def = _schema()["$defs"]["system"]
    systems = {}
    for name, s in data["systems"].items():
        settings = _with_defaults(s, system_def)
        systems[name] = SystemConfig(
            system=name,
            base_url=(system_url_override(name) or settings["base_url"]).rstrip("/"),
            options=settings.get("options", {}),
            timeout=float(settings["timeout_seconds"]),
            deadline=float(settings["deadline_seconds"]),
            adapter=settings.get("adapter"),
        )
    exchanges = {}
    for name, x in data["exchanges"].items():
        if name in invalid:
            continue
        try:
            exchanges[name] = _exchange(name, x, systems, path)
        except ConfigError as exc:
            invalid[name] = str(exc)
    _check_order(exchanges, invalid, path)
    if invalid and not partial:
        raise ConfigError("\n".join(invalid.values()))
    declared = list(data["exchanges"])  # retention may name an exchange left out
    retention = parse_retention(data.get("retention"), path, declared, _schema()["$defs"])
    policy = Policy(**(data.get("indicators") or {}))
    return HubConfig(
        path=path,
        systems=systems,
        exchanges=exchanges,
        retention=retention,
        indicators=policy,
        invalid=invalid,
    )


def _mismatch(path: Path, errors: list[jsonschema.ValidationError]) -> str:
    lines = [f"  {_where(e)}: {e.message}{_explained(e)}" for e in errors[:20]]
    return f"{path}: does not match {SCHEMA_FILE.name}:\n" + "\n".join(lines)


def _exchange(
    name: str, x: Mapping[str, Any], systems: Mapping[str, SystemConfig], path: Path
) -> Exchange:
    """One exchange of the file (valid against the schema), with the schema's defaults."""
    if x["source"] == x["target"]:
        raise ConfigError(f"{path}: exchanges/{name}: source and target are the same")
    problem = schedule_problem(x["schedule"])
    if problem:
        raise ConfigError(f"{path}: exchanges/{name}/schedule: {problem}")
    if x.get("after") and x["schedule"] is not None:
        raise ConfigError(
            f"{path}: exchanges/{name}/schedule: an exchange run 'after' others runs when "
            "they have delivered; its schedule must be null"
        )
    exchange_def = _schema()["$defs"]["exchange"]
    flows = [
        EntityFlow(
            entity=e["entity"],
            fields=tuple(e["fields"]),
            source_stream=e.get("source_stream"),
            target_stream=e.get("target_stream"),
            records=tuple(e.get("records", ())),
        )
        for e in x["entities"]
    ]
    x = _with_defaults(x, exchange_def)
    delivery = _with_defaults(x.get("delivery", {}), exchange_def["properties"]["delivery"])
    return Exchange(
        name=name,
        source=x["source"],
        target=x["target"],
        source_adapter=_adapter_of(systems, x["source"]),
        target_adapter=_adapter_of(systems, x["target"]),
        schedule=x["schedule"],
        after=tuple(x.get("after", ())),
        legal_basis=" ".join(x["legal_basis"].split()),
        entities=tuple(flows),
        description=x["description"],
        batch_size=x["batch_size"],
        commit_every=x["commit_every"],
        commit_seconds=float(x["commit_seconds"]),
        parallel=x["parallel"],
        retries=x["retries"],
        retry_delay_seconds=x["retry_delay_seconds"],
        max_attempts=delivery["max_attempts"],
        max_wait_seconds=float(delivery["max_wait_seconds"]),
    )


def _check_order(exchanges: dict[str, Exchange], invalid: dict[str, str], path: Path) -> None:
    """Move to ``invalid`` each exchange whose ``after`` names an unknown or invalid
    exchange, itself, or closes a cycle (it would never run)."""
    changed = True
    while changed:
        changed = False
        for name, x in list(exchanges.items()):
            for i, other in enumerate(x.after):
                why = None
                if other == name:
                    why = "is the exchange itself"
                elif other in invalid:
                    why = "is not a valid exchange"
                elif other not in exchanges:
                    why = "is not a declared exchange"
                elif name in _upstream(exchanges, other):
                    why = f"runs after {name} itself: a cycle, neither would ever run"
                if why:
                    invalid[name] = f"{path}: exchanges/{name}/after/{i}: {other!r} {why}"
                    del exchanges[name]
                    changed = True
                    break


def _upstream(exchanges: dict[str, Exchange], name: str) -> set[str]:
    """Every exchange ``name`` runs after, directly or not."""
    seen, todo = set(), list(exchanges[name].after) if name in exchanges else []
    while todo:
        other = todo.pop()
        if other not in seen:
            seen.add(other)
            todo.extend(exchanges[other].after if other in exchanges else ())
    return seen


def _adapter_of(systems: Mapping[str, SystemConfig], name: str) -> str:
    """The adapter system ``name`` is an instance of (an undeclared name: an end inside
    the hub, or a mistake :func:`check_against_adapters` reports)."""
    return systems[name].adapter_id if name in systems else name


def _with_defaults(values: Mapping[str, Any], definition: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with the schema's default for every setting of ``definition`` they omit."""
    defaults = {
        name: prop["default"]
        for name, prop in definition.get("properties", {}).items()
        if "default" in prop
    }
    return {**defaults, **values}


def load_exchanges(path: Path, *, partial: bool = False) -> HubConfig:
    """The exchanges file at ``path``; ``partial``: see :func:`parse`."""
    try:
        data = load_yaml(path, path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse(data, path, partial=partial)


def check_against_adapters(config: HubConfig) -> list[str]:
    """Problems that need the installed plugins (:func:`hub.exchange_checks.problems`):
    messages naming the key, empty when all is well."""
    from hub.exchange_checks import problems

    return problems(config)


def record_rules(exchange: Exchange, flow: EntityFlow) -> tuple[RecordRule, ...]:
    """The record rules of ``flow``, compiled against its entity (:mod:`hub.disclosure`)."""
    from hub.plugins import entity_registry

    model = entity_registry()[flow.entity]
    where = f"exchanges/{exchange.name}/entities/{exchange.entities.index(flow)}"
    return parse_rules(flow.records, model, where)


def source_stream(exchange: Exchange, flow: EntityFlow) -> type[Stream]:
    """The stream of the exchange's source that ``flow`` reads."""
    return _stream(
        exchange, flow, exchange.source, exchange.source_adapter, flow.source_stream, writable=False
    )


def target_stream(exchange: Exchange, flow: EntityFlow) -> type[Stream]:
    """The stream of the exchange's target that ``flow`` writes."""
    return _stream(
        exchange, flow, exchange.target, exchange.target_adapter, flow.target_stream, writable=True
    )


def _stream(
    exchange: Exchange,
    flow: EntityFlow,
    system: str,
    adapter_id: str,
    named: str | None,
    *,
    writable: bool,
) -> type[Stream]:
    from hub.plugins import get_adapter_class

    adapter = get_adapter_class(adapter_id)
    where, verb = f"exchanges/{exchange.name}", "writable" if writable else "readable"
    if named is None:
        found = adapter.stream_of(flow.entity, writable=writable)
        if found is None:
            raise ConfigError(f"{where}: {system} has no {verb} stream of {flow.entity}")
        return found
    found = adapter.stream_classes().get(named)
    if found is None:
        known = ", ".join(adapter.stream_classes()) or "none"
        raise ConfigError(f"{where}: {system} has no stream {named!r} (streams: {known})")
    if not (found.writable if writable else found.readable):
        raise ConfigError(f"{where}: stream {system}/{named} is not {verb}")
    if found.entity.entity_name != flow.entity:
        raise ConfigError(f"{where}: stream {system}/{named} is not {flow.entity}")
    return found


def streams_of(exchange: Exchange, flow: EntityFlow) -> tuple[str, str]:
    """(source stream, target stream) names of a flow."""
    return source_stream(exchange, flow).name, target_stream(exchange, flow).name
