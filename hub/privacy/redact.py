"""Scrubbing identity codes from text, log records and exception messages.

Defence in depth: code should never put an identity code in a message in the first place,
but a native error from an external system may echo one back. Every message that the hub
stores or logs passes through :func:`redact`.
"""

from __future__ import annotations

import logging

from hub.privacy.identity import HETU_PATTERN

REPLACEMENT = "[identity code removed]"


def redact(text: object) -> str:
    return HETU_PATTERN.sub(REPLACEMENT, str(text))


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites every record's message with identity codes removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of ``logger`` (root by default), once."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    if _FILTER not in target.filters:
        target.addFilter(_FILTER)
