"""The checks of the exchanges file that need the installed plugins, run by ``hub exchanges
validate`` and before every run (:func:`hub.exchanges.check_against_adapters`): the ends of
an exchange are systems declared under ``systems`` or an installed adapter that needs no
connection (the hub's own ends, :mod:`hub.ends`); each system's options are those its
adapter declares; the entities are registered canonical entities, the fields theirs, the
streams readable and writable, and the fields sent are those the target can hold and needs.
"""

from __future__ import annotations

from hub.config_validation import options_problems, required_field_problems
from hub.disclosure.rules import parse_rules
from hub.errors import ConfigError
from hub.exchanges import (
    EntityFlow,
    Exchange,
    HubConfig,
    record_rules,
    source_stream,
    target_stream,
)
from hub.plugins import adapter_registry, entity_registry


def problems(config: HubConfig) -> list[str]:
    """Problems that need the installed plugins: ends that are neither declared nor inside
    the hub, options their adapter does not take, unknown entities or fields, streams that
    cannot be read or written, fields a target cannot hold or needs and is not sent.
    Returns messages (empty when all is well)."""
    registry = adapter_registry()
    problems = [
        f"systems/{name}: the name is taken by an end inside the hub, which needs no "
        "connection settings"
        for name in config.systems
        if name in registry and not registry[name].connects
    ]
    for name, system in config.systems.items():
        adapter = system.adapter_id
        if adapter in registry and not registry[adapter].connects:
            problems.append(f"systems/{name}/adapter: {adapter!r} is an end inside the hub")
    problems.extend(options_problems(config.systems, registry))
    for x in config.exchanges.values():
        ends_ok = True
        for end, adapter in ((x.source, x.source_adapter), (x.target, x.target_adapter)):
            if adapter not in registry:
                shown = f"{end!r}" if end == adapter else f"{end!r} (adapter {adapter!r})"
                problems.append(f"exchanges/{x.name}: no adapter installed for system {shown}")
                ends_ok = False
            elif end not in config.systems and registry[adapter].connects:
                problems.append(f"exchanges/{x.name}: system {end!r} is not declared under systems")
        for i, f in enumerate(x.entities):
            flow_problems = _flow_problems(f"exchanges/{x.name}/entities/{i}", f)
            if not flow_problems:
                flow_problems = _decision_problems(config, x, i)
            problems.extend(flow_problems)
            if ends_ok and not flow_problems:
                problems.extend(_stream_problems(x, f, f"exchanges/{x.name}/entities/{i}"))
    return problems


def _flow_problems(where: str, flow: EntityFlow) -> list[str]:
    entities = entity_registry()
    model = entities.get(flow.entity)
    if model is None:
        known = ", ".join(sorted(entities))
        return [f"{where}/entity: unknown entity {flow.entity!r} (known: {known})"]
    unknown = [f for f in flow.fields if f not in model.model_fields]
    if unknown:
        return [
            f"{where}/fields: {', '.join(unknown)} not fields of {flow.entity} "
            f"(fields: {', '.join(model.model_fields)})"
        ]
    try:
        parse_rules(flow.records, model, where)
    except ConfigError as exc:
        return [str(exc)]
    return []


def _decision_problems(config: HubConfig, x: Exchange, i: int) -> list[str]:
    """A rule that judges records by their source's decisions needs an exchange that reads
    those decisions (service episodes) from the same source into the hub."""
    rules = record_rules(x, x.entities[i])
    reads = any(
        other.source == x.source and any(f.entity == "ServiceEpisode" for f in other.entities)
        for other in config.exchanges.values()
    )
    return [
        f"exchanges/{x.name}/entities/{i}/records: rule {r.name} judges by the decisions "
        f"(ServiceEpisode) of {x.source}, which no exchange reads from it"
        for r in rules
        if r.needs_decisions and not reads
    ]


def _stream_problems(x: Exchange, f: EntityFlow, where: str) -> list[str]:
    problems = []
    try:
        source_stream(x, f)
    except ConfigError as exc:
        problems.append(str(exc))
    try:
        target = target_stream(x, f)
    except ConfigError as exc:
        return [*problems, str(exc)]
    if target.carries is not None:
        extra = [name for name in f.fields if name not in target.carries]
        if extra:
            problems.append(
                f"exchanges/{x.name}: {x.target}/{target.name} cannot hold "
                f"{', '.join(extra)} of {f.entity}; remove them from the allowed fields"
            )
    return [*problems, *required_field_problems(where, x.target, target, f.fields)]
