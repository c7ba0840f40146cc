"""The retry policy: Retry-After is honoured, otherwise exponential backoff with jitter."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tenacity import RetryCallState, Retrying

from hub.engine.retry import WaitRetryAfter, retrying
from hub.errors import PermanentError, TransientError


def state_after(exc: Exception, attempt: int) -> RetryCallState:
    state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


@given(st.floats(min_value=0, max_value=500), st.integers(min_value=1, max_value=10))
def test_retry_after_is_honoured_and_capped(asked, attempt):
    wait = WaitRetryAfter(max_wait=60)
    assert wait(state_after(TransientError("429", retry_after=asked), attempt)) == min(asked, 60)


@given(st.integers(min_value=1, max_value=30))
def test_backoff_is_jittered_exponential_and_capped(attempt):
    wait = WaitRetryAfter(max_wait=60, multiplier=0.5)
    waits = {wait(state_after(TransientError("503"), attempt)) for _ in range(20)}
    assert all(0 <= w <= min(60, 0.5 * 2**attempt) for w in waits)


def test_only_transient_errors_are_retried(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("503", retry_after=0)
        return "ok"

    assert retrying(5, 1)(flaky) == "ok" and len(calls) == 3

    def broken():
        calls.append(1)
        raise PermanentError("400")

    calls.clear()
    with pytest.raises(PermanentError):
        retrying(5, 1)(broken)
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(TransientError):
        retrying(2, 1)(lambda: (calls.append(1), flaky_forever())[1])
    assert len(calls) == 2


def flaky_forever():
    raise TransientError("still down", retry_after=0)
