"""The hub as one object: settings, declared exchanges, rules, store and key, loaded once."""

from __future__ import annotations

from dataclasses import dataclass

from hub.adapter import Adapter, RunContext, SystemConfig
from hub.exchanges import Exchange, HubConfig, load_exchanges
from hub.model.rules import Rules
from hub.plugins import get_adapter_class
from hub.settings import Settings
from hub.store import Store


@dataclass
class Hub:
    settings: Settings
    config: HubConfig
    rules: Rules
    store: Store

    @classmethod
    def open(
        cls, settings: Settings | None = None, *, key: str | None = None, upgrade: bool = False
    ) -> Hub:
        """The hub of ``settings`` (default: the environment's). ``upgrade``: migrate the
        store first (``hub db upgrade``); otherwise a store whose schema is not the one this
        hub needs is :class:`hub.errors.StoreNotReady`."""
        settings = settings or Settings.from_env()
        return cls(
            settings=settings,
            config=load_exchanges(settings.exchanges_file),
            rules=Rules.load(settings.rules_file),
            store=Store(
                settings.store_url,
                settings.keyring(key),
                upgrade=upgrade,
                timeouts=settings.store_timeouts,
            ),
        )

    @property
    def keys(self):
        return self.store.keys

    def adapter(self, system: str, exchange: Exchange | None = None) -> Adapter:
        """A connection to ``system``, for a run of ``exchange`` if one is given (an end
        inside the hub reads the store through it)."""
        cls = get_adapter_class(self.config.adapter_of(system))
        context = RunContext(self, exchange) if exchange is not None else None
        # an end inside the hub has no address; every other system is declared
        config = self.config.system(system) if cls.connects else SystemConfig(system, "")
        return cls(config, context)

    def close(self) -> None:
        self.store.close()
