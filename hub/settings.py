"""Where the hub finds its configuration, store and key. Environment variables override
the defaults, which suit a checkout of the repository.

- ``HUB_HOME``            data folder (default ``./data``): SQLite store, key file, logs
- ``HUB_STORE_URL``       SQLAlchemy URL (default ``sqlite:///$HUB_HOME/hub.db``)
- ``HUB_EXCHANGES``       exchanges file (default ``config/exchanges.yaml`` of the checkout)
- ``HUB_RULES``           domain rules file (default ``config/rules.yaml``)
- ``HUB_MASTER_KEY`` / ``HUB_MASTER_KEY_FILE``  the master key (default ``$HUB_HOME/master.key``)
- ``HUB_SYSTEM_<ID>_URL`` base URL of a system, overriding the exchanges file
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hub.privacy.crypto import KEY_ENV, KEY_FILE_ENV, Keyring, load_keyring

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    home: Path
    store_url: str
    exchanges_file: Path
    rules_file: Path
    key_file: Path

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("HUB_HOME", "data")).resolve()
        config_dir = PROJECT_ROOT / "config"
        return cls(
            home=home,
            store_url=os.environ.get("HUB_STORE_URL") or f"sqlite:///{home / 'hub.db'}",
            exchanges_file=Path(os.environ.get("HUB_EXCHANGES") or config_dir / "exchanges.yaml"),
            rules_file=Path(os.environ.get("HUB_RULES") or config_dir / "rules.yaml"),
            key_file=Path(os.environ.get(KEY_FILE_ENV) or home / "master.key"),
        )

    def keyring(self, key: str | None = None) -> Keyring:
        """The keyring from ``key`` (e.g. an Airflow connection), ``HUB_MASTER_KEY``, or the
        key file."""
        return load_keyring(key=key or os.environ.get(KEY_ENV), key_file=self.key_file)


def system_url_override(system: str) -> str | None:
    return os.environ.get(f"HUB_SYSTEM_{system.upper()}_URL")
