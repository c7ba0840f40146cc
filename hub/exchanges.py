"""Declared exchanges: ``config/exchanges.yaml``, validated by ``schemas/exchanges.schema.json``
and then against the installed adapters and the canonical model.

Loading is cheap (one YAML file, no plugin import), so the Airflow DAG file can call
:func:`load_exchanges` at parse time. :func:`check_against_adapters` needs the plugins and is
run by ``hub exchanges validate`` and before every run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from hub.adapter import SystemConfig
from hub.errors import ConfigError
from hub.model import ENTITIES
from hub.settings import PROJECT_ROOT, system_url_override

SCHEMA_FILE = PROJECT_ROOT / "schemas" / "exchanges.schema.json"

#: The hub itself as an end of an exchange. As a source it gives records it derives from the
#: store (:mod:`hub.engine.derive`); as a target it keeps what it reads, sending it nowhere.
HUB = "hub"
#: entities the hub derives, and the stream name they come from
DERIVED = {"Indicator": "indicators"}
#: the stream name of records kept in the hub
KEPT = "store"


@dataclass(frozen=True)
class EntityFlow:
    entity: str
    fields: tuple[str, ...]
    source_stream: str | None = None
    target_stream: str | None = None


@dataclass(frozen=True)
class Exchange:
    name: str
    source: str
    target: str
    schedule: str | None
    legal_basis: str
    entities: tuple[EntityFlow, ...]
    description: str = ""
    batch_size: int = 500
    #: extract: the most records one store transaction holds, and the longest it waits
    commit_every: int = 20_000
    commit_seconds: float = 5.0
    #: extract: read and prepare in a worker process while this one stores (two cores)
    parallel: bool = True
    retries: int = 2
    retry_delay_seconds: int = 300
    max_attempts: int = 5
    max_wait_seconds: float = 60.0

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

    def exchange(self, name: str) -> Exchange:
        if name not in self.exchanges:
            known = ", ".join(sorted(self.exchanges)) or "none"
            raise ConfigError(f"{self.path}: no exchange named {name!r} (declared: {known})")
        return self.exchanges[name]

    def system(self, name: str) -> SystemConfig:
        return self.systems[name]

    def readers_of(self, system: str, entity: str) -> list[str]:
        """Exchanges that move ``entity`` out of ``system`` (they get new versions queued)."""
        return [
            x.name
            for x in self.exchanges.values()
            if x.source == system
            and x.target != HUB  # kept in the hub: nothing to deliver
            and any(f.entity == entity for f in x.entities)
        ]


@functools.cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top level)"


def parse(data: Any, path: Path) -> HubConfig:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  {_where(e)}: {e.message}" for e in errors[:20]]
        raise ConfigError(f"{path}: does not match {SCHEMA_FILE.name}:\n" + "\n".join(lines))

    if HUB in data["systems"]:
        raise ConfigError(f"{path}: systems/{HUB}: the name is reserved for the hub itself")
    systems = {}
    for name, s in data["systems"].items():
        systems[name] = SystemConfig(
            system=name,
            base_url=(system_url_override(name) or s["base_url"]).rstrip("/"),
            options=s.get("options", {}),
            timeout=float(s.get("timeout_seconds", 30)),
            deadline=float(s.get("deadline_seconds", 120)),
        )
    exchanges = {}
    for name, x in data["exchanges"].items():
        if x["source"] == x["target"]:
            raise ConfigError(f"{path}: exchanges/{name}: source and target are the same")
        for end in ("source", "target"):
            if x[end] not in systems and x[end] != HUB:
                raise ConfigError(
                    f"{path}: exchanges/{name}/{end}: system {x[end]!r} is not declared "
                    f"under systems"
                )
        flows = []
        for i, e in enumerate(x["entities"]):
            where = f"{path}: exchanges/{name}/entities/{i}"
            model = ENTITIES.get(e["entity"])
            if model is None:
                raise ConfigError(
                    f"{where}/entity: unknown entity {e['entity']!r} "
                    f"(known: {', '.join(sorted(ENTITIES))})"
                )
            if x["source"] == HUB and e["entity"] not in DERIVED:
                raise ConfigError(
                    f"{where}/entity: the hub derives only {', '.join(DERIVED)}, not {e['entity']}"
                )
            unknown = [f for f in e["fields"] if f not in model.model_fields]
            if unknown:
                raise ConfigError(
                    f"{where}/fields: {', '.join(unknown)} not fields of {e['entity']} "
                    f"(fields: {', '.join(model.model_fields)})"
                )
            flows.append(
                EntityFlow(
                    entity=e["entity"],
                    fields=tuple(e["fields"]),
                    source_stream=e.get("source_stream"),
                    target_stream=e.get("target_stream"),
                )
            )
        delivery = x.get("delivery", {})
        exchanges[name] = Exchange(
            name=name,
            source=x["source"],
            target=x["target"],
            schedule=x["schedule"],
            legal_basis=" ".join(x["legal_basis"].split()),
            entities=tuple(flows),
            description=x.get("description", ""),
            batch_size=x.get("batch_size", 500),
            commit_every=x.get("commit_every", 20_000),
            commit_seconds=float(x.get("commit_seconds", 5)),
            parallel=x.get("parallel", True),
            retries=x.get("retries", 2),
            retry_delay_seconds=x.get("retry_delay_seconds", 300),
            max_attempts=delivery.get("max_attempts", 5),
            max_wait_seconds=float(delivery.get("max_wait_seconds", 60)),
        )
    return HubConfig(path=path, systems=systems, exchanges=exchanges)


def load_exchanges(path: Path) -> HubConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse(data, path)


def check_against_adapters(config: HubConfig) -> list[str]:
    """Problems that need the installed adapters: unknown systems, streams that cannot be
    read or written. Returns messages (empty when all is well)."""
    from hub.plugins import adapter_registry

    registry = adapter_registry()
    problems = []
    for x in config.exchanges.values():
        ends = [end for end in (x.source, x.target) if end != HUB]
        missing = [end for end in ends if end not in registry]
        for end in missing:
            problems.append(f"exchanges/{x.name}: no adapter installed for system {end!r}")
        if missing:
            continue
        for f in x.entities:
            if x.source != HUB:
                src = registry[x.source]
                read = f.source_stream or src.stream_for(f.entity, writable=False)
                if not read or read not in src.streams or not src.streams[read].readable:
                    problems.append(
                        f"exchanges/{x.name}: {x.source} has no readable stream of {f.entity}"
                    )
                elif src.streams[read].entity.entity_name != f.entity:
                    problems.append(
                        f"exchanges/{x.name}: stream {x.source}/{read} is not {f.entity}"
                    )
            if x.target == HUB:
                continue
            dst = registry[x.target]
            write = f.target_stream or dst.stream_for(f.entity, writable=True)
            if not write or write not in dst.streams or not dst.streams[write].writable:
                problems.append(
                    f"exchanges/{x.name}: {x.target} has no writable stream of {f.entity}"
                )
                continue
            carries = dst.streams[write].carries
            if carries is not None:
                extra = [name for name in f.fields if name not in carries]
                if extra:
                    problems.append(
                        f"exchanges/{x.name}: {x.target}/{write} cannot hold "
                        f"{', '.join(extra)} of {f.entity}; remove them from the allowed fields"
                    )
    return problems


def streams_of(exchange: Exchange, flow: EntityFlow) -> tuple[str, str]:
    """(source stream, target stream) of a flow, resolved through the adapters."""
    from hub.plugins import get_adapter_class

    if exchange.source == HUB:
        src = DERIVED.get(flow.entity)
    else:
        src = flow.source_stream or get_adapter_class(exchange.source).stream_for(
            flow.entity, writable=False
        )
    if exchange.target == HUB:
        dst = KEPT
    else:
        dst = flow.target_stream or get_adapter_class(exchange.target).stream_for(
            flow.entity, writable=True
        )
    if not src or not dst:
        raise ConfigError(f"exchanges/{exchange.name}: no stream for {flow.entity}")
    return src, dst
