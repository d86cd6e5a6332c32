"""A reference mix for the benchmarks: the emulator's configuration, the variables, and what they must cost.

``build(variables, connections, vaults)`` makes a deterministic mix that looks like a real deployment: about
40 % of the variables read workspace connections (several fields of each, so they share a List Secrets call),
the rest read Key Vault secrets (some versioned, every fifth one repeating an earlier reference), and one
variable interpolates a connection field and a secret into one value. The same mix is written as a manifest
for the by-hand script, so both resolve exactly the same variables.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from injector import ConnectionReference, KeyVaultReference

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUBSCRIPTION = "00000000-0000-0000-0000-0000000be7c4"
RESOURCE_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-bench"
WORKSPACE_ID = f"{RESOURCE_GROUP}/providers/Microsoft.MachineLearningServices/workspaces/ws-bench"
PREFIX = "BENCH_"  # every variable of the mix starts with this, so a checker can find them

# Per-request latency the issue asks for, on every route (token, ARM, Key Vault, and the proxy CONNECT that
# stands for the TCP/TLS round trip of a new connection).
LATENCY = [{"route": "*", "latency_ms": 20}]

# authType -> the fields a deployment typically maps, as (part, key); part "all" is the whole response.
_FIELDS: dict[str, list[tuple[str, str | None]]] = {
    "CustomKeys": [("credentials", f"KEY_{i:02d}") for i in range(8)] + [("target", None)],
    "ApiKey": [("credentials", "key"), ("target", None), ("metadata", "ApiVersion"), ("all", None)],
    "ServicePrincipal": [("credentials", "clientId"), ("credentials", "clientSecret"), ("target", None)],
    "AccountKey": [("credentials", "key"), ("target", None)],
    "UsernamePassword": [("credentials", "username"), ("credentials", "password"), ("target", None)],
}
_AUTH_TYPES = list(_FIELDS)


@dataclass(frozen=True)
class ConnectionSource:
    connection: str
    part: str  # all | credentials | metadata | target
    key: str | None = None

    def reference(self) -> str:
        return str(ConnectionReference(self.connection, self.part, self.key))


@dataclass(frozen=True)
class SecretSource:
    vault: str
    name: str
    version: str | None = None

    @property
    def vault_url(self) -> str:
        return f"https://{self.vault}.vault.azure.net"

    def reference(self) -> str:
        return str(KeyVaultReference(self.vault_url, self.name, self.version))


Source = ConnectionSource | SecretSource


@dataclass
class Variable:
    name: str
    template: str  # str.format template, one {} per source
    sources: list[Source]

    @property
    def value(self) -> str:
        return self.template.format(*(s.reference() for s in self.sources))


@dataclass
class Scenario:
    variables: list[Variable]
    connections: list[str]
    vaults: list[str]
    auth_types: dict[str, str] = field(default_factory=dict)

    @property
    def stores(self) -> int:
        return len(self.connections) + len(self.vaults)

    def env(self) -> dict[str, str]:
        """The deployment's environment_variables: reference values, as the wrapper sees them."""
        return {v.name: v.value for v in self.variables}

    def sources(self) -> list[Source]:
        return [s for v in self.variables for s in v.sources]

    def minimum_requests(self) -> dict[str, int]:
        """The fewest requests per route that can resolve this mix (one per unique store read)."""
        sources = self.sources()
        connections = {s.connection for s in sources if isinstance(s, ConnectionSource)}
        secrets = {s for s in sources if isinstance(s, SecretSource)}
        vaults = {s.vault for s in secrets}
        counts = {
            "token": int(bool(connections)) + int(bool(secrets)),  # one per audience: ARM, Key Vault
            "arm.listsecrets": len(connections),
            "keyvault.challenge": len(vaults),  # the SDK's 401 bearer-challenge round trip, once per vault
            "keyvault.get_secret": len(secrets),
        }
        counts["total"] = sum(counts.values())
        return counts

    def manifest(self) -> list[dict[str, Any]]:
        """The mix as the by-hand script's SECRETS list (JSON-serialisable)."""
        return [
            {"env": v.name, "template": v.template, "sources": [_manifest_source(s, self) for s in v.sources]}
            for v in self.variables
        ]

    def emulator_config(self, **extra: Any) -> dict[str, Any]:
        return {
            "tenant_id": TENANT,
            "identities": {"endpoint": {"type": "system_assigned", "default": True}},
            "workspaces": [
                {
                    "id": WORKSPACE_ID,
                    "connections": {c: _connection(c, self.auth_types[c]) for c in self.connections},
                }
            ],
            "vaults": [_vault(name, self) for name in self.vaults],
            "role_assignments": [
                {
                    "principal": "endpoint",
                    "role": "Azure Machine Learning Workspace Connection Secrets Reader",
                    "scope": WORKSPACE_ID,
                },
                {"principal": "endpoint", "role": "Key Vault Secrets User", "scope": RESOURCE_GROUP},
            ],
            "faults": LATENCY,
            **extra,
        }


def build(variables: int, connections: int, vaults: int) -> Scenario:
    """``variables`` variables over ``connections`` connections and ``vaults`` vaults (see the module doc)."""
    if variables < connections + vaults + 1:
        raise ValueError("need at least one variable per store, plus the interpolated one")
    conn_names = [f"conn-{i:03d}" for i in range(connections)]
    vault_names = [f"kv-bench-{i:03d}" for i in range(vaults)]
    scenario = Scenario(
        [], conn_names, vault_names, {c: _AUTH_TYPES[i % len(_AUTH_TYPES)] for i, c in enumerate(conn_names)}
    )
    n_conn = max(connections, round(variables * 0.4))
    n_kv = variables - n_conn - 1
    for j in range(n_conn):
        connection = conn_names[j % connections]
        fields = _FIELDS[scenario.auth_types[connection]]
        part, key = fields[(j // connections) % len(fields)]
        scenario.variables.append(
            Variable(f"{PREFIX}CONN_{j:03d}", "{}", [ConnectionSource(connection, part, key)])
        )
    for j in range(n_kv):
        scenario.variables.append(Variable(f"{PREFIX}KV_{j:03d}", "{}", [_secret_for(j, vault_names)]))
    # A connection string built from two references: interpolation, and a read shared with other variables.
    scenario.variables.append(
        Variable(
            f"{PREFIX}DSN",
            "Server={};Uid=app;Pwd={};Encrypt=yes",
            [ConnectionSource(conn_names[0], "target"), _secret_for(0, vault_names)],
        )
    )
    return scenario


def _secret_for(j: int, vaults: list[str]) -> SecretSource:
    vault = vaults[j % len(vaults)]
    k = j // len(vaults)
    if k % 5 == 4:  # every fifth secret of a vault repeats the previous reference: shared by two variables
        k -= 1
    name = f"secret-{k:03d}"
    return SecretSource(vault, name, _version(vault, name) if k % 3 == 1 else None)


def _version(vault: str, name: str) -> str:
    return hashlib.md5(f"{vault}/{name}".encode()).hexdigest()


def _value(*parts: str) -> str:
    # Looks like a key, is not one; still never printed by any benchmark.
    return "v-" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:24]


def _connection(name: str, auth_type: str) -> dict[str, Any]:
    credentials: dict[str, Any]
    if auth_type == "CustomKeys":
        credentials = {"keys": {f"KEY_{i:02d}": _value(name, str(i)) for i in range(8)}}
    elif auth_type == "ServicePrincipal":
        credentials = {"clientId": _value(name, "id"), "clientSecret": _value(name, "s"), "tenantId": TENANT}
    elif auth_type == "UsernamePassword":
        credentials = {"username": "app", "password": _value(name, "p")}
    else:
        credentials = {"key": _value(name, "key")}
    return {
        "auth_type": auth_type,
        "category": "CustomKeys" if auth_type == "CustomKeys" else "AzureOpenAI",
        "target": f"https://{name}.example.net/",
        "metadata": {"ApiVersion": "2024-02-01"},
        "credentials": credentials,
    }


def _vault(name: str, scenario: Scenario) -> dict[str, Any]:
    names = sorted({s.name for s in scenario.sources() if isinstance(s, SecretSource) and s.vault == name})
    return {
        "id": f"{RESOURCE_GROUP}/providers/Microsoft.KeyVault/vaults/{name}",
        "secrets": {n: [{"version": _version(name, n), "value": _value(name, n)}] for n in names},
    }


def _manifest_source(source: Source, scenario: Scenario) -> dict[str, Any]:
    if isinstance(source, SecretSource):
        return {"keyvault": source.vault_url, "name": source.name, "version": source.version}
    # What a user writes by hand: the path into List Secrets' properties, knowing the connection's auth type.
    path: list[str] = {"all": [], "target": ["target"]}.get(source.part, [source.part, source.key or ""])
    if source.part == "credentials" and scenario.auth_types[source.connection] == "CustomKeys":
        path = ["credentials", "keys", source.key or ""]
    return {"connection": source.connection, "path": path}
