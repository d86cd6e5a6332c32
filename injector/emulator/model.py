"""What the emulator emulates: identities, workspaces, vaults, faults and limits, as frozen dataclasses.

Built and validated by :mod:`.config`; read by the services. Names follow the YAML schema, values are
normalized (GUIDs lower case, enums in ARM casing) so the services never re-validate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .clouds import Cloud
from .rbac import RoleAssignment

__all__ = [
    "AUTH_TYPE_CREDENTIALS",
    "AccessPolicy",
    "BucketLimit",
    "Connection",
    "EmulatorConfig",
    "EndpointIdentity",
    "FaultRule",
    "Identity",
    "ManagedNetwork",
    "OnlineEndpoint",
    "RateLimits",
    "SecretVersion",
    "Vault",
    "Workspace",
]

# authType -> the credential keys Azure returns for it (PROTOCOL.md); None: no ``credentials`` object at all.
AUTH_TYPE_CREDENTIALS: dict[str, tuple[str, ...] | None] = {
    "ApiKey": ("key",),
    "CustomKeys": ("keys",),
    "AccessKey": ("accessKeyId", "secretAccessKey"),
    "AccountKey": ("key",),
    "ServicePrincipal": ("clientId", "clientSecret", "tenantId"),
    "UsernamePassword": ("username", "password", "securityToken"),
    "SAS": ("sas",),
    "PAT": ("pat",),
    "ManagedIdentity": ("resourceId", "clientId"),
    "OAuth2": (
        "authUrl",
        "clientId",
        "clientSecret",
        "developerToken",
        "password",
        "refreshToken",
        "tenantId",
        "username",
    ),
    "AAD": None,
    "None": None,
}


@dataclass(frozen=True)
class Identity:
    name: str
    type: str  # system_assigned | user_assigned
    principal_id: str
    client_id: str
    resource_id: str | None = None
    default: bool = False


@dataclass(frozen=True)
class Connection:
    name: str
    auth_type: str
    category: str
    target: str
    metadata: Mapping[str, str]
    credentials: Mapping[str, Any] | None
    expiry_time: str | None = None
    is_shared_to_all: bool = False


@dataclass(frozen=True)
class EndpointIdentity:
    type: str  # ARM casing: SystemAssigned | UserAssigned | "SystemAssigned,UserAssigned" | None
    principal_id: str | None
    user_assigned: tuple[Identity, ...] = ()


@dataclass(frozen=True)
class OnlineEndpoint:
    name: str
    identity: EndpointIdentity
    properties: Mapping[str, str]
    auth_mode: str = "Key"
    kind: str = "Managed"
    provisioning_state: str = "Succeeded"


@dataclass(frozen=True)
class ManagedNetwork:
    isolation_mode: str  # ARM casing
    status: str  # Active | Inactive
    outbound_rules: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Workspace:
    id: str
    subscription: str
    resource_group: str
    name: str
    location: str
    key_vault: str | None
    v1_legacy_mode: bool
    managed_network: ManagedNetwork
    connections: Mapping[str, Connection]  # keyed by lower-case name
    online_endpoints: Mapping[str, OnlineEndpoint]  # keyed by lower-case name


@dataclass(frozen=True)
class SecretVersion:
    version: str
    value: str
    enabled: bool = True
    content_type: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessPolicy:
    principal_id: str
    secrets: frozenset[str]  # lower-case permissions: get, list, ...


@dataclass(frozen=True)
class Vault:
    id: str
    subscription: str
    resource_group: str
    name: str
    cloud: Cloud
    location: str
    enable_rbac_authorization: bool
    firewall: bool
    bypass_azure_services: bool
    access_policies: tuple[AccessPolicy, ...]
    secrets: Mapping[
        str, tuple[str, tuple[SecretVersion, ...]]
    ]  # lower name -> (name, versions; last = latest)

    @property
    def host(self) -> str:
        return self.cloud.vault_host(self.name)


@dataclass(frozen=True)
class FaultRule:
    route: str  # route name, or a glob such as ``arm.*`` or ``*``
    match: re.Pattern[str] | None = None  # searched in host + path
    latency_ms: int = 0
    status: int | None = None
    retry_after: int | None = None
    times: int | None = None  # only the first N matching requests
    reset: bool = False


@dataclass(frozen=True)
class BucketLimit:
    burst: int
    refill_per_second: float


@dataclass(frozen=True)
class RateLimits:
    arm_writes: BucketLimit | None = BucketLimit(200, 10.0)
    arm_reads: BucketLimit | None = BucketLimit(250, 25.0)
    keyvault_per_10s: int | None = 4000


@dataclass(frozen=True)
class EmulatorConfig:
    tenant_id: str
    msi_secret: str
    identities: Mapping[str, Identity]
    workspaces: tuple[Workspace, ...]
    vaults: tuple[Vault, ...]
    role_assignments: tuple[RoleAssignment, ...]
    faults: tuple[FaultRule, ...] = ()
    rate_limits: RateLimits = RateLimits()
    token_lifetime_seconds: int = 86400
    msi_expires_on: str = "string"  # string | integer: how ``expires_on`` is written in MSI responses

    @property
    def default_identity(self) -> Identity | None:
        return next((i for i in self.identities.values() if i.default), None)

    def identity_by_client_id(self, client_id: str) -> Identity | None:
        return next((i for i in self.identities.values() if i.client_id.lower() == client_id.lower()), None)

    def identity_by_principal_id(self, principal_id: str) -> Identity | None:
        pid = principal_id.lower()
        return next((i for i in self.identities.values() if i.principal_id.lower() == pid), None)

    def known_principals(self) -> set[str]:
        found = {i.principal_id.lower() for i in self.identities.values()}
        for ws in self.workspaces:
            found.update(
                e.identity.principal_id.lower()
                for e in ws.online_endpoints.values()
                if e.identity.principal_id
            )
        return found
