"""Where the hub finds its secrets when it runs with Airflow: one path for the exchange DAGs,
``hub_health``, the dashboard in Airflow's API server and the command line
(``HUB_SECRETS=airflow``) alike.

The environment comes first (``HUB_MASTER_KEY``, ``HUB_MASTER_KEY_FILE``, ``HUB_STORE_URL``:
:mod:`hub.settings`); what it does not give is read from Airflow's connections — kept in
Airflow's metadata database, encrypted with its Fernet key, or in the secrets backend it is
configured with (Vault, AWS, GCP …):

- ``hub_master_key``: the password is the current master key; the extra's ``previous`` lists
  the keys a key rotation still needs (:func:`hub.privacy.crypto.connection_keys`);
- ``hub_store``: the store, a PostgreSQL connection (``postgres://user:pass@host/db``, read
  with psycopg 3) or the extra's ``url`` (any SQLAlchemy URL);
- ``hub_system_<name>``, one per system of the exchanges file that has one: its URL (the
  extra's ``base_url``, else the host when it has a scheme, else built from scheme, host and
  port) and, from the extra's other keys, options over the file's (credentials such as
  ``api_key``: Airflow masks them in its UI and logs). ``HUB_SYSTEM_<NAME>_URL`` still wins
  for the URL. The options are checked against the adapter's schema before every run;
- ``hub_alert_smtp`` (host, port, login, password; extra ``to`` — comma separated —,
  ``from``, ``starttls``) and ``hub_alert_webhook`` (the extra's ``url``, or the host): the
  alert channels, where the ``HUB_SMTP_*`` / ``HUB_ALERT_*`` variables leave them unset.

A connection that is not there is no error (the environment, or the default, holds); one
that cannot be read is.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace

from hub.adapter import SystemConfig
from hub.errors import ConfigError
from hub.exchanges import HubConfig
from hub.settings import Settings, system_url_override

log = logging.getLogger(__name__)

KEY_CONNECTION = "hub_master_key"
STORE_CONNECTION = "hub_store"
#: ``HUB_SECRETS=airflow``: the command line reads Airflow's connections too
SECRETS_ENV = "HUB_SECRETS"


def connection(conn_id: str):
    """Airflow's connection ``conn_id``, or None when Airflow has none of that name. Through
    the Task SDK, which asks the backends of the process it runs in (in a task, the
    supervisor: a worker reaches no database; in the API server, the metadata database);
    elsewhere — the command line on a scheduler machine — Airflow's models read the
    metadata database too."""
    from airflow.sdk import Connection

    try:
        return Connection.get(conn_id)
    except Exception as exc:
        if _in_task():
            if _not_found(exc):
                return None
            raise
        log.debug("connection %s: not through the Task SDK", conn_id, exc_info=True)
    from airflow.models.connection import Connection as Stored

    try:
        return Stored.get_connection_from_secrets(conn_id)
    except Exception as exc:
        if _not_found(exc):
            return None
        raise


def _not_found(exc: BaseException) -> bool:
    """Airflow's "no such connection" (the SDK's and the core's are different classes)."""
    return type(exc).__name__ == "AirflowNotFoundException"


def _in_task() -> bool:
    """Whether this process runs a task (the Task SDK's supervisor talks to it)."""
    from airflow.sdk.execution_time import task_runner

    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def master_key(settings: Settings) -> str | None:
    """The keys from ``hub_master_key`` (current first), unless the environment or the key
    file gives them (then None: the hub finds them itself)."""
    from hub.privacy.crypto import KEY_ENV, connection_keys

    if os.environ.get(KEY_ENV) or settings.key_file.exists():
        return None
    found = connection(KEY_CONNECTION)
    if found is None:
        return None
    return connection_keys(found.password, found.extra_dejson)


def store_url(settings: Settings) -> str:
    """``HUB_STORE_URL``, else the connection ``hub_store``, else the default."""
    if os.environ.get("HUB_STORE_URL"):
        return settings.store_url
    found = connection(STORE_CONNECTION)
    if found is None:
        return settings.store_url
    url = (found.extra_dejson or {}).get("url")
    if url:
        return url
    if found.conn_type not in ("postgres", "postgresql"):
        raise ConfigError(
            f"Airflow connection {STORE_CONNECTION}: type {found.conn_type!r}: a postgres "
            "connection, or the extra 'url' with a SQLAlchemy URL"
        )
    uri = found.get_uri()
    return "postgresql+psycopg://" + uri.split("://", 1)[1]


def system_from(system: SystemConfig, found) -> SystemConfig:
    """``system`` with the URL and options of its Airflow connection ``found``."""
    extra = dict(found.extra_dejson or {})
    url = extra.pop("base_url", None)
    if url is None and found.host:
        if "://" in found.host:
            url = found.host
        else:
            scheme = found.schema or ("https" if found.conn_type == "https" else "http")
            url = f"{scheme}://{found.host}" + (f":{found.port}" if found.port else "")
    if url and not system_url_override(system.system):
        system = replace(system, base_url=url.rstrip("/"))
    return replace(system, options={**system.options, **extra}) if extra else system


def with_connections(config: HubConfig) -> HubConfig:
    """``config`` with each system's connection ``hub_system_<name>`` applied."""
    systems = dict(config.systems)
    for name, system in config.systems.items():
        found = connection(f"hub_system_{name}")
        if found is not None:
            systems[name] = system_from(system, found)
    return replace(config, systems=systems) if systems != dict(config.systems) else config


def alert_settings():
    """The alert channels: the environment's, completed from ``hub_alert_smtp`` and
    ``hub_alert_webhook``."""
    from hub.ops.alerts import AlertSettings

    base = AlertSettings.from_env()
    changes: dict = {}
    smtp = connection("hub_alert_smtp") if not base.smtp_host else None
    if smtp is not None and smtp.host:
        extra = smtp.extra_dejson or {}
        to = tuple(a.strip() for a in str(extra.get("to", "")).split(",") if a.strip())
        changes |= {
            "smtp_host": smtp.host,
            "smtp_port": int(smtp.port or base.smtp_port),
            "smtp_user": smtp.login or base.smtp_user,
            "smtp_password": smtp.password or base.smtp_password,
            "smtp_starttls": bool(extra.get("starttls", base.smtp_starttls)),
            "email_to": base.email_to or to,
            "email_from": extra.get("from") or base.email_from,
        }
    hook = connection("hub_alert_webhook") if not base.webhook_url else None
    if hook is not None:
        url = (hook.extra_dejson or {}).get("url") or hook.host
        if url:
            changes["webhook_url"] = url
    return replace(base, **changes) if changes else base


def settings() -> Settings:
    """The environment's settings with the store Airflow's connections name."""
    base = Settings.from_env()
    return replace(base, store_url=store_url(base))


def open_hub():
    """The hub, with its secrets from the environment or Airflow's connections."""
    from hub.engine import Hub
    from hub.privacy import install_log_redaction

    install_log_redaction()
    found = settings()
    hub = Hub.open(found, key=master_key(found))
    hub.config = with_connections(hub.config)
    return hub
