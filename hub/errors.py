"""Exceptions of the hub. Messages never contain identity codes (see hub.privacy.redact)."""

from __future__ import annotations


class HubError(Exception):
    """Base class of every error the hub raises on purpose."""


class ConfigError(HubError):
    """A configuration file or setting is invalid. The message names the file and the key."""


class PluginError(HubError):
    """A plugin could not be loaded or registered something invalid."""


class RecordError(HubError):
    """One record is invalid. Names the record and the field; never carries the value."""

    def __init__(self, record: str, field: str | None, message: str):
        self.record = record
        self.field = field
        self.message = message
        where = f"record {record}" + (f", field {field}" if field else "")
        super().__init__(f"{where}: {message}")


class DeliveryError(HubError):
    """A call to an external system failed. ``transient`` says whether a retry may help."""

    transient = False

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None
    ):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class TransientError(DeliveryError):
    """Retrying later may succeed: connection failures, 429, 503, time-outs."""

    transient = True


class StoreBusy(TransientError):
    """The store is held by someone else (a lock, a deadlock, a statement over its time limit)
    and the hub gave up waiting, as its settings bound it. Retrying later may succeed.

    The message names the store (never its password), what happened and the setting that
    bounds the wait; never the SQL or its parameters (they may hold personal data)."""

    def __init__(self, message: str, *, store: str, setting: str | None = None):
        super().__init__(message)
        self.store = store
        self.setting = setting


class PermanentError(DeliveryError):
    """Retrying will not help until someone fixes the data or the configuration."""


class ResponseTooLarge(PermanentError):
    """An answer's body is larger than the call's byte cap (:class:`hub.http.HttpService`).
    A paged reader may ask for a smaller page."""


class StoreNotReady(HubError):
    """The store's schema is not the one this hub needs (none yet, older, or newer): the
    message says what to run."""


class DisclosureLogUnavailable(HubError):
    """The disclosure log could not be written, so nothing is disclosed (X-Road precedent)."""


#: the longest cause :func:`describe` gives (a run's stored error, a dead letter's reason)
CAUSE_LIMIT = 500


def describe(exc: BaseException) -> str:
    """A short, readable cause of ``exc`` for a run's stored error and for operators: the
    error's kind and first line, redacted (no identity code) and cut to
    :data:`CAUSE_LIMIT` characters. A database driver's error is named by its kind and the
    server's one-line message, never the SQL text or its parameters (they may hold personal
    data, and run to kilobytes)."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from hub.privacy import redact

    if isinstance(exc, HubError):
        text = str(exc)
    elif isinstance(exc, DBAPIError) and exc.orig is not None:
        orig = exc.orig
        first = (str(orig).strip().splitlines() or [""])[0]
        diag = getattr(orig, "diag", None)  # psycopg: the server's primary message
        first = getattr(diag, "message_primary", None) or first
        text = f"the store refused a statement: {type(orig).__name__}: {first}"
    elif isinstance(exc, SQLAlchemyError):
        text = f"the store: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
        text = text.split(" [SQL:", 1)[0]
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    text = redact(text)
    return text if len(text) <= CAUSE_LIMIT else text[: CAUSE_LIMIT - 1] + "…"
