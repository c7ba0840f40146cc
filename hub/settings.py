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
- ``HUB_PREVIOUS_MASTER_KEYS`` previous master keys, comma separated, still needed to read
  old data during a key rotation (``hub keys rotate``; a key file: one key a line, current first)
- ``HUB_AUDIT_SEAL_KEY`` / ``HUB_AUDIT_SEAL_KEY_FILE``  the Ed25519 key that seals the logs'
  checkpoints (:mod:`hub.audit.seal`; held apart from the store and the master key; none:
  checkpoints are neither made nor checked)
- ``HUB_SYSTEM_<ID>_URL`` base URL of a system, overriding the exchanges file
- ``HUB_STORE_BUSY_TIMEOUT``      SQLite: seconds to wait for a lock another connection holds
  (default 30; 0 = do not wait)
- ``HUB_STORE_LOCK_TIMEOUT``      PostgreSQL ``lock_timeout``: seconds a statement waits for a
  lock another session holds (default 30; 0 = no limit)
- ``HUB_STORE_STATEMENT_TIMEOUT`` PostgreSQL ``statement_timeout``: seconds one statement may
  run (default 600; 0 = no limit)

A store held by someone else is waited for that long, then the work fails with
:class:`hub.errors.StoreBusy`, a transient error that a retry heals: nothing waits forever.

Dashboard sign-in (:class:`SignInPolicy`):

- ``HUB_SIGNIN_MAX_FAILURES``          failed sign-ins per user name before it is locked
  (default 5, within ``HUB_SIGNIN_WINDOW_SECONDS``, default 900)
- ``HUB_SIGNIN_MAX_ADDRESS_FAILURES``  the same per client address (default 20)
- ``HUB_SIGNIN_LOCKOUT_SECONDS``       how long a lock lasts (default 900; doubled for each
  further lock in a row, up to 16 times)
- ``HUB_SIGNIN_TRUSTED_PROXIES``       addresses or networks (comma-separated) of reverse
  proxies whose ``X-Forwarded-For`` is believed (default none: the socket peer is the client)
- ``HUB_SESSION_LIFETIME_SECONDS``     a session ends this long after sign-in, whatever the
  activity (default 28800, 8 hours)
- ``HUB_SESSION_IDLE_SECONDS``         ... or after this long without a request (default 1800)
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


LEASE_TTL_ENV = "HUB_LEASE_TTL"
LEASE_WAIT_ENV = "HUB_LEASE_WAIT"


@dataclass(frozen=True)
class LeaseTimes:
    """The lease each run holds on its exchange (:mod:`hub.engine.lease`), in seconds.

    - ``ttl``: how long a lease lasts unless its holder renews it (every commit renews it,
      and a thread renews it every ``ttl / 4``): a holder killed on another machine blocks
      its exchange this long at most (one on this machine is seen dead at once);
    - ``wait``: how long a second run waits for the lease before it ends with "exchange X
      is running" (0: ends at once).
    """

    ttl: float = 120.0
    wait: float = 0.0

    @classmethod
    def from_env(cls) -> LeaseTimes:
        default = cls()
        ttl = _seconds(LEASE_TTL_ENV, default.ttl)
        if ttl < 5:
            raise ConfigError(f"{LEASE_TTL_ENV}={ttl:g}: a lease must last 5 seconds at least")
        return cls(ttl=ttl, wait=_seconds(LEASE_WAIT_ENV, default.wait))


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


SIGNIN_MAX_FAILURES_ENV = "HUB_SIGNIN_MAX_FAILURES"
SIGNIN_MAX_ADDRESS_FAILURES_ENV = "HUB_SIGNIN_MAX_ADDRESS_FAILURES"
SIGNIN_WINDOW_ENV = "HUB_SIGNIN_WINDOW_SECONDS"
SIGNIN_LOCKOUT_ENV = "HUB_SIGNIN_LOCKOUT_SECONDS"
SIGNIN_TRUSTED_PROXIES_ENV = "HUB_SIGNIN_TRUSTED_PROXIES"
SESSION_LIFETIME_ENV = "HUB_SESSION_LIFETIME_SECONDS"
SESSION_IDLE_ENV = "HUB_SESSION_IDLE_SECONDS"


@dataclass(frozen=True)
class SignInPolicy:
    """How the dashboard limits guessing and how long a session lasts (:mod:`hub.store.signin`).

    - ``max_failures`` failed sign-ins for one user name within ``window`` seconds lock that
      name for ``lockout`` seconds (doubled for each further lock in a row, up to 16 times);
      ``max_address_failures`` do the same for one client address, whatever names it tries;
    - ``trusted_proxies``: reverse proxies whose ``X-Forwarded-For`` names the client;
    - ``lifetime``: a session ends this long after sign-in, however active; ``idle``: or
      after this long without a request.
    """

    max_failures: int = 5
    max_address_failures: int = 20
    window: float = 900.0
    lockout: float = 900.0
    trusted_proxies: tuple[str, ...] = ()
    lifetime: float = 8 * 3600.0
    idle: float = 1800.0

    @classmethod
    def from_env(cls) -> SignInPolicy:
        default = cls()
        proxies = os.environ.get(SIGNIN_TRUSTED_PROXIES_ENV, "")
        policy = cls(
            max_failures=_count(SIGNIN_MAX_FAILURES_ENV, default.max_failures),
            max_address_failures=_count(
                SIGNIN_MAX_ADDRESS_FAILURES_ENV, default.max_address_failures
            ),
            window=_seconds(SIGNIN_WINDOW_ENV, default.window),
            lockout=_seconds(SIGNIN_LOCKOUT_ENV, default.lockout),
            trusted_proxies=tuple(p.strip() for p in proxies.split(",") if p.strip()),
            lifetime=_seconds(SESSION_LIFETIME_ENV, default.lifetime),
            idle=_seconds(SESSION_IDLE_ENV, default.idle),
        )
        for name, value in (
            (SIGNIN_WINDOW_ENV, policy.window),
            (SIGNIN_LOCKOUT_ENV, policy.lockout),
            (SESSION_LIFETIME_ENV, policy.lifetime),
            (SESSION_IDLE_ENV, policy.idle),
        ):
            if value < 1:
                raise ConfigError(f"{name}={value:g}: give 1 second or more")
        return policy


def _count(name: str, default: int) -> int:
    """``name`` from the environment as a whole number, 1 or more (``default`` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise ConfigError(f"{name}={raw!r}: give a whole number, 1 or more")
    return value


@dataclass(frozen=True)
class Settings:
    home: Path
    store_url: str
    exchanges_file: Path
    rules_file: Path
    key_file: Path
    store_timeouts: StoreTimeouts = field(default_factory=StoreTimeouts)
    signin: SignInPolicy = field(default_factory=SignInPolicy)
    lease: LeaseTimes = field(default_factory=LeaseTimes)

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
            signin=SignInPolicy.from_env(),
            lease=LeaseTimes.from_env(),
        )

    def keyring(self, key: str | None = None) -> Keyring:
        """The keyring from ``key`` (e.g. an Airflow connection), ``HUB_MASTER_KEY``, or the
        key file, with the previous keys of ``HUB_PREVIOUS_MASTER_KEYS`` (key rotation)."""
        return load_keyring(key=key or os.environ.get(KEY_ENV), key_file=self.key_file)

    def seal_key(self):
        """The key that seals the logs' checkpoints (:mod:`hub.audit.seal`), from
        ``HUB_AUDIT_SEAL_KEY`` or ``HUB_AUDIT_SEAL_KEY_FILE``; None when not configured."""
        from hub.audit.seal import configured_key

        return configured_key(self.key_file)


def system_url_override(system: str) -> str | None:
    return os.environ.get(f"HUB_SYSTEM_{system.upper()}_URL")
