"""Everything the emulated services share while running: config, token issuer, RBAC, throttles, counters.

One object, created per emulator, so several emulators can run side by side in one process (tests do) and a
reset touches exactly the run-time state: counters, fault hits and throttle buckets, never the configuration.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import threading
import time
from collections import Counter
from typing import Any

from .faults import FaultInjector, Throttles
from .model import EmulatorConfig, Identity, Vault, Workspace
from .rbac import RoleAssignmentStore
from .tokens import TokenIssuer

__all__ = ["Counters", "EmulatorState"]


class Counters:
    """Requests per route name (thread-safe); ``proxy.*`` entries count tunnels and are not in ``total``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, route: str) -> None:
        with self._lock:
            self._counts[route] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            counts = dict(sorted(self._counts.items()))
        counts["total"] = sum(n for route, n in counts.items() if not route.startswith("proxy."))
        return counts

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.started = time.time()
        self.issuer = TokenIssuer(config.tenant_id, config.token_lifetime_seconds)
        self.roles = RoleAssignmentStore(config.role_assignments)
        self.faults = FaultInjector(config.faults)
        limits = config.rate_limits
        self.throttles = Throttles(limits.arm_writes, limits.arm_reads, limits.keyvault_per_10s)
        self.counters = Counters()
        self._lock = threading.Lock()
        # Outbound rules change at run time (PUT/DELETE); everything else in the config is read-only.
        self._outbound_rules: dict[str, dict[str, dict[str, Any]]] = {
            ws.id.lower(): copy.deepcopy({k: dict(v) for k, v in ws.managed_network.outbound_rules.items()})
            for ws in config.workspaces
        }
        self._vaults_by_host = {v.host: v for v in config.vaults}
        # MSI secrets: the configured one selects the default identity; each system-assigned identity also gets
        # its own secret, the way each deployment container gets its own MSI_SECRET for its endpoint's identity.
        self.msi_secrets: dict[str, Identity | None] = {config.msi_secret: config.default_identity}
        for ident in config.identities.values():
            if ident.type == "system_assigned":
                self.msi_secrets[self.identity_secret(ident)] = ident

    def identity_secret(self, identity: Identity) -> str:
        if identity.default:
            return self.config.msi_secret
        digest = hmac.new(
            self.config.msi_secret.encode(), f"identity:{identity.name}".encode(), hashlib.sha256
        )
        return digest.hexdigest()[:40]

    def reset(self) -> None:
        self.counters.reset()
        self.faults.reset()
        self.throttles.reset()

    # ------------------------------------------------------------------------------------------ lookups
    def workspace(self, subscription: str, resource_group: str, name: str) -> Workspace | None:
        wanted = (subscription.lower(), resource_group.lower(), name.lower())
        return next(
            (
                w
                for w in self.config.workspaces
                if (w.subscription.lower(), w.resource_group.lower(), w.name.lower()) == wanted
            ),
            None,
        )

    def vault(self, subscription: str, resource_group: str, name: str) -> Vault | None:
        wanted = (subscription.lower(), resource_group.lower(), name.lower())
        return next(
            (
                v
                for v in self.config.vaults
                if (v.subscription.lower(), v.resource_group.lower(), v.name.lower()) == wanted
            ),
            None,
        )

    def vault_by_host(self, host: str) -> Vault | None:
        return self._vaults_by_host.get(host.lower())

    def outbound_rules(self, workspace: Workspace) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._outbound_rules.get(workspace.id.lower(), {}))

    def put_outbound_rule(self, workspace: Workspace, name: str, rule: dict[str, Any]) -> bool:
        """Store a rule; True when it is new."""
        with self._lock:
            rules = self._outbound_rules.setdefault(workspace.id.lower(), {})
            existing = next((k for k in rules if k.lower() == name.lower()), None)
            if existing is not None:
                del rules[existing]
            rules[name] = copy.deepcopy(rule)
            return existing is None

    def delete_outbound_rule(self, workspace: Workspace, name: str) -> bool:
        with self._lock:
            rules = self._outbound_rules.get(workspace.id.lower(), {})
            existing = next((k for k in rules if k.lower() == name.lower()), None)
            if existing is None:
                return False
            del rules[existing]
            return True
