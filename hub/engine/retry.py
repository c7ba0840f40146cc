"""Retrying transient failures: exponential backoff with full jitter, honouring Retry-After."""

from __future__ import annotations

import logging

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from hub.errors import TransientError
from hub.privacy import redact

log = logging.getLogger(__name__)


class WaitRetryAfter:
    """Wait what the server asked for (``Retry-After``), else exponential backoff with jitter;
    never longer than ``max_wait``."""

    def __init__(self, max_wait: float, multiplier: float = 0.5):
        self.max_wait = max_wait
        self.backoff = wait_random_exponential(multiplier=multiplier, max=max_wait)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            return min(float(asked), self.max_wait)
        return self.backoff(state)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0
    log.warning(
        "attempt %d failed (%s); retrying in %.1f s", state.attempt_number, redact(exc), wait
    )


def retrying(max_attempts: int, max_wait: float) -> Retrying:
    """A tenacity controller retrying :class:`TransientError` only; re-raises the last one."""
    return Retrying(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_attempt(max_attempts),
        wait=WaitRetryAfter(max_wait),
        before_sleep=_log_retry,
        reraise=True,
    )
