"""What is installed, for ``hub adapters list``: every adapter with its streams, who
registered it, whether it has a sandbox; the entities; the plugins that were not loaded.

:func:`describe_adapters` gives it as plain data (:class:`AdapterListing`): ``rows()`` for a
table, ``to_json()`` for ``--json``. It describes classes only: no adapter is instantiated
and no system is called.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hub.adapter import Adapter, Stream
from hub.plugins import Plugins, get_plugins


@dataclass(frozen=True)
class StreamDescription:
    name: str
    #: the canonical entity's name
    entity: str
    description: str
    readable: bool
    writable: bool
    #: the canonical fields the stream's native format carries (None: all of the entity's)
    carries: tuple[str, ...] | None
    #: ``incremental`` or ``full``
    replication: str
    #: False for a target that keeps records in the hub's store instead of delivering them
    delivers: bool

    @property
    def modes(self) -> str:
        """``r``, ``w`` or ``rw``: whether the stream is read, written or both."""
        return ("r" if self.readable else "") + ("w" if self.writable else "")


@dataclass(frozen=True)
class AdapterDescription:
    system: str
    title: str
    #: ``module.QualifiedName`` of the adapter class
    adapter: str
    #: the entry-point name of the plugin that registered it
    plugin: str
    #: ``"distribution version"`` the plugin comes from (None: unknown)
    distribution: str | None
    #: registered by the core distribution itself
    core: bool
    #: False for an end inside the hub: no ``systems`` entry, no address
    connects: bool
    #: whether a sandbox is registered for the system
    sandbox: bool
    streams: tuple[StreamDescription, ...]


@dataclass(frozen=True)
class AdapterListing:
    adapters: tuple[AdapterDescription, ...]
    #: entity name -> the plugin that registered it
    entities: dict[str, str]
    loaded: tuple[str, ...]
    #: plugin -> why it was not loaded (none of its registrations are used)
    failed: dict[str, str]
    #: plugins left out by HUB_PLUGINS_ALLOW / HUB_PLUGINS_DENY
    skipped: tuple[str, ...]

    def rows(self) -> list[dict[str, Any]]:
        """One row per adapter, for a table: system, plugin, distribution, sandbox and its
        streams as ``name(rw): Entity``."""
        return [
            {
                "system": a.system,
                "plugin": a.plugin,
                "distribution": a.distribution or "",
                "sandbox": "yes" if a.sandbox else "no",
                "streams": ", ".join(f"{s.name}({s.modes}): {s.entity}" for s in a.streams),
            }
            for a in self.adapters
        ]

    def to_json(self) -> dict[str, Any]:
        """Everything, as JSON-able data."""
        return {
            "adapters": [
                {**asdict(a), "streams": [{**asdict(s), "modes": s.modes} for s in a.streams]}
                for a in self.adapters
            ],
            "entities": dict(self.entities),
            "plugins": {
                "loaded": list(self.loaded),
                "failed": dict(self.failed),
                "skipped": list(self.skipped),
            },
        }


def describe_stream(stream: type[Stream]) -> StreamDescription:
    return StreamDescription(
        name=stream.name,
        entity=stream.entity.entity_name,
        description=stream.description,
        readable=stream.readable,
        writable=stream.writable,
        carries=tuple(stream.carries) if stream.carries is not None else None,
        replication=stream.replication,
        delivers=stream.delivers,
    )


def describe_adapter(cls: type[Adapter], plugins: Plugins) -> AdapterDescription:
    plugin = plugins.owners.get(("adapter", cls.system_id), "")
    return AdapterDescription(
        system=cls.system_id,
        title=cls.title,
        adapter=f"{cls.__module__}.{cls.__qualname__}",
        plugin=plugin,
        distribution=plugins.report.distributions.get(plugin),
        core=plugin in plugins.report.core,
        connects=cls.connects,
        sandbox=cls.system_id in plugins.sandboxes,
        streams=tuple(describe_stream(s) for s in cls.stream_classes().values()),
    )


def describe_adapters(plugins: Plugins | None = None) -> AdapterListing:
    """The installed adapters, entities and plugins (default: the process's plugins)."""
    plugins = plugins or get_plugins()
    report = plugins.report
    return AdapterListing(
        adapters=tuple(
            describe_adapter(cls, plugins) for _, cls in sorted(plugins.adapters.items())
        ),
        entities={name: plugins.owners[("entity", name)] for name in sorted(plugins.entities)},
        loaded=tuple(report.loaded),
        failed=dict(report.failed),
        skipped=tuple(report.skipped),
    )
