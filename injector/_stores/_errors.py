"""HTTP failure helpers shared by the stores."""

from __future__ import annotations

import email.utils
import time

import httpx

from .._exceptions import BackendUnavailable

MAX_RETRY_AFTER = 120.0  # seconds; a larger ask is clipped (the deadline still decides)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date); None when absent or unreadable."""
    if (raw := response.headers.get("retry-after")) is not None:
        try:
            seconds = float(raw)
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(raw).timestamp() - time.time()
            except (TypeError, ValueError):
                return None
    elif (millis := response.headers.get("x-ms-retry-after-ms")) is not None:
        try:
            seconds = float(millis) / 1000
        except ValueError:
            return None
    else:
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def transient_http_error(exc: httpx.TransportError) -> BackendUnavailable:
    """A connection, TLS or timeout failure: worth another try while the deadline allows."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
    host = exc.request.url.host if exc._request is not None else "the store"
    return BackendUnavailable(
        f"{host} {kind} ({type(exc).__name__}: {exc})", code="Unreachable", transient=True
    )
