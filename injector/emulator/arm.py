"""Azure Resource Manager on ``management.azure.com`` (and the other clouds' hosts): the routes the product uses.

Like ARM, every request is authenticated (401), needs ``api-version`` (400), is throttled per principal (429),
and is authorized by RBAC at its scope (403 ``AuthorizationFailed``) before the resource provider looks it up.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .clouds import Cloud
from .messages import Request, Response, json_response, request_id
from .model import Connection, OnlineEndpoint, Vault, Workspace
from .rbac import (
    LISTSECRETS_ACTION,
    RoleAssignment,
    RoleAssignmentExistsError,
    is_guid,
    resolve_role,
    scope_contains,
    subscription_of,
)
from .state import EmulatorState
from .tokens import InvalidToken, TokenClaims, bearer_token

__all__ = ["ArmService"]

Handler = Callable[[Request], Response]

_WS = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
_VAULTS = (
    r"/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?/providers/Microsoft\.KeyVault/vaults"
)
_AUTH = r"(?P<scope>(?:/[^/]+)*?)/providers/Microsoft\.Authorization"
ML = "Microsoft.MachineLearningServices/workspaces"
LISTSECRETS_MIN_API = "2024-04-01"


@dataclass(frozen=True)
class _Route:
    name: str
    pattern: re.Pattern[str]
    methods: dict[str, str]  # method -> handler method name


def _r(name: str, pattern: str, methods: dict[str, str]) -> _Route:
    return _Route(name, re.compile(f"^{pattern}/?$", re.IGNORECASE), methods)


_ROUTES: tuple[_Route, ...] = (
    _r(
        "arm.role_assignment",
        _AUTH + r"/roleAssignments/(?P<name>[^/]+)",
        {"GET": "get_role_assignment", "PUT": "put_role_assignment", "DELETE": "delete_role_assignment"},
    ),
    _r("arm.role_assignments", _AUTH + r"/roleAssignments", {"GET": "list_role_assignments"}),
    _r("arm.permissions", _AUTH + r"/permissions", {"GET": "permissions"}),
    _r("arm.listsecrets", _WS + r"/connections/(?P<conn>[^/]+)/listsecrets", {"POST": "list_secrets"}),
    _r("arm.connection", _WS + r"/connections/(?P<conn>[^/]+)", {"GET": "get_connection"}),
    _r(
        "arm.online_deployments",
        _WS + r"/onlineEndpoints/(?P<ep>[^/]+)/deployments",
        {"GET": "list_deployments"},
    ),
    _r("arm.online_endpoint", _WS + r"/onlineEndpoints/(?P<ep>[^/]+)", {"GET": "get_endpoint"}),
    _r(
        "arm.outbound_rule",
        _WS + r"/outboundRules/(?P<rule>[^/]+)",
        {"GET": "get_outbound_rule", "PUT": "put_outbound_rule", "DELETE": "delete_outbound_rule"},
    ),
    _r("arm.outbound_rules", _WS + r"/outboundRules", {"GET": "list_outbound_rules"}),
    _r("arm.workspace", _WS, {"GET": "get_workspace"}),
    _r(
        "arm.vault",
        r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
        r"/providers/Microsoft\.KeyVault/vaults/(?P<vault>[^/]+)",
        {"GET": "get_vault"},
    ),
    _r("arm.vaults", _VAULTS, {"GET": "list_vaults"}),
    _r(
        "arm.resources",
        r"/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?/resources",
        {"GET": "list_resources"},
    ),
)

# The RBAC action each route/method needs; None: any authenticated caller (ARM's own permissions API).
_ACTIONS: dict[tuple[str, str], str | None] = {
    ("arm.role_assignment", "GET"): "Microsoft.Authorization/roleAssignments/read",
    ("arm.role_assignment", "PUT"): "Microsoft.Authorization/roleAssignments/write",
    ("arm.role_assignment", "DELETE"): "Microsoft.Authorization/roleAssignments/delete",
    ("arm.role_assignments", "GET"): "Microsoft.Authorization/roleAssignments/read",
    ("arm.permissions", "GET"): None,
    ("arm.listsecrets", "POST"): LISTSECRETS_ACTION,
    ("arm.connection", "GET"): f"{ML}/connections/read",
    ("arm.online_deployments", "GET"): f"{ML}/onlineEndpoints/deployments/read",
    ("arm.online_endpoint", "GET"): f"{ML}/onlineEndpoints/read",
    ("arm.outbound_rule", "GET"): f"{ML}/outboundRules/read",
    ("arm.outbound_rule", "PUT"): f"{ML}/outboundRules/write",
    ("arm.outbound_rule", "DELETE"): f"{ML}/outboundRules/delete",
    ("arm.outbound_rules", "GET"): f"{ML}/outboundRules/read",
    ("arm.workspace", "GET"): f"{ML}/read",
    ("arm.vault", "GET"): "Microsoft.KeyVault/vaults/read",
    ("arm.vaults", "GET"): None,  # collections are filtered per item instead
    ("arm.resources", "GET"): None,
}


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(epoch))


def _body_properties(request: Any) -> Any:
    """The ``properties`` object of an ARM PUT body, or None when the body is not JSON of that shape."""
    try:
        body = request.json()
    except ValueError:
        return None
    return body.get("properties") if isinstance(body, dict) else None


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message, **extra}
    base = {"x-ms-request-id": request_id(), "x-ms-correlation-request-id": request_id()}
    return json_response(status, {"error": error}, {**base, **(headers or {})})


def _ok(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    base = {"x-ms-request-id": request_id(), "x-ms-correlation-request-id": request_id()}
    return json_response(status, payload, {**base, **(headers or {})})


def _method_not_allowed(message: str, request: Request) -> Response:
    return _error(405, "MethodNotAllowed", message)


def _not_found_user_error(message: str) -> Response:
    return _error(404, "UserError", message, innerError={"code": "NotFoundError"})


def _resource_not_found(kind: str, name: str, rg: str) -> Response:
    return _error(
        404,
        "ResourceNotFound",
        f"The Resource '{kind}/{name}' under resource group '{rg}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


class ArmService:
    """Routes ARM requests for one cloud's ARM host."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    # ------------------------------------------------------------------------------------------ routing
    def route(self, cloud: Cloud, request: Request) -> tuple[str, Handler]:
        """The route name (for counters and faults) and the handler of an ARM request."""
        for route in _ROUTES:
            m = route.pattern.match(request.path)
            if not m:
                continue
            method_name = route.methods.get(request.method)
            if method_name is None:
                message = (
                    f"The emulator serves {', '.join(route.methods)} on this route, not {request.method}."
                )
                return route.name, functools.partial(_method_not_allowed, message)
            # Routes with several methods are counted per method (arm.role_assignment.put, ...).
            name = route.name if len(route.methods) == 1 else f"{route.name}.{request.method.lower()}"
            return name, functools.partial(
                self._pipeline,
                cloud,
                target=getattr(self, method_name),
                params={k: v for k, v in m.groupdict().items() if v is not None},
                write=request.method in {"PUT", "POST", "DELETE", "PATCH"},
                action=_ACTIONS[(route.name, request.method)],
            )
        return "arm.unknown", lambda req: _error(
            404, "NotSupportedByEmulator", f"The emulator does not serve {req.method} {req.path}."
        )

    def _pipeline(
        self,
        cloud: Cloud,
        request: Request,
        target: Callable[..., Response],
        params: dict[str, str],
        write: bool,
        action: str | None,
    ) -> Response:
        claims = self._authenticate(cloud, request)
        if isinstance(claims, Response):
            return claims
        if not request.param("api-version"):
            return _error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        subscription = params.get("sub") or subscription_of(params.get("scope", ""))
        throttled = self.state.throttles.arm(write=write, subscription=subscription, principal=claims.oid)
        header = "x-ms-ratelimit-remaining-subscription-" + ("writes" if write else "reads")
        if throttled is not None and not throttled[0]:
            kind = "write" if write else "read"
            return _error(
                429,
                "TooManyRequests",
                f"The request was throttled: too many {kind} requests by principal '{claims.oid}' in subscription "
                f"'{subscription}'. Please retry after {throttled[2]} seconds.",
                {"Retry-After": str(throttled[2]), header: "0"},
            )
        if action is not None:
            scope = self._scope(request.path)
            if not self.state.roles.allows(claims.oid, scope, action):
                return self._authorization_failed(claims, action, scope)
        response: Response = target(request, claims, **params)
        if throttled is not None:
            response.headers.setdefault(header, str(throttled[1]))
        return response

    @staticmethod
    def _scope(path: str) -> str:
        """The scope ARM authorizes a request at: the resource id (an action's trailing segment removed)."""
        path = path.rstrip("/")
        if path.lower().endswith("/listsecrets"):
            return path[: -len("/listsecrets")]
        return path

    def _authenticate(self, cloud: Cloud, request: Request) -> TokenClaims | Response:
        token = bearer_token(request.header("Authorization"))
        if token is None:
            return _error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                {
                    "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", '
                    'error="invalid_token", error_description="The authentication failed '
                    "because of missing 'Authorization' header.\""
                },
            )
        challenge = {
            "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", '
            'error="invalid_token", error_description="The access token is invalid."'
        }
        if not token:
            return _error(
                401,
                "AuthenticationFailedInvalidHeader",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                challenge,
            )
        try:
            claims = self.state.issuer.verify(token)
        except InvalidToken as exc:
            if exc.reason == "expired":
                return _error(
                    401,
                    "ExpiredAuthenticationToken",
                    "The access token expiry UTC time is earlier than current UTC time.",
                    challenge,
                )
            return _error(401, "InvalidAuthenticationToken", f"The access token is invalid. {exc}", challenge)
        if not cloud.accepts_arm_audience(claims.aud):
            return _error(
                401,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{claims.aud}'. It "
                f"should exactly match with one of the allowed audiences "
                f"'{', '.join(a + '/' for a in cloud.arm_audiences)}'.",
                challenge,
            )
        if claims.tid != self.state.config.tenant_id:
            return _error(
                401,
                "InvalidAuthenticationTokenTenant",
                f"The access token is from the wrong issuer '{claims.iss}'.",
                challenge,
            )
        return claims

    @staticmethod
    def _authorization_failed(claims: TokenClaims, action: str, scope: str) -> Response:
        return _error(
            403,
            "AuthorizationFailed",
            f"The client '{claims.appid}' with object id '{claims.oid}' does not have authorization to perform "
            f"action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please "
            "refresh your credentials.",
        )

    def _workspace(self, sub: str, rg: str, ws: str) -> Workspace | Response:
        found = self.state.workspace(sub, rg, ws)
        if found is None:
            return _not_found_user_error(
                f"Workspace '{ws}' was not found in resource group '{rg}' of subscription '{sub}'."
            )
        return found

    def _system_data(self) -> dict[str, str]:
        stamp = _iso(self.state.started - 86400)
        return {
            "createdAt": stamp,
            "createdBy": "emulator@example.com",
            "createdByType": "User",
            "lastModifiedAt": stamp,
            "lastModifiedBy": "emulator@example.com",
            "lastModifiedByType": "User",
        }

    # ------------------------------------------------------------------------------------------ connections
    def _connection_resource(self, ws: Workspace, conn: Connection, *, secrets: bool) -> dict[str, Any]:
        props: dict[str, Any] = {
            "authType": conn.auth_type,
            "category": conn.category,
            "target": conn.target,
            "metadata": dict(conn.metadata),
            "expiryTime": conn.expiry_time,
            "isSharedToAll": conn.is_shared_to_all,
            "sharedUserList": [],
            "peRequirement": "NotRequired",
            "peStatus": "NotApplicable",
            "useWorkspaceManagedIdentity": False,
            "createdByWorkspaceArmId": ws.id,
        }
        if secrets and conn.credentials is not None:
            props["credentials"] = {
                k: (dict(v) if isinstance(v, dict) else v) for k, v in conn.credentials.items()
            }
        return {
            "id": f"{ws.id}/connections/{conn.name}",
            "name": conn.name,
            "type": f"{ML}/connections",
            "properties": props,
            "systemData": self._system_data(),
        }

    def list_secrets(
        self, request: Request, claims: TokenClaims, sub: str, rg: str, ws: str, conn: str
    ) -> Response:
        api_version = request.param("api-version") or ""
        if api_version[:10] < LISTSECRETS_MIN_API:
            return _error(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for API version '{api_version}' and type "
                f"'workspaces/connections/listsecrets'. The supported api-versions are '{LISTSECRETS_MIN_API}, "
                "2024-10-01, 2025-04-01'.",
            )
        workspace = self._workspace(sub, rg, ws)
        if isinstance(workspace, Response):
            return workspace
        connection = workspace.connections.get(conn.lower())
        if connection is None:
            return _not_found_user_error(f"Connection {conn} can't be found in this workspace")
        return _ok(200, self._connection_resource(workspace, connection, secrets=True))

    def get_connection(
        self, request: Request, claims: TokenClaims, sub: str, rg: str, ws: str, conn: str
    ) -> Response:
        workspace = self._workspace(sub, rg, ws)
        if isinstance(workspace, Response):
            return workspace
        connection = workspace.connections.get(conn.lower())
        if connection is None:
            return _not_found_user_error(f"Connection {conn} can't be found in this workspace")
        return _ok(200, self._connection_resource(workspace, connection, secrets=False))

    # ------------------------------------------------------------------------------------------ workspace
    def get_workspace(self, request: Request, claims: TokenClaims, sub: str, rg: str, ws: str) -> Response:
        workspace = self.state.workspace(sub, rg, ws)
        if workspace is None:
            return _resource_not_found("Microsoft.MachineLearningServices/workspaces", ws, rg)
        net = workspace.managed_network
        rg_id = f"/subscriptions/{workspace.subscription}/resourceGroups/{workspace.resource_group}"
        managed_network = {
            "isolationMode": net.isolation_mode,
            "outboundRules": self.state.outbound_rules(workspace),
            "status": {"status": net.status, "sparkReady": False},
        }
        return _ok(
            200,
            {
                "id": workspace.id,
                "name": workspace.name,
                "type": "Microsoft.MachineLearningServices/workspaces",
                "location": workspace.location,
                "kind": "Default",
                "tags": {},
                "sku": {"name": "Basic", "tier": "Basic"},
                "identity": {
                    "type": "SystemAssigned",
                    "principalId": _uuid_for(workspace.id, "principal"),
                    "tenantId": self.state.config.tenant_id,
                },
                "properties": {
                    "friendlyName": workspace.name,
                    "workspaceId": _uuid_for(workspace.id, "workspace"),
                    "keyVault": workspace.key_vault,
                    "storageAccount": f"{rg_id}/providers/Microsoft.Storage/storageAccounts/{workspace.name}storage",
                    "applicationInsights": None,
                    "containerRegistry": None,
                    "discoveryUrl": f"https://{workspace.location}.api.azureml.ms/discovery",
                    "provisioningState": "Succeeded",
                    "v1LegacyMode": workspace.v1_legacy_mode,
                    "publicNetworkAccess": "Enabled",
                    "hbiWorkspace": False,
                    "managedNetwork": managed_network,
                },
                "systemData": self._system_data(),
            },
        )

    # ------------------------------------------------------------------------------------------ endpoints
    def _endpoint_resource(self, ws: Workspace, ep: OnlineEndpoint) -> dict[str, Any]:
        identity: dict[str, Any] = {"type": ep.identity.type, "tenantId": self.state.config.tenant_id}
        if ep.identity.principal_id:
            identity["principalId"] = ep.identity.principal_id
        if ep.identity.user_assigned:
            identity["userAssignedIdentities"] = {
                ident.resource_id: {"principalId": ident.principal_id, "clientId": ident.client_id}
                for ident in ep.identity.user_assigned
            }
        host = f"{ep.name}.{ws.location}.inference.ml.azure.com"
        return {
            "id": f"{ws.id}/onlineEndpoints/{ep.name}",
            "name": ep.name,
            "type": f"{ML}/onlineEndpoints",
            "location": ws.location,
            "kind": ep.kind,
            "tags": {},
            "identity": identity,
            "properties": {
                "authMode": ep.auth_mode,
                "description": None,
                "properties": dict(ep.properties),
                "scoringUri": f"https://{host}/score",
                "swaggerUri": f"https://{host}/swagger.json",
                "provisioningState": ep.provisioning_state,
                "traffic": {},
                "mirrorTraffic": {},
                "publicNetworkAccess": "Enabled",
            },
            "systemData": self._system_data(),
        }

    def get_endpoint(
        self, request: Request, claims: TokenClaims, sub: str, rg: str, ws: str, ep: str
    ) -> Response:
        workspace = self._workspace(sub, rg, ws)
        if isinstance(workspace, Response):
            return workspace
        endpoint = workspace.online_endpoints.get(ep.lower())
        if endpoint is None:
            return _not_found_user_error(f"Endpoint {ep} not found.")
        return _ok(200, self._endpoint_resource(workspace, endpoint))

    def list_deployments(
        self, request: Request, claims: TokenClaims, sub: str, rg: str, ws: str, ep: str
    ) -> Response:
        workspace = self._workspace(sub, rg, ws)
        if isinstance(workspace, Response):
            return workspace
        if ep.lower() not in workspace.online_endpoints:
            return _not_found_user_error(f"Endpoint {ep} not found.")
        return _ok(200, {"value": []})

    # ------------------------------------------------------------------------------------------ outbound rules
    def _rule_resource(self, ws: Workspace, name: str, rule: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"{ws.id}/outboundRules/{name}",
            "name": name,
            "type": f"{ML}/outboundRules",
            "properties": rule,
            "systemData": self._system_data(),
        }

    def list_outbound_rules(
        self, request: Request, claims: TokenClaims, sub: str, rg: str, ws: str
    ) -> Response:
        workspace = self._workspace(sub, rg, ws)
        if isinstance(workspace, Response):
            return workspace
        rules = self.state.outbound_rules(workspace)
        return _ok(200, {"value": [self._rule_resource(workspace, n, r) for n, r in rules.items()]})

    def get_outbound_rule(
        self, request: Request, claims: TokenClaims, sub: str, rg: str, ws: str, rule: str
    ) -> Response:
        workspace = self._workspace(sub, rg, ws)
        if isinstance(workspace, Response):
            return workspace
        for name, body in self.state.outbound_rules(workspace).items():
            if name.lower() == rule.lower():
                return _ok(200, self._rule_resource(workspace, name, body))
        return _not_found_user_error(f"Outbound rule {rule} not found in workspace {ws}.")

    def put_outbound_rule(
        self, request: Request, claims: TokenClaims, sub: str, rg: str, ws: str, rule: str
    ) -> Response:
        workspace = self._workspace(sub, rg, ws)
        if isinstance(workspace, Response):
            return workspace
        if workspace.managed_network.isolation_mode == "Disabled":
            return _error(
                400,
                "UserError",
                f"Workspace {ws} has no managed network (isolation mode Disabled); "
                "outbound rules cannot be added.",
                innerError={"code": "BadArgument"},
            )
        props = _body_properties(request)
        if not isinstance(props, dict):
            return _error(
                400,
                "UserError",
                'The request body must be {"properties": {...outbound rule...}}.',
                innerError={"code": "BadArgument"},
            )
        kind = str(props.get("type", ""))
        canonical = {"privateendpoint": "PrivateEndpoint", "fqdn": "FQDN", "servicetag": "ServiceTag"}.get(
            kind.lower()
        )
        if canonical is None:
            return _error(
                400,
                "UserError",
                f"Outbound rule type '{kind}' is not one of PrivateEndpoint, FQDN, ServiceTag.",
                innerError={"code": "BadArgument"},
            )
        if canonical == "PrivateEndpoint":
            destination = props.get("destination")
            if not isinstance(destination, dict) or not destination.get("serviceResourceId"):
                return _error(
                    400,
                    "UserError",
                    "A PrivateEndpoint rule needs destination.serviceResourceId.",
                    innerError={"code": "BadArgument"},
                )
            destination.setdefault("sparkEnabled", False)
        stored = {
            **props,
            "type": canonical,
            "category": "UserDefined",
            "status": workspace.managed_network.status,
        }
        created = self.state.put_outbound_rule(workspace, rule, stored)
        return _ok(201 if created else 200, self._rule_resource(workspace, rule, stored))

    def delete_outbound_rule(
        self, request: Request, claims: TokenClaims, sub: str, rg: str, ws: str, rule: str
    ) -> Response:
        workspace = self._workspace(sub, rg, ws)
        if isinstance(workspace, Response):
            return workspace
        return Response(200 if self.state.delete_outbound_rule(workspace, rule) else 204)

    # ------------------------------------------------------------------------------------------ key vaults
    def _vault_resource(self, vault: Vault) -> dict[str, Any]:
        return {
            "id": vault.id,
            "name": vault.name,
            "type": "Microsoft.KeyVault/vaults",
            "location": vault.location,
            "tags": {},
            "systemData": self._system_data(),
            "properties": {
                "sku": {"family": "A", "name": "standard"},
                "tenantId": self.state.config.tenant_id,
                "accessPolicies": [
                    {
                        "tenantId": self.state.config.tenant_id,
                        "objectId": p.principal_id,
                        "permissions": {"secrets": sorted(p.secrets)},
                    }
                    for p in vault.access_policies
                ],
                "enabledForDeployment": False,
                "enabledForDiskEncryption": False,
                "enabledForTemplateDeployment": False,
                "enableSoftDelete": True,
                "softDeleteRetentionInDays": 90,
                "enableRbacAuthorization": vault.enable_rbac_authorization,
                "vaultUri": f"https://{vault.host}/",
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Disabled" if vault.firewall else "Enabled",
                "networkAcls": {
                    "bypass": "AzureServices" if vault.bypass_azure_services else "None",
                    "defaultAction": "Deny" if vault.firewall else "Allow",
                    "ipRules": [],
                    "virtualNetworkRules": [],
                },
            },
        }

    def get_vault(self, request: Request, claims: TokenClaims, sub: str, rg: str, vault: str) -> Response:
        found = self.state.vault(sub, rg, vault)
        if found is None:
            return _resource_not_found("Microsoft.KeyVault/vaults", vault, rg)
        return _ok(200, self._vault_resource(found))

    def _readable(self, claims: TokenClaims, resource_id: str, action: str) -> bool:
        return self.state.roles.allows(claims.oid, resource_id, action)

    def list_vaults(self, request: Request, claims: TokenClaims, sub: str, rg: str | None = None) -> Response:
        items = [
            self._vault_resource(v)
            for v in self.state.config.vaults
            if v.subscription.lower() == sub.lower()
            and (rg is None or v.resource_group.lower() == rg.lower())
            and self._readable(claims, v.id, "Microsoft.KeyVault/vaults/read")
        ]
        return _ok(200, {"value": items})

    def list_resources(
        self, request: Request, claims: TokenClaims, sub: str, rg: str | None = None
    ) -> Response:
        resources: list[dict[str, Any]] = []
        for v in self.state.config.vaults:
            resources.append(
                {
                    "id": v.id,
                    "name": v.name,
                    "type": "Microsoft.KeyVault/vaults",
                    "location": v.location,
                    "tags": {},
                }
            )
        for w in self.state.config.workspaces:
            resources.append(
                {
                    "id": w.id,
                    "name": w.name,
                    "type": "Microsoft.MachineLearningServices/workspaces",
                    "kind": "Default",
                    "location": w.location,
                    "tags": {},
                }
            )
        for ident in self.state.config.identities.values():
            if ident.resource_id:
                resources.append(
                    {
                        "id": ident.resource_id,
                        "name": ident.name,
                        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                        "location": "eastus",
                        "tags": {},
                    }
                )
        filters = _parse_resource_filter(request.param("$filter"))
        if isinstance(filters, Response):
            return filters
        out = []
        for item in resources:
            parts = item["id"].split("/")
            if parts[2].lower() != sub.lower() or (rg is not None and parts[4].lower() != rg.lower()):
                continue
            fields = {
                "resourcetype": item["type"],
                "name": item["name"],
                "resourcegroup": parts[4],
                "location": item["location"],
            }
            if not all(fields.get(k, "").lower() == v.lower() for k, v in filters):
                continue
            if self._readable(claims, item["id"], f"{item['type']}/read"):
                out.append(item)
        top = request.param("$top")
        if top and top.isdigit():
            out = out[: int(top)]
        return _ok(200, {"value": out})

    # ------------------------------------------------------------------------------------------ RBAC
    def get_role_assignment(self, request: Request, claims: TokenClaims, scope: str, name: str) -> Response:
        found = self.state.roles.get(scope or "/", name)
        if found is None:
            return _error(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
        return _ok(200, found.to_arm())

    def put_role_assignment(self, request: Request, claims: TokenClaims, scope: str, name: str) -> Response:
        scope = scope or "/"
        if not is_guid(name):
            return _error(
                400,
                "InvalidRoleAssignmentId",
                f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.",
            )
        props = _body_properties(request)
        if not isinstance(props, dict):
            return _error(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: 'properties' is required.",
            )
        definition = str(props.get("roleDefinitionId") or "")
        principal = str(props.get("principalId") or "")
        if not definition or not principal:
            return _error(
                400,
                "InvalidRequestContent",
                "The request content must have properties.roleDefinitionId and properties.principalId.",
            )
        role = resolve_role(definition.rstrip("/").rsplit("/", 1)[-1])
        if role is None or "/roleDefinitions/" not in definition:
            return _error(
                400,
                "RoleDefinitionDoesNotExist",
                f"The specified role definition with ID '{definition.rsplit('/', 1)[-1]}' does not exist.",
            )
        principal_type = props.get("principalType")
        if not is_guid(principal) or (
            principal.lower() not in self.state.config.known_principals() and not principal_type
        ):
            return _error(
                400,
                "PrincipalNotFound",
                f"Principal {principal.replace('-', '')} does not exist in the directory "
                f"{self.state.config.tenant_id}. Check that you have the correct principal ID. If you are creating "
                "this principal and then immediately assigning a role, this error might be related to a replication "
                "delay. In this case, set the role assignment principalType property to a value, such as "
                "ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
            )
        same_name = self.state.roles.name_taken(name)
        if same_name is not None and not same_name.same_grant(principal, role.id, scope):
            return _error(
                409,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            )
        assignment = RoleAssignment(
            name=name.lower(),
            principal_id=principal.lower(),
            role=role,
            scope=scope,
            principal_type=str(principal_type or "ServicePrincipal"),
            created_by=claims.oid,
            description=props.get("description"),
        )
        try:
            self.state.roles.add(assignment)
        except RoleAssignmentExistsError as exc:
            return _error(
                409,
                "RoleAssignmentExists",
                "The role assignment already exists.  The ID of the existing role assignment is "
                f"{exc.existing.name.replace('-', '')}.",
            )
        return _ok(201, assignment.to_arm())

    def delete_role_assignment(
        self, request: Request, claims: TokenClaims, scope: str, name: str
    ) -> Response:
        removed = self.state.roles.delete(scope or "/", name)
        if removed is None:
            return Response(204, headers={"x-ms-request-id": request_id()})
        return _ok(200, removed.to_arm())

    def list_role_assignments(self, request: Request, claims: TokenClaims, scope: str) -> Response:
        scope = scope or "/"
        parsed = _parse_assignment_filter(request.param("$filter"))
        if isinstance(parsed, Response):
            return parsed
        at_scope, principal = parsed
        out: list[RoleAssignment] = []
        for a in self.state.roles.all():
            above = scope_contains(a.scope, scope)
            below = scope_contains(scope, a.scope)
            if at_scope and not above:
                continue
            if not (above or below):
                continue
            if principal and a.principal_id.lower() != principal.lower():
                continue
            out.append(a)
        return _ok(200, {"value": [a.to_arm() for a in out]})

    def permissions(self, request: Request, claims: TokenClaims, scope: str) -> Response:
        scope = scope or "/"
        value = [a.role.permission() for a in self.state.roles.applicable(claims.oid, scope)]
        return _ok(200, {"value": value})


def _uuid_for(*parts: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "emulator:" + ":".join(p.lower() for p in parts)))


_FILTER_TERM = re.compile(r"^\s*(?P<field>\w+)\s+eq\s+'(?P<value>[^']*)'\s*$", re.IGNORECASE)
_ASSIGNED_TO = re.compile(r"^\s*assignedTo\('(?P<value>[^']*)'\)\s*$", re.IGNORECASE)


def _parse_assignment_filter(text: str | None) -> tuple[bool, str | None] | Response:
    """``atScope()``, ``principalId eq '...'``, ``assignedTo('...')``, joined by ``and``."""
    at_scope, principal = False, None
    if not text:
        return at_scope, principal
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        if term.strip().lower() == "atscope()":
            at_scope = True
            continue
        m = _FILTER_TERM.match(term) or _ASSIGNED_TO.match(term)
        if m and (m.groupdict().get("field") or "principalid").lower() == "principalid":
            principal = m["value"]
            continue
        return _error(
            400,
            "UnsupportedQuery",
            f"The filter '{text}' is not supported. Supported filters are "
            "either 'atScope()', \"principalId eq '{value}'\" or "
            "\"assignedTo('{value}')\".",
        )
    return at_scope, principal


def _parse_resource_filter(text: str | None) -> list[tuple[str, str]] | Response:
    """``resourceType eq '...'``, ``name eq '...'``, ``resourceGroup eq '...'``, ``location eq '...'``, by ``and``."""
    if not text:
        return []
    out = []
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        m = _FILTER_TERM.match(term)
        if not m or m["field"].lower() not in {"resourcetype", "name", "resourcegroup", "location"}:
            return _error(
                400, "InvalidFilterInQueryString", f"Invalid $filter '{text}' specified in the query string."
            )
        out.append((m["field"].lower(), m["value"]))
    return out
