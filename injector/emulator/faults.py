"""Trouble on demand: fault rules (latency, error status, connection reset) and the services' throttles.

Fault rules are matched per request in order; every matching rule applies its latency, and the first one with
a status or a reset decides the outcome. Throttles model ARM's per-principal token buckets and Key Vault's
per-vault transactions per 10 s, answering 429 with ``Retry-After`` the way the services do.
"""

from __future__ import annotations

import fnmatch
import math
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from .model import BucketLimit, FaultRule

__all__ = ["FaultDecision", "FaultInjector", "SlidingWindow", "Throttles", "TokenBucket"]


@dataclass(frozen=True)
class FaultDecision:
    latency_s: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    reset: bool = False

    @property
    def empty(self) -> bool:
        return not self.latency_s and self.status is None and not self.reset


class FaultInjector:
    """Decides, per request, which configured faults apply (``times`` is counted per rule, thread-safely)."""

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules)
        self._hits: list[int] = [0] * len(self._rules)

    def set_rules(self, rules: Iterable[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)
            self._hits = [0] * len(self._rules)

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def reset(self) -> None:
        with self._lock:
            self._hits = [0] * len(self._rules)

    def decide(self, route: str, host: str, path: str) -> FaultDecision:
        latency = 0.0
        status: int | None = None
        retry_after: int | None = None
        reset = False
        with self._lock:
            for i, rule in enumerate(self._rules):
                if not (rule.route == "*" or rule.route == route or fnmatch.fnmatchcase(route, rule.route)):
                    continue
                if rule.match is not None and not rule.match.search(host + path):
                    continue
                if rule.times is not None and self._hits[i] >= rule.times:
                    continue
                self._hits[i] += 1
                latency += rule.latency_ms / 1000.0
                if status is None and not reset:
                    if rule.status is not None:
                        status, retry_after = rule.status, rule.retry_after
                    elif rule.reset:
                        reset = True
        return FaultDecision(latency, status, retry_after, reset)


class TokenBucket:
    """ARM's throttle: ``burst`` tokens, refilled continuously at ``refill_per_second``."""

    def __init__(self, limit: BucketLimit) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.stamp = time.monotonic()

    def take(self, now: float) -> tuple[bool, int, int]:
        """(allowed, remaining tokens, seconds until the next token when refused; ceil, at least 1)."""
        self.tokens = min(
            float(self.limit.burst), self.tokens + (now - self.stamp) * self.limit.refill_per_second
        )
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True, int(self.tokens), 0
        wait = (1.0 - self.tokens) / self.limit.refill_per_second
        return False, 0, max(1, math.ceil(wait))


class SlidingWindow:
    """Key Vault's throttle: at most ``limit`` transactions in any 10-second window."""

    WINDOW = 10.0

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.stamps: deque[float] = deque()

    def take(self, now: float) -> tuple[bool, int, int]:
        while self.stamps and self.stamps[0] <= now - self.WINDOW:
            self.stamps.popleft()
        if len(self.stamps) < self.limit:
            self.stamps.append(now)
            return True, self.limit - len(self.stamps), 0
        return False, 0, max(1, math.ceil(self.stamps[0] + self.WINDOW - now))


class Throttles:
    """All throttle state, keyed by (kind, key); created lazily, dropped by :meth:`reset`."""

    def __init__(
        self, arm_writes: BucketLimit | None, arm_reads: BucketLimit | None, keyvault_per_10s: int | None
    ) -> None:
        self._lock = threading.Lock()
        self._arm_writes = arm_writes
        self._arm_reads = arm_reads
        self._keyvault = keyvault_per_10s
        self._state: dict[tuple[str, str], TokenBucket | SlidingWindow] = {}

    def reset(self) -> None:
        with self._lock:
            self._state.clear()

    def _take(self, kind: str, key: str, limit: BucketLimit | int | None) -> tuple[bool, int, int] | None:
        if limit is None:
            return None
        with self._lock:
            item = self._state.get((kind, key))
            if item is None:
                item = TokenBucket(limit) if isinstance(limit, BucketLimit) else SlidingWindow(limit)
                self._state[(kind, key)] = item
            return item.take(time.monotonic())

    def arm(self, *, write: bool, subscription: str, principal: str) -> tuple[bool, int, int] | None:
        """None when the kind is not throttled, else (allowed, remaining, retry after seconds)."""
        key = f"{subscription.lower()}|{principal.lower()}"
        if write:
            return self._take("arm-writes", key, self._arm_writes)
        return self._take("arm-reads", key, self._arm_reads)

    def keyvault(self, vault_host: str) -> tuple[bool, int, int] | None:
        return self._take("keyvault", vault_host.lower(), self._keyvault)
