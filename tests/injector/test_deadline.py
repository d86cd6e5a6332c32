"""The retry wait: Retry-After honoured, with jitter on top so a throttled fleet does not retry in lockstep."""

from __future__ import annotations

from tenacity import RetryCallState

from injector._deadline import MAX_BACKOFF, Deadline, _wait
from injector._exceptions import BackendUnavailable


def state_after(attempt: int, retry_after: float | None) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    error = BackendUnavailable(
        "throttled", code="TooManyRequests", status=429, transient=True, retry_after=retry_after
    )
    state.set_exception((BackendUnavailable, error, None))
    return state


def test_retry_after_gets_jitter_on_top_in_a_window_that_doubles() -> None:
    deadline = Deadline(600)
    for attempt in (1, 2, 3, 6):
        waits = [_wait(state_after(attempt, 1.0), deadline) for _ in range(400)]
        window = min(MAX_BACKOFF, 2.0**attempt)
        assert all(1.0 <= w <= 1.0 + window for w in waits)
        assert max(waits) - min(waits) > window / 2  # spread, not one wake-up time for everyone


def test_jitter_never_pushes_a_retry_past_the_deadline() -> None:
    deadline = Deadline(3)
    waits = [_wait(state_after(6, 1.0), deadline) for _ in range(200)]
    assert all(1.0 <= w <= 1.0 + (3 - 1.0) / 2 for w in waits)
