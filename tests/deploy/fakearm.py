"""A respx fake of the ARM management calls the deploy-time helpers make.

Online endpoint (and its deployments list), workspace with managed network, outbound rules, Key Vault
management (list by subscription), role assignments (list, PUT, 409) and the caller's permissions, which are
computed from the role assignments the way ARM does (an assignment at a scope covers everything below it).
The caller is the ``oid`` of the bearer token, so the same fake serves the deployer and the deployment.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

from tests.injector.fakeazure import PRINCIPAL_ID, SUB, UAI_CLIENT_ID, UAI_PRINCIPAL_ID, WORKSPACE_ID

DEPLOYER_ID = "dddddddd-0000-0000-0000-00000000dddd"
UAI_ID = f"/subscriptions/{SUB}/resourceGroups/rg-ml/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uai-1"
WORKSPACE_VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/rg-ml/providers/Microsoft.KeyVault/vaults/kv-ws"

ROLES = {
    # Owner: every action, no data action (it cannot read a secret's value).
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": {"actions": ["*"], "notActions": [], "dataActions": []},
    # Reader
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": {"actions": ["*/read"], "notActions": [], "dataActions": []},
    "ea01e6af-a1c1-4350-9563-ad00f8c72ec5": {
        "actions": ["Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action"],
        "notActions": [],
        "dataActions": [],
    },
    "4633458b-17de-408a-b874-0445c86b69e6": {
        "actions": [],
        "notActions": [],
        "dataActions": [
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
    },
}
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def vault_id(name: str, group: str = "rg-data") -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}"


def oid_of(request: httpx.Request) -> str | None:
    auth = request.headers.get("authorization", "")
    try:
        payload = auth.split(" ", 1)[1].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]  # type: ignore[no-any-return]
    except (IndexError, ValueError, KeyError):
        return None


@dataclass
class FakeArm:
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    managed_network: dict[str, Any] | None = None
    v1_legacy_mode: bool = False
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    vaults: list[dict[str, Any]] = field(default_factory=list)
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case id -> assignment
    requests: list[tuple[str, str]] = field(default_factory=list)
    conflict_on_put: bool = False  # answer every role assignment PUT with 409 RoleAssignmentExists
    deny_list: bool = False  # role assignment listing answers 403

    def __post_init__(self) -> None:
        self.assign(DEPLOYER_ID, OWNER, f"/subscriptions/{SUB}")

    # -- setup ----------------------------------------------------------------------------------------------

    def add_endpoint(self, name: str, kind: str = "SystemAssigned", enforce: bool = False) -> None:
        identity: dict[str, Any] = {"type": kind, "tenantId": "t"}
        if "SystemAssigned" in kind:
            identity["principalId"] = PRINCIPAL_ID
        if "UserAssigned" in kind:
            identity["userAssignedIdentities"] = {
                UAI_ID: {"principalId": UAI_PRINCIPAL_ID, "clientId": UAI_CLIENT_ID}
            }
        props = {"enforce_access_to_default_secret_stores": "enabled"} if enforce else {}
        self.endpoints[name] = {
            "id": f"{WORKSPACE_ID}/onlineEndpoints/{name}",
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            "location": "westeurope",
            "identity": identity,
            "properties": {"authMode": "Key", "properties": props, "provisioningState": "Succeeded"},
        }

    def add_vault(self, name: str, group: str = "rg-data", rbac: bool = True) -> str:
        vid = vault_id(name, group)
        self.vaults.append(
            {
                "id": vid,
                "name": name,
                "type": "Microsoft.KeyVault/vaults",
                "properties": {
                    "vaultUri": f"https://{name}.vault.azure.net/",
                    "enableRbacAuthorization": rbac,
                },
            }
        )
        return vid

    def assign(self, principal: str, role: str, scope: str, name: str | None = None) -> None:
        name = name or f"a{len(self.assignments)}"
        self.assignments[f"{scope}/providers/microsoft.authorization/roleassignments/{name}".lower()] = {
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": name,
            "properties": {
                "scope": scope,
                "principalId": principal,
                "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            },
        }

    def roles_of(self, principal: str, scope: str) -> list[str]:
        out = []
        for item in self.assignments.values():
            props = item["properties"]
            parent = props["scope"].lower()
            if props["principalId"] == principal and (
                scope.lower() == parent or scope.lower().startswith(parent + "/")
            ):
                out.append(props["roleDefinitionId"].rsplit("/", 1)[-1])
        return out

    def puts(self, kind: str) -> int:
        return sum(1 for method, path in self.requests if method == "PUT" and kind in path)

    # -- respx ----------------------------------------------------------------------------------------------

    def install(self, router: respx.MockRouter) -> None:
        router.get(host="management.azure.com").mock(side_effect=self._handle)
        router.put(host="management.azure.com").mock(side_effect=self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append((request.method, path))
        caller = oid_of(request)
        if caller is None:
            return _error(401, "AuthenticationFailed", "no token")
        for pattern, handler in self._routes():
            if (match := re.fullmatch(pattern, path, re.IGNORECASE)) is not None:
                return handler(request, caller, match)  # type: ignore[operator]
        return _error(404, "NotFound", f"no route for {path}")

    def _routes(self) -> list[tuple[str, Any]]:
        ws = re.escape(WORKSPACE_ID)
        return [
            (rf"{ws}/onlineEndpoints/(?P<name>[^/]+)", self._endpoint),
            (
                rf"{ws}/onlineEndpoints/(?P<name>[^/]+)/deployments",
                lambda *_: httpx.Response(200, json={"value": []}),
            ),
            (rf"{ws}/outboundRules", self._rules),
            (rf"{ws}/outboundRules/(?P<name>[^/]+)", self._rule),
            (ws, self._workspace),
            (rf"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults", self._vaults),
            (r"(?P<scope>/.*)/providers/Microsoft.Authorization/permissions", self._permissions),
            (r"(?P<scope>/.*)/providers/Microsoft.Authorization/roleAssignments", self._list_assignments),
            (
                r"(?P<scope>/.*)/providers/Microsoft.Authorization/roleAssignments/(?P<name>[^/]+)",
                self._put_assignment,
            ),
        ]

    def _endpoint(self, request: httpx.Request, caller: str, match: re.Match[str]) -> httpx.Response:
        endpoint = self.endpoints.get(match["name"])
        if endpoint is None:
            return _error(404, "UserError", f"Endpoint {match['name']} not found")
        return httpx.Response(200, json=endpoint)

    def _workspace(self, request: httpx.Request, caller: str, match: re.Match[str]) -> httpx.Response:
        props: dict[str, Any] = {"keyVault": WORKSPACE_VAULT_ID, "v1LegacyMode": self.v1_legacy_mode}
        if self.managed_network is not None:
            props["managedNetwork"] = {**self.managed_network, "outboundRules": self.rules}
        return httpx.Response(200, json={"id": WORKSPACE_ID, "name": "ws-main", "properties": props})

    def _rules(self, request: httpx.Request, caller: str, match: re.Match[str]) -> httpx.Response:
        value = [
            {"id": f"{WORKSPACE_ID}/outboundRules/{n}", "name": n, "properties": p}
            for n, p in self.rules.items()
        ]
        return httpx.Response(200, json={"value": value})

    def _rule(self, request: httpx.Request, caller: str, match: re.Match[str]) -> httpx.Response:
        if request.method == "PUT":
            self.rules[match["name"]] = json.loads(request.content)["properties"]
            return httpx.Response(202, json={"properties": self.rules[match["name"]]})
        if match["name"] not in self.rules:
            return _error(404, "NotFound", "no rule")
        return httpx.Response(200, json={"name": match["name"], "properties": self.rules[match["name"]]})

    def _vaults(self, request: httpx.Request, caller: str, match: re.Match[str]) -> httpx.Response:
        # The list holds only what the caller can read: here, anyone with an action at the vault or above.
        visible = [v for v in self.vaults if any(ROLES[r]["actions"] for r in self.roles_of(caller, v["id"]))]
        half = len(visible) // 2
        if "page" not in request.url.params and half:  # two pages, to exercise nextLink
            next_link = f"https://management.azure.com{request.url.path}?api-version=2023-07-01&page=2"
            return httpx.Response(200, json={"value": visible[:half], "nextLink": next_link})
        return httpx.Response(200, json={"value": visible[half:] if half else visible})

    def _permissions(self, request: httpx.Request, caller: str, match: re.Match[str]) -> httpx.Response:
        return httpx.Response(200, json={"value": [ROLES[r] for r in self.roles_of(caller, match["scope"])]})

    def _list_assignments(self, request: httpx.Request, caller: str, match: re.Match[str]) -> httpx.Response:
        if self.deny_list:
            return _error(403, "AuthorizationFailed", "cannot list")
        wanted = re.search(r"principalId eq '([^']+)'", request.url.params.get("$filter", ""))
        value = [
            a
            for a in self.assignments.values()
            if wanted is None or a["properties"]["principalId"] == wanted.group(1)
        ]
        return httpx.Response(200, json={"value": value})

    def _put_assignment(self, request: httpx.Request, caller: str, match: re.Match[str]) -> httpx.Response:
        body = json.loads(request.content)["properties"]
        assert body["principalType"] == "ServicePrincipal"
        if OWNER not in self.roles_of(caller, match["scope"]):
            return _error(403, "AuthorizationFailed", f"{caller} cannot write role assignments")
        role = body["roleDefinitionId"].rsplit("/", 1)[-1]
        key = f"{match['scope']}/providers/microsoft.authorization/roleassignments/{match['name']}".lower()
        duplicate = any(
            a["properties"]["principalId"] == body["principalId"]
            and a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1] == role
            and a["properties"]["scope"].lower() == match["scope"].lower()
            for a in self.assignments.values()
        )
        if self.conflict_on_put or duplicate:
            return _error(409, "RoleAssignmentExists", "The role assignment already exists.")
        self.assign(body["principalId"], role, match["scope"], match["name"])
        return httpx.Response(201, json=self.assignments[key])


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})
