"""The emulator's configuration: YAML (or a dict) validated into frozen dataclasses.

Every error names the offending key by its path (``vaults[0].secrets.db-password[1].version: ...``), and unknown
keys are errors too, so a typo never silently turns into an emulator that behaves differently than intended.
"""

from __future__ import annotations

import datetime as _dt
import re
import secrets as _secrets
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .clouds import CLOUDS
from .model import (
    AUTH_TYPE_CREDENTIALS,
    AccessPolicy,
    BucketLimit,
    Connection,
    EmulatorConfig,
    EndpointIdentity,
    FaultRule,
    Identity,
    ManagedNetwork,
    OnlineEndpoint,
    RateLimits,
    SecretVersion,
    Vault,
    Workspace,
)
from .rbac import RoleAssignment, RoleDefinition, is_guid, new_assignment_name, resolve_role

__all__ = ["ConfigError", "EmulatorConfig", "fault_to_dict", "load_config", "parse_fault"]


class ConfigError(ValueError):
    """The configuration is invalid; the message starts with the path of the offending key."""


ISOLATION_MODES = {
    "disabled": "Disabled",
    "allow_internet_outbound": "AllowInternetOutbound",
    "allow_only_approved_outbound": "AllowOnlyApprovedOutbound",
}
ENDPOINT_IDENTITY_TYPES = {
    "system_assigned": "SystemAssigned",
    "user_assigned": "UserAssigned",
    "system_assigned,user_assigned": "SystemAssigned,UserAssigned",
    "none": "None",
}
FAULT_STATUSES = frozenset({400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504})

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")  # workspaces and connections
_VAULT_NAME = re.compile(r"^[a-zA-Z0-9-]{3,24}$")
_SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]+$")
_VERSION = re.compile(r"^[0-9a-f]{32}$")
_WORKSPACE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
_VAULT_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.KeyVault/vaults/(?P<name>[^/]+)$",
    re.IGNORECASE,
)
_SCOPE = re.compile(r"^/(subscriptions/[^/]+(/.*)?)?$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------- reading
class _Node:
    """A mapping being read: typed getters that name the key path in errors, and a check for leftovers."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path or '<root>'}: expected a mapping, got {_kind(data)}")
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        value = self.data.get(key)
        return default if value is None else value

    def require(self, key: str) -> Any:
        self.seen.add(key)
        if self.data.get(key) is None:
            raise ConfigError(f"{self.sub(key)}: required")
        return self.data[key]

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.require(key) if required else self.raw(key, default)
        if value is None:
            return None
        return _scalar_str(value, self.sub(key))

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.sub(key)}: expected true or false, got {value!r}")
        return value

    def integer(
        self, key: str, default: int | None = None, *, minimum: int = 0, required: bool = False
    ) -> Any:
        value = self.require(key) if required else self.raw(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{self.sub(key)}: expected an integer >= {minimum}, got {value!r}")
        return value

    def number(self, key: str, *, required: bool = True) -> float:
        value = self.require(key) if required else self.raw(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"{self.sub(key)}: expected a positive number, got {value!r}")
        return float(value)

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.raw(key, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.sub(key)}: expected a mapping, got {_kind(value)}")
        return value

    def sequence(self, key: str) -> list[Any]:
        value = self.raw(key, [])
        if not isinstance(value, list):
            raise ConfigError(f"{self.sub(key)}: expected a list, got {_kind(value)}")
        return value

    def done(self) -> None:
        extra = sorted(str(k) for k in self.data if k not in self.seen)
        if extra:
            allowed = ", ".join(sorted(self.seen))
            raise ConfigError(f"{self.sub(extra[0])}: unknown key (allowed here: {allowed})")


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__


def _scalar_str(value: Any, path: str) -> str:
    """Strings as they are; YAML's numbers, booleans and dates back to the text a user would expect."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return value.isoformat()
    raise ConfigError(f"{path}: expected a string, got {_kind(value)}")


def _string_map(value: Any, path: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a mapping of strings, got {_kind(value)}")
    return {str(k): _scalar_str(v, f"{path}.{k}") for k, v in value.items()}


def _guid(value: str, path: str) -> str:
    if not is_guid(value):
        raise ConfigError(f"{path}: expected a GUID, got {value!r}")
    return value.lower()


def _choice(value: str, choices: Mapping[str, str], path: str) -> str:
    key = value.strip().lower().replace(" ", "").replace("-", "_")
    if key not in choices:
        raise ConfigError(f"{path}: expected one of {', '.join(choices)}, got {value!r}")
    return choices[key]


def _derived_guid(kind: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"secret-injector-emulator:{kind}:{name}"))


# --------------------------------------------------------------------------------------------- sections
def _identities(root: _Node, default_scope: str) -> dict[str, Identity]:
    raw = root.mapping("identities")
    out: dict[str, Identity] = {}
    for name, data in raw.items():
        node = _Node(data, root.sub(f"identities.{name}"))
        kind = _choice(
            node.text("type", required=True),
            {"system_assigned": "system_assigned", "user_assigned": "user_assigned"},
            node.sub("type"),
        )
        principal = _guid(
            node.text("principal_id", _derived_guid("principal", name)), node.sub("principal_id")
        )
        client = _guid(node.text("client_id", _derived_guid("client", name)), node.sub("client_id"))
        resource_id = node.text("resource_id")
        if kind == "user_assigned" and not resource_id:
            resource_id = f"{default_scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        out[str(name)] = Identity(
            str(name), kind, principal, client, resource_id, node.flag("default", False)
        )
        node.done()
    defaults = [i.name for i in out.values() if i.default]
    if len(defaults) > 1:
        raise ConfigError(f"identities: only one identity may be default: true (found {', '.join(defaults)})")
    seen: dict[str, str] = {}
    for ident in out.values():
        for what, value in (("principal_id", ident.principal_id), ("client_id", ident.client_id)):
            other = seen.setdefault(f"{what}:{value}", ident.name)
            if other != ident.name:
                raise ConfigError(f"identities.{ident.name}.{what}: same as identities.{other}")
    return out


def _principal(value: str, identities: Mapping[str, Identity], path: str) -> str:
    """An identity's name or a raw object id (for principals the emulator does not issue tokens to)."""
    if value in identities:
        return identities[value].principal_id
    if is_guid(value):
        return value.lower()
    raise ConfigError(
        f"{path}: {value!r} is neither an identity name ({', '.join(identities) or 'none'}) nor a GUID"
    )


def _connection(name: str, data: Any, path: str) -> Connection:
    if not _NAME.match(name):
        raise ConfigError(f"{path}: connection name must match {_NAME.pattern}")
    node = _Node(data, path)
    auth_type_text = node.text("auth_type", required=True)
    auth_type = next((t for t in AUTH_TYPE_CREDENTIALS if t.lower() == auth_type_text.lower()), None)
    if auth_type is None:
        raise ConfigError(f"{node.sub('auth_type')}: expected one of {', '.join(AUTH_TYPE_CREDENTIALS)}")
    allowed = AUTH_TYPE_CREDENTIALS[auth_type]
    credentials: dict[str, Any] | None = None
    raw_credentials = node.raw("credentials")
    cpath = node.sub("credentials")
    if allowed is None:
        if raw_credentials:
            raise ConfigError(f"{cpath}: authType {auth_type} has no credentials")
    else:
        if not isinstance(raw_credentials, Mapping):
            raise ConfigError(f"{cpath}: required for authType {auth_type} (keys: {', '.join(allowed)})")
        credentials = {}
        for key, value in raw_credentials.items():
            if key not in allowed:
                raise ConfigError(
                    f"{cpath}.{key}: unknown key for authType {auth_type} (allowed: {', '.join(allowed)})"
                )
            if auth_type == "CustomKeys":
                credentials[key] = _string_map(value, f"{cpath}.{key}")
            else:
                credentials[key] = None if value is None else _scalar_str(value, f"{cpath}.{key}")
        if auth_type == "CustomKeys" and not credentials.get("keys"):
            raise ConfigError(
                f"{cpath}.keys: required for authType CustomKeys (a mapping of names to values)"
            )
    expiry = node.raw("expiry_time")
    connection = Connection(
        name=name,
        auth_type=auth_type,
        category=node.text("category", auth_type),
        target=node.text("target", ""),
        metadata=_string_map(node.raw("metadata"), node.sub("metadata")),
        credentials=credentials,
        expiry_time=None if expiry is None else _scalar_str(expiry, node.sub("expiry_time")),
        is_shared_to_all=node.flag("is_shared_to_all", False),
    )
    node.done()
    return connection


def _endpoint(name: str, data: Any, path: str, identities: Mapping[str, Identity]) -> OnlineEndpoint:
    node = _Node(data, path)
    ident_node = _Node(node.raw("identity", {"type": "none"}), node.sub("identity"))
    kind = _choice(
        ident_node.text("type", "system_assigned"), ENDPOINT_IDENTITY_TYPES, ident_node.sub("type")
    )
    principal: str | None = None
    if "SystemAssigned" in kind:
        principal = _principal(
            ident_node.text("principal_id", required=True), identities, ident_node.sub("principal_id")
        )
    user_assigned: list[Identity] = []
    for i, item in enumerate(ident_node.sequence("user_assigned_identities")):
        ipath = ident_node.sub(f"user_assigned_identities[{i}]")
        ident = identities.get(str(item))
        if ident is None or ident.type != "user_assigned":
            raise ConfigError(f"{ipath}: {item!r} is not a user_assigned identity in identities")
        user_assigned.append(ident)
    if "UserAssigned" in kind and not user_assigned:
        raise ConfigError(f"{ident_node.sub('user_assigned_identities')}: required for type {kind}")
    if "UserAssigned" not in kind and user_assigned:
        raise ConfigError(f"{ident_node.sub('user_assigned_identities')}: only for user_assigned identities")
    ident_node.done()
    endpoint = OnlineEndpoint(
        name=name,
        identity=EndpointIdentity(kind, principal, tuple(user_assigned)),
        properties=_string_map(node.raw("properties"), node.sub("properties")),
        auth_mode=_choice(
            node.text("auth_mode", "key"),
            {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"},
            node.sub("auth_mode"),
        ),
        kind=node.text("kind", "Managed"),
        provisioning_state=node.text("provisioning_state", "Succeeded"),
    )
    node.done()
    return endpoint


def _managed_network(data: Any, path: str) -> ManagedNetwork:
    node = _Node(data or {}, path)
    mode = _choice(node.text("isolation_mode", "disabled"), ISOLATION_MODES, node.sub("isolation_mode"))
    default_status = "Inactive" if mode == "Disabled" else "Active"
    status = _choice(
        node.text("status", default_status), {"active": "Active", "inactive": "Inactive"}, node.sub("status")
    )
    rules: dict[str, dict[str, Any]] = {}
    for name, rule in node.mapping("outbound_rules").items():
        rpath = node.sub(f"outbound_rules.{name}")
        if not isinstance(rule, Mapping):
            raise ConfigError(f"{rpath}: expected a mapping (the rule's ARM properties)")
        if str(rule.get("type", "")).lower() not in {"privateendpoint", "fqdn", "servicetag"}:
            raise ConfigError(f"{rpath}.type: expected PrivateEndpoint, FQDN or ServiceTag")
        rules[str(name)] = {"category": "UserDefined", "status": status, **dict(rule)}
    if rules and mode == "Disabled":
        raise ConfigError(
            f"{node.sub('outbound_rules')}: a workspace without a managed network has no outbound rules"
        )
    node.done()
    return ManagedNetwork(mode, status, rules)


def _workspaces(root: _Node, identities: Mapping[str, Identity]) -> tuple[Workspace, ...]:
    out: list[Workspace] = []
    for index, data in enumerate(root.sequence("workspaces")):
        node = _Node(data, root.sub(f"workspaces[{index}]"))
        ws_id = node.text("id", required=True).rstrip("/")
        m = _WORKSPACE_ID.match(ws_id)
        if not m:
            raise ConfigError(
                f"{node.sub('id')}: expected /subscriptions/S/resourceGroups/R/providers/"
                f"Microsoft.MachineLearningServices/workspaces/W, got {ws_id!r}"
            )
        if not _NAME.match(m["name"]):
            raise ConfigError(f"{node.sub('id')}: workspace name must match {_NAME.pattern}")
        key_vault = node.text("key_vault")
        if key_vault and not _VAULT_ID.match(key_vault):
            raise ConfigError(f"{node.sub('key_vault')}: expected a Key Vault ARM id, got {key_vault!r}")
        connections = {
            str(n).lower(): _connection(str(n), d, node.sub(f"connections.{n}"))
            for n, d in node.mapping("connections").items()
        }
        endpoints = {
            str(n).lower(): _endpoint(str(n), d, node.sub(f"online_endpoints.{n}"), identities)
            for n, d in node.mapping("online_endpoints").items()
        }
        out.append(
            Workspace(
                id=ws_id,
                subscription=m["sub"],
                resource_group=m["rg"],
                name=m["name"],
                location=node.text("location", "eastus"),
                key_vault=key_vault,
                v1_legacy_mode=node.flag("v1_legacy_mode", False),
                managed_network=_managed_network(node.raw("managed_network"), node.sub("managed_network")),
                connections=connections,
                online_endpoints=endpoints,
            )
        )
        node.done()
    ids = [w.id.lower() for w in out]
    for i, ws_id in enumerate(ids):
        if ws_id in ids[:i]:
            raise ConfigError(f"workspaces[{i}].id: duplicate workspace {out[i].id}")
    return tuple(out)


def _secret_versions(name: str, data: Any, path: str) -> tuple[SecretVersion, ...]:
    if not _SECRET_NAME.match(name):
        raise ConfigError(f"{path}: secret name must match {_SECRET_NAME.pattern}")
    if isinstance(data, (str, int, float)) and not isinstance(data, bool):
        data = [{"value": str(data)}]  # shorthand: one version with a derived id
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path}: expected a non-empty list of versions (the last is the latest)")
    versions: list[SecretVersion] = []
    for i, item in enumerate(data):
        node = _Node(item, f"{path}[{i}]")
        default_version = uuid.uuid5(uuid.NAMESPACE_URL, f"emulator-secret:{path}:{i}").hex
        version = node.text("version", default_version)
        if not _VERSION.match(version):
            raise ConfigError(f"{node.sub('version')}: expected 32 lowercase hex characters, got {version!r}")
        if any(v.version == version for v in versions):
            raise ConfigError(f"{node.sub('version')}: duplicate version {version}")
        versions.append(
            SecretVersion(
                version=version,
                value=node.text("value", required=True),
                enabled=node.flag("enabled", True),
                content_type=node.text("content_type"),
                tags=_string_map(node.raw("tags"), node.sub("tags")),
            )
        )
        node.done()
    return tuple(versions)


def _vaults(root: _Node, identities: Mapping[str, Identity]) -> tuple[Vault, ...]:
    out: list[Vault] = []
    for index, data in enumerate(root.sequence("vaults")):
        node = _Node(data, root.sub(f"vaults[{index}]"))
        vault_id = node.text("id", required=True).rstrip("/")
        m = _VAULT_ID.match(vault_id)
        if not m:
            raise ConfigError(
                f"{node.sub('id')}: expected /subscriptions/S/resourceGroups/R/providers/Microsoft.KeyVault/vaults/NAME"
            )
        if not _VAULT_NAME.match(m["name"]):
            raise ConfigError(f"{node.sub('id')}: vault name must be 3-24 of [a-zA-Z0-9-]")
        cloud_name = node.text("cloud", "AzureCloud")
        cloud = next((c for n, c in CLOUDS.items() if n.lower() == cloud_name.lower()), None)
        if cloud is None:
            raise ConfigError(f"{node.sub('cloud')}: expected one of {', '.join(CLOUDS)}, got {cloud_name!r}")
        policies: list[AccessPolicy] = []
        for i, item in enumerate(node.sequence("access_policies")):
            pnode = _Node(item, node.sub(f"access_policies[{i}]"))
            principal = _principal(pnode.text("principal", required=True), identities, pnode.sub("principal"))
            perms = pnode.raw("secrets", [])
            if not isinstance(perms, list):
                raise ConfigError(f"{pnode.sub('secrets')}: expected a list such as [get, list]")
            policies.append(AccessPolicy(principal, frozenset(str(p).lower() for p in perms)))
            pnode.done()
        secrets: dict[str, tuple[str, tuple[SecretVersion, ...]]] = {}
        for name, versions in node.mapping("secrets").items():
            spath = node.sub(f"secrets.{name}")
            if str(name).lower() in secrets:
                raise ConfigError(f"{spath}: duplicate secret (names are case-insensitive)")
            secrets[str(name).lower()] = (str(name), _secret_versions(str(name), versions, spath))
        rbac = node.flag("enable_rbac_authorization", True)
        if policies and rbac:
            raise ConfigError(
                f"{node.sub('access_policies')}: only used when enable_rbac_authorization is false"
            )
        out.append(
            Vault(
                id=vault_id,
                subscription=m["sub"],
                resource_group=m["rg"],
                name=m["name"],
                cloud=cloud,
                location=node.text("location", "eastus"),
                enable_rbac_authorization=rbac,
                firewall=node.flag("firewall", False),
                bypass_azure_services=node.flag("bypass_azure_services", True),
                access_policies=tuple(policies),
                secrets=secrets,
            )
        )
        node.done()
    hosts = [v.host for v in out]
    for i, host in enumerate(hosts):
        if host in hosts[:i]:
            raise ConfigError(f"vaults[{i}].id: another vault already has the host {host}")
    return tuple(out)


def _role_assignments(root: _Node, identities: Mapping[str, Identity]) -> list[RoleAssignment]:
    out: list[RoleAssignment] = []
    for index, data in enumerate(root.sequence("role_assignments")):
        node = _Node(data, root.sub(f"role_assignments[{index}]"))
        principal = _principal(node.text("principal", required=True), identities, node.sub("principal"))
        role_text = node.text("role", required=True)
        role: RoleDefinition | None = resolve_role(role_text)
        if role is None:
            raise ConfigError(
                f"{node.sub('role')}: unknown role {role_text!r} (a built-in role name or GUID)"
            )
        scope = node.text("scope", required=True).rstrip("/") or "/"
        if not _SCOPE.match(scope):
            raise ConfigError(
                f"{node.sub('scope')}: expected an ARM id starting with /subscriptions/, got {scope!r}"
            )
        name = node.text("name") or new_assignment_name(principal, role.id, scope)
        if not is_guid(name):
            raise ConfigError(f"{node.sub('name')}: a role assignment name is a GUID")
        out.append(RoleAssignment(name.lower(), principal, role, scope, created_by=None))
        node.done()
    return out


def _implicit_assignments(workspaces: tuple[Workspace, ...]) -> list[RoleAssignment]:
    """What Azure ML grants by itself: an endpoint's system identity gets the connections role on the
    workspace when the endpoint has ``enforce_access_to_default_secret_stores: enabled`` (PROTOCOL.md)."""
    role = resolve_role("ea01e6af-a1c1-4350-9563-ad00f8c72ec5")
    assert role is not None
    out = []
    for ws in workspaces:
        for ep in ws.online_endpoints.values():
            enforced = (
                str(ep.properties.get("enforce_access_to_default_secret_stores", "")).lower() == "enabled"
            )
            if enforced and ep.identity.principal_id:
                name = new_assignment_name("implicit", ep.identity.principal_id, role.id, ws.id)
                out.append(
                    RoleAssignment(name, ep.identity.principal_id, role, ws.id, description="Azure ML")
                )
    return out


def _faults(root: _Node) -> tuple[FaultRule, ...]:
    return tuple(
        parse_fault(item, root.sub(f"faults[{i}]")) for i, item in enumerate(root.sequence("faults"))
    )


def parse_fault(data: Any, path: str = "fault") -> FaultRule:
    """One fault rule (also used for rules set at run time through the control API)."""
    node = _Node(data, path)
    route = node.text("route", required=True)
    pattern = node.text("match")
    try:
        match = re.compile(pattern) if pattern else None
    except re.error as exc:
        raise ConfigError(f"{node.sub('match')}: invalid regular expression: {exc}") from None
    status = node.integer("status")
    if status is not None and status not in FAULT_STATUSES:
        raise ConfigError(f"{node.sub('status')}: expected one of {sorted(FAULT_STATUSES)}, got {status}")
    reset = node.flag("reset", False)
    latency = node.integer("latency_ms", 0)
    if status is not None and reset:
        raise ConfigError(f"{path}: status and reset exclude each other")
    if status is None and not reset and not latency:
        raise ConfigError(f"{path}: needs one of latency_ms, status, reset")
    retry_after = node.integer("retry_after")
    if retry_after is not None and status is None:
        raise ConfigError(f"{node.sub('retry_after')}: only with status")
    rule = FaultRule(
        route=route,
        match=match,
        latency_ms=latency,
        status=status,
        retry_after=retry_after,
        times=node.integer("times", minimum=1),
        reset=reset,
    )
    node.done()
    return rule


def fault_to_dict(rule: FaultRule) -> dict[str, Any]:
    """The inverse of :func:`parse_fault` (defaults left out), for the control API."""
    fields = {
        "route": rule.route,
        "match": rule.match.pattern if rule.match else None,
        "latency_ms": rule.latency_ms or None,
        "status": rule.status,
        "retry_after": rule.retry_after,
        "times": rule.times,
        "reset": rule.reset or None,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _rate_limits(root: _Node) -> RateLimits:
    if "rate_limits" not in root.data:
        return RateLimits()
    node = _Node(root.raw("rate_limits", {}), root.sub("rate_limits"))
    defaults = RateLimits()

    def bucket(key: str, default: BucketLimit | None) -> BucketLimit | None:
        if key not in node.data:
            node.seen.add(key)
            return default
        value = node.raw(key)
        if value is None or value is False:
            return None
        bnode = _Node(value, node.sub(key))
        limit = BucketLimit(
            bnode.integer("burst", required=True, minimum=1), bnode.number("refill_per_second")
        )
        bnode.done()
        return limit

    writes = bucket("arm_writes", defaults.arm_writes)
    reads = bucket("arm_reads", defaults.arm_reads)
    per_10s: int | None = defaults.keyvault_per_10s
    if "keyvault" in node.data:
        value = node.raw("keyvault")
        if value is None or value is False:
            per_10s = None
        else:
            knode = _Node(value, node.sub("keyvault"))
            per_10s = knode.integer("per_10s", required=True, minimum=1)
            knode.done()
    else:
        node.seen.add("keyvault")
    node.done()
    return RateLimits(writes, reads, per_10s)


# --------------------------------------------------------------------------------------------- entry point
def load_config(source: EmulatorConfig | str | Path | Mapping[str, Any]) -> EmulatorConfig:
    """Read and validate a configuration from a YAML file path, a parsed mapping, or pass one through."""
    if isinstance(source, EmulatorConfig):
        return source
    if isinstance(source, (str, Path)):
        import yaml

        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        return _build(data if data is not None else {})
    return _build(source)


def _build(data: Any) -> EmulatorConfig:
    root = _Node(data, "")
    tenant = _guid(root.text("tenant_id", required=True), "tenant_id")
    msi_secret = root.text("msi_secret") or _secrets.token_urlsafe(24)
    # A user-assigned identity without resource_id gets one under the first workspace's resource group.
    first = next(iter(root.sequence("workspaces")), None)
    default_scope = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator"
    if isinstance(first, Mapping) and isinstance(first.get("id"), str):
        m = _WORKSPACE_ID.match(first["id"])
        if m:
            default_scope = f"/subscriptions/{m['sub']}/resourceGroups/{m['rg']}"
    identities = _identities(root, default_scope)
    workspaces = _workspaces(root, identities)
    vaults = _vaults(root, identities)
    assignments = _role_assignments(root, identities) + _implicit_assignments(workspaces)
    config = EmulatorConfig(
        tenant_id=tenant,
        msi_secret=msi_secret,
        identities=identities,
        workspaces=workspaces,
        vaults=vaults,
        role_assignments=tuple(assignments),
        faults=_faults(root),
        rate_limits=_rate_limits(root),
        token_lifetime_seconds=root.integer("token_lifetime_seconds", 86400, minimum=60),
        msi_expires_on=_choice(
            root.text("msi_expires_on", "string"),
            {"string": "string", "integer": "integer"},
            "msi_expires_on",
        ),
    )
    root.done()
    return config
