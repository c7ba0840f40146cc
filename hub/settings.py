"""Where the hub finds its configuration, store and key. Environment variables override
the defaults, which suit a trial on one machine, installed or in a checkout alike: data in
``./data``, the configuration the ``hub`` package carries (:mod:`hub.resources`), whose
exchanges point at the local sandboxes.

- ``HUB_HOME``            data folder (default ``./data``): SQLite store, key file, logs
- ``HUB_STORE_URL``       SQLAlchemy URL (default ``sqlite:///$HUB_HOME/hub.db``)
- ``HUB_EXCHANGES``       exchanges file (default: ``config/exchanges.yaml`` of the ``hub``
  package, which points at the local sandboxes)
- ``HUB_RULES``           domain rules file (default: ``config/rules.yaml`` of the ``hub`` package)
- ``HUB_MASTER_KEY`` / ``HUB_MASTER_KEY_FILE``  the master key (default ``$HUB_HOME/master.key``)
- ``HUB_SYSTEM_<ID>_URL`` base URL of a system, overriding the exchanges file
- ``HUB_STORE_BUSY_TIMEOUT``      SQLite: seconds to wait for a lock another connection holds
  (default 30; 0 = do not wait)
- ``HUB_STORE_LOCK_TIMEOUT``      PostgreSQL ``lock_timeout``: seconds a statement waits for a
  lock another session holds (default 30; 0 = no limit)
- ``HUB_STORE_STATEMENT_TIMEOUT`` PostgreSQL ``statement_timeout``: seconds one statement may
  run (default 600; 0 = no limit)

A store held by someone else is waited for that long, then the work fails with
:class:`hub.errors.StoreBusy`, a transient error that a retry heals: nothing waits forever.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import ConfigError
from hub.privacy.crypto import KEY_ENV, KEY_FILE_ENV, Keyring, load_keyring
from hub.resources import PackagedFile

#: The default configuration, carried by the ``hub`` package (:mod:`hub.resources`).
DEFAULT_EXCHANGES = PackagedFile("hub", "config", "exchanges.yaml")
DEFAULT_RULES = PackagedFile("hub", "config", "rules.yaml")
#: The folder above the ``hub`` package: the source checkout when the hub runs from one, for
#: the test suite only. Nothing the hub reads is found through it: its files are package data
#: (:mod:`hub.resources`); installed from a wheel, this is merely ``site-packages``.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
BUSY_TIMEOUT_ENV = "HUB_STORE_BUSY_TIMEOUT"
LOCK_TIMEOUT_ENV = "HUB_STORE_LOCK_TIMEOUT"
STATEMENT_TIMEOUT_ENV = "HUB_STORE_STATEMENT_TIMEOUT"


@dataclass(frozen=True)
class StoreTimeouts:
    """How long the store waits for others, in seconds. A lock held by another process (a
    second run, a backup, an operator's open transaction) is waited for this long and no
    longer, so a run ends in a clear transient error instead of hanging.

    - ``busy``: SQLite, for a lock another connection holds (0 = fail at once);
    - ``lock``: PostgreSQL ``lock_timeout`` (0 = no limit);
    - ``statement``: PostgreSQL ``statement_timeout``, the longest one statement runs
      (0 = no limit).
    """

    busy: float = 30.0
    lock: float = 30.0
    statement: float = 600.0

    @classmethod
    def from_env(cls) -> StoreTimeouts:
        default = cls()
        return cls(
            busy=_seconds(BUSY_TIMEOUT_ENV, default.busy),
            lock=_seconds(LOCK_TIMEOUT_ENV, default.lock),
            statement=_seconds(STATEMENT_TIMEOUT_ENV, default.statement),
        )


def _seconds(name: str, default: float) -> float:
    """``name`` from the environment as a number of seconds (``default`` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name}={raw!r}: give a number of seconds, 0 or more")
    return value


@dataclass(frozen=True)
class Settings:
    home: Path
    store_url: str
    exchanges_file: Path
    rules_file: Path
    key_file: Path
    store_timeouts: StoreTimeouts = field(default_factory=StoreTimeouts)

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("HUB_HOME", "data")).resolve()
        exchanges, rules = os.environ.get("HUB_EXCHANGES"), os.environ.get("HUB_RULES")
        return cls(
            home=home,
            store_url=os.environ.get("HUB_STORE_URL") or f"sqlite:///{home / 'hub.db'}",
            exchanges_file=Path(exchanges) if exchanges else DEFAULT_EXCHANGES.path(),
            rules_file=Path(rules) if rules else DEFAULT_RULES.path(),
            key_file=Path(os.environ.get(KEY_FILE_ENV) or home / "master.key"),
            store_timeouts=StoreTimeouts.from_env(),
        )

    def keyring(self, key: str | None = None) -> Keyring:
        """The keyring from ``key`` (e.g. an Airflow connection), ``HUB_MASTER_KEY``, or the
        key file."""
        return load_keyring(key=key or os.environ.get(KEY_ENV), key_file=self.key_file)


def system_url_override(system: str) -> str | None:
    return os.environ.get(f"HUB_SYSTEM_{system.upper()}_URL")
