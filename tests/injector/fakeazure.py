"""A respx fake of the three Azure services, for unit tests: the MSI endpoint, ARM List Secrets, Key Vault.

It answers the way the services do (shapes from PROTOCOL.md, the Key Vault 401 challenge included) and records
every request, so tests can count calls per route and assert that no token went anywhere else.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

MSI_ENDPOINT = "http://127.0.0.1:41999/msi/token"
MSI_SECRET = "msi-secret-for-tests"
SUB = "00000000-0000-0000-0000-00000000aaaa"
WORKSPACE_ID = f"/subscriptions/{SUB}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/ws-main"
PRINCIPAL_ID = "11111111-2222-3333-4444-555555555555"
UAI_CLIENT_ID = "99999999-8888-7777-6666-555555555555"
UAI_PRINCIPAL_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
TENANT = "72f988bf-0000-0000-0000-000000000000"

_LIST_SECRETS = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)/connections/(?P<name>[^/]+)/listsecrets$"
)
_SECRET_PATH = re.compile(r"^/secrets/(?P<name>[^/]+)(?:/(?P<version>[^/]*))?$")


def make_token(audience: str, oid: str) -> str:
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    claims = {"aud": audience, "oid": oid, "tid": TENANT, "exp": int(time.time()) + 3600}
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.sig"


@dataclass
class Fault:
    """Answer the next ``times`` matching requests with ``status`` (or a connection error)."""

    status: int | None = 503
    times: int = 1
    retry_after: str | None = None
    connect_error: bool = False


@dataclass
class FakeAzure:
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (vault, name) -> list of (version, value, enabled); the last is the latest
    secrets: dict[tuple[str, str], list[tuple[str, str, bool]]] = field(default_factory=dict)
    # which routes are refused: "arm" -> 403 AuthorizationFailed; vault -> inner code (ForbiddenByRbac, ...)
    denied: dict[str, str] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)  # route -> pending faults
    latency: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    token_hosts: list[str] = field(default_factory=list)  # hosts that received an Authorization header

    def add_connection(self, name: str, auth_type: str, credentials: Any, **props: Any) -> None:
        properties = {"authType": auth_type, "category": props.pop("category", "CustomKeys"), **props}
        if credentials is not None:
            properties["credentials"] = credentials
        self.connections[name] = {
            "id": f"{WORKSPACE_ID}/connections/{name}",
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/connections",
            "properties": properties,
            "systemData": {"createdBy": "someone"},
        }

    def add_secret(self, vault: str, name: str, value: str, version: str, enabled: bool = True) -> None:
        self.secrets.setdefault((vault, name), []).append((version, value, enabled))

    def fail(self, route: str, *faults: Fault) -> None:
        self.faults.setdefault(route, []).extend(faults)

    # -- respx wiring -------------------------------------------------------------------------------------------

    def install(self, router: respx.MockRouter) -> None:
        router.get(url__startswith=MSI_ENDPOINT).mock(side_effect=self._msi)
        router.post(host="management.azure.com").mock(side_effect=self._arm)
        router.get(host__regex=r".*\.vault\.azure\.net").mock(side_effect=self._keyvault)

    def _count(self, route: str) -> None:
        self.calls[route] = self.calls.get(route, 0) + 1

    def _fault(self, route: str, request: httpx.Request) -> httpx.Response | None:
        if self.latency:
            time.sleep(self.latency)
        pending = self.faults.get(route)
        if not pending:
            return None
        fault = pending[0]
        fault.times -= 1
        if fault.times <= 0:
            pending.pop(0)
        if fault.connect_error:
            raise httpx.ConnectError("connection refused", request=request)
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return httpx.Response(
            fault.status or 503,
            headers=headers,
            json={"error": {"code": "Throttled", "message": "try later"}},
        )

    def _msi(self, request: httpx.Request) -> httpx.Response:
        self._count("token")
        if (faulted := self._fault("token", request)) is not None:
            return faulted
        if request.headers.get("secret") != MSI_SECRET:
            return httpx.Response(401, json={"error": "unauthorized"})
        resource = request.url.params["resource"]
        client_id = request.url.params.get("clientid")
        if client_id not in (None, UAI_CLIENT_ID):
            return httpx.Response(
                400, json={"error": "invalid_request", "error_description": "unknown identity"}
            )
        oid = UAI_PRINCIPAL_ID if client_id else PRINCIPAL_ID
        return httpx.Response(
            200,
            json={
                "access_token": make_token(resource, oid),
                "expires_on": str(int(time.time()) + 3600),
                "resource": resource,
                "token_type": "Bearer",
            },
        )

    def _arm(self, request: httpx.Request) -> httpx.Response:
        self._count("listsecrets")
        self.token_hosts.append(request.url.host)
        if (faulted := self._fault("listsecrets", request)) is not None:
            return faulted
        assert request.url.params["api-version"] == "2024-04-01"
        match = _LIST_SECRETS.match(request.url.path)
        if match is None:
            return httpx.Response(404, json={"error": {"code": "NotFound", "message": "no such route"}})
        if "arm" in self.denied:
            return httpx.Response(
                403,
                json={
                    "error": {
                        "code": "AuthorizationFailed",
                        "message": f"The client with object id '{PRINCIPAL_ID}' does not have authorization "
                        "to perform action 'Microsoft.MachineLearningServices/workspaces/connections/"
                        "listsecrets/action'.",
                    }
                },
            )
        connection = self.connections.get(match["name"])
        if connection is None:
            return httpx.Response(
                404,
                json={"error": {"code": "UserError", "message": f"Connection {match['name']} not found"}},
            )
        return httpx.Response(200, json=connection)

    def _keyvault(self, request: httpx.Request) -> httpx.Response:
        vault = request.url.host.split(".")[0]
        if "authorization" not in request.headers:
            self._count("challenge")
            return httpx.Response(
                401,
                headers={
                    "WWW-Authenticate": f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
                    'resource="https://vault.azure.net"'
                },
            )
        self._count("get_secret")
        self.token_hosts.append(request.url.host)
        if (faulted := self._fault(vault, request)) is not None:
            return faulted
        if (inner := self.denied.get(vault)) is not None:
            return httpx.Response(
                403,
                json={
                    "error": {
                        "code": "Forbidden",
                        "message": f"{inner} says no",
                        "innererror": {"code": inner},
                    }
                },
            )
        match = _SECRET_PATH.match(request.url.path)
        assert match is not None
        versions = self.secrets.get((vault, match["name"]), [])
        wanted = match["version"] or None
        found = [v for v in versions if v[0] == wanted] if wanted else versions[-1:]
        if not found:
            return httpx.Response(
                404,
                json={
                    "error": {
                        "code": "SecretNotFound",
                        "message": f"A secret with (name/id) {match['name']} was not found in this key vault.",
                    }
                },
            )
        version, value, enabled = found[0]
        if not enabled:
            return httpx.Response(
                403,
                json={
                    "error": {
                        "code": "Forbidden",
                        "message": "Operation get is not allowed on a disabled secret.",
                        "innererror": {"code": "SecretDisabled"},
                    }
                },
            )
        secret_id = f"https://{request.url.host}/secrets/{match['name']}/{version}"
        return httpx.Response(200, json={"value": value, "id": secret_id, "attributes": {"enabled": True}})
