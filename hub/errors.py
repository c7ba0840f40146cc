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


class DisclosureLogUnavailable(HubError):
    """The disclosure log could not be written, so nothing is disclosed (X-Road precedent)."""
