"""One overall deadline for a run, and the retry policy that lives under it.

Retries are for transient failures only (429, 5xx, connection errors, an identity endpoint not up yet); each
wait honours ``Retry-After`` when the store sent one, and no wait may run past the deadline: a run never hangs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception

from ._exceptions import BackendUnavailable, CredentialUnavailable, ResolutionError

__all__ = ["Deadline", "call_with_retries"]

T = TypeVar("T")

MAX_BACKOFF = 8.0  # seconds; the longest wait we choose ourselves (a Retry-After may ask for more)
MAX_REQUEST_TIMEOUT = 30.0  # seconds; one request never waits longer than this, whatever the deadline


class Deadline:
    """A point in monotonic time by which the whole run must be over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0

    def request_timeout(self) -> float:
        """The timeout for one request: what is left, capped, and never zero (httpx treats 0 as no wait)."""
        return max(0.01, min(self.remaining(), MAX_REQUEST_TIMEOUT))


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, ResolutionError) and exc.transient


def _wait(state: RetryCallState, deadline: Deadline) -> float:
    exc = state.outcome.exception() if state.outcome else None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        # A throttled service gives every waiter the same Retry-After (ARM tells a whole fleet "1"): waking them
        # all at once is a retry storm that gets most of them refused again. Jitter on top spreads the wake-ups,
        # over a window that doubles with each refusal, so a long queue is asked ever more rarely. The jitter
        # never takes more than half of what the deadline leaves after the Retry-After itself.
        jitter = random.uniform(0, min(MAX_BACKOFF, 2.0**state.attempt_number))
        return float(retry_after) + min(jitter, max(0.0, (deadline.remaining() - float(retry_after)) / 2))
    # Full jitter: a fleet of replicas restarting together must not retry in lockstep.
    return random.uniform(0, min(MAX_BACKOFF, 0.1 * 2**state.attempt_number))


def call_with_retries(fn: Callable[[], T], deadline: Deadline) -> T:
    """Call ``fn`` until it succeeds, fails for good, or the next wait would pass the deadline."""

    def stop(state: RetryCallState) -> bool:
        return state.upcoming_sleep >= deadline.remaining()

    def give_up(state: RetryCallState) -> T:
        exc = state.outcome.exception() if state.outcome else None
        assert isinstance(exc, ResolutionError)
        if exc.retry_after is not None and exc.retry_after >= deadline.remaining() > 0:
            detail = f"asked to retry after {exc.retry_after:g} s, past the deadline"
        else:
            detail = f"still failing when the {deadline.seconds:g} s deadline passed"
        cls = CredentialUnavailable if isinstance(exc, CredentialUnavailable) else BackendUnavailable
        raise cls(
            f"{exc} ({detail}, after {state.attempt_number} attempt(s))",
            code=exc.code if exc.code != "Transient" else "DeadlineExceeded",
            status=exc.status,
        ) from exc

    retrying = Retrying(
        retry=retry_if_exception(_is_transient),
        wait=lambda state: _wait(state, deadline),
        stop=stop,
        reraise=False,
        retry_error_callback=give_up,
    )
    return retrying(fn)
