"""A small ARM REST client for the deploy-time helpers: role assignments, permissions, vaults, the workspace.

Plain httpx over ``injector._http.create_http_client`` (so ``HTTPS_PROXY``, an extra CA and the token allow-list
behave as at run time) with a token from any azure-identity credential. No management SDK: the handful of calls
we make are simpler to read as REST than through five ``azure-mgmt-*`` packages, and this keeps ``check`` usable
in the runtime image. Transient failures (429, 5xx, connection errors) are retried under one deadline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .._clouds import Cloud
from .._credentials import TokenBroker, principal_of
from .._deadline import Deadline, call_with_retries
from .._exceptions import (
    AccessDenied,
    BackendUnavailable,
    ConfigurationError,
    ResolutionError,
    SecretNotFound,
)
from .._http import create_http_client
from .._stores._errors import retry_after_seconds, transient_http_error

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = [
    "AUTHORIZATION_API",
    "KEYVAULT_API",
    "ML_API",
    "Arm",
    "WorkspaceId",
    "arm_failure",
]

ML_API = "2024-04-01"
KEYVAULT_API = "2023-07-01"
AUTHORIZATION_API = "2022-04-01"

_WORKSPACE_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class WorkspaceId:
    """An Azure ML workspace's ARM id, split into its parts."""

    subscription: str
    resource_group: str
    name: str

    @classmethod
    def parse(cls, text: str) -> WorkspaceId:
        match = _WORKSPACE_ID.match(text.strip())
        if match is None:
            raise ConfigurationError(
                f"not a workspace id: {text!r}; expected /subscriptions/<sub>/resourceGroups/<rg>/providers/"
                "Microsoft.MachineLearningServices/workspaces/<name>"
            )
        return cls(match["sub"], match["rg"], match["name"])

    def __str__(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.name}"
        )


class Arm:
    """ARM requests with one credential, one HTTP client and one deadline.

    Usage::

        with Arm(credential, CLOUDS["AzureCloud"]) as arm:
            workspace = arm.get_json(workspace_id, ML_API)

    **Parameters:**
    * **credential** - an azure-core ``TokenCredential`` (the deployer's, or the deployment's own identity).
    * **cloud** - which ARM endpoint to talk to, and which hosts may receive the token.
    * **http_client** - default: a proxy/CA-aware, token-guarded client (closed with this object).
    * **timeout** - seconds for everything this object does, retries included.
    """

    def __init__(
        self,
        credential: TokenCredential,
        cloud: Cloud,
        *,
        http_client: httpx.Client | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.cloud = cloud
        self.deadline = Deadline(timeout)
        self.http = http_client or create_http_client(cloud)
        self._owns_http = http_client is None
        self._broker = TokenBroker(credential, self.deadline)
        self._vaults: dict[str, list[dict[str, Any]]] = {}

    def __enter__(self) -> Arm:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    # -- plumbing -------------------------------------------------------------------------------------------

    def token(self, scope: str | None = None) -> str:
        """A token for ``scope`` (default ARM), one request per scope per run; raises CredentialUnavailable."""
        return str(self._broker.get(scope or self.cloud.arm_scope).token)

    def principal_id(self) -> str | None:
        """The object id of whoever the credential signs in as, read from the token."""
        return principal_of(self.token())

    def request(
        self,
        method: str,
        path: str,
        api_version: str | None,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """One ARM call, retried while transient; any other status is the caller's to interpret."""
        url = path if path.startswith("https://") else f"{self.cloud.arm_endpoint}{path}"
        query = dict(params or {})
        if api_version is not None:
            query["api-version"] = api_version
        token = self.token()

        def once() -> httpx.Response:
            try:
                response = self.http.request(
                    method,
                    url,
                    params=query or None,
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self.deadline.request_timeout(),
                )
            except httpx.TransportError as exc:
                raise transient_http_error(exc) from None
            if response.status_code == 429 or response.status_code >= 500:
                code, message = error_of(response)
                raise BackendUnavailable(
                    f"ARM answered {response.status_code} {code}: {message}",
                    code=code or "Transient",
                    status=response.status_code,
                    transient=True,
                    retry_after=retry_after_seconds(response),
                )
            return response

        return call_with_retries(once, self.deadline)

    def get_json(self, path: str, api_version: str, *, what: str | None = None) -> dict[str, Any]:
        """GET a resource; a non-200 answer raises the matching error, naming ``what``."""
        response = self.request("GET", path, api_version)
        if response.status_code != 200:
            raise arm_failure(response, what or path)
        return _json_object(response, what or path)

    def list_all(
        self, path: str, api_version: str, *, params: dict[str, str] | None = None, what: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of an ARM list, following ``nextLink``."""
        response = self.request("GET", path, api_version, params=params)
        while True:
            if response.status_code != 200:
                raise arm_failure(response, what or path)
            page = _json_object(response, what or path)
            yield from (item for item in page.get("value") or () if isinstance(item, dict))
            next_link = page.get("nextLink")
            if not isinstance(next_link, str) or not next_link:
                return
            response = self.request("GET", next_link, None)

    # -- the calls the helpers make ---------------------------------------------------------------------------

    def vaults(self, subscription: str) -> list[dict[str, Any]]:
        """Every Key Vault of ``subscription`` the credential can read (cached: one listing per run)."""
        if subscription not in self._vaults:
            self._vaults[subscription] = list(
                self.list_all(
                    f"/subscriptions/{subscription}/providers/Microsoft.KeyVault/vaults",
                    KEYVAULT_API,
                    what=f"the key vaults of subscription {subscription}",
                )
            )
        return self._vaults[subscription]

    def find_vault(self, subscription: str, name: str) -> dict[str, Any] | None:
        """The vault called ``name`` in any resource group of ``subscription``, with its properties."""
        for vault in self.vaults(subscription):
            if str(vault.get("name", "")).lower() == name.lower():
                if isinstance(vault.get("properties"), dict):
                    return vault
                # Some listings carry no properties: read the vault itself.
                return self.get_json(str(vault["id"]), KEYVAULT_API, what=f"key vault {name}")
        return None

    def role_assignments(self, scope: str, principal_id: str) -> list[dict[str, Any]]:
        """The principal's role assignments that apply at ``scope`` (there or on an ancestor)."""
        from .roles import same_scope_or_parent

        items = self.list_all(
            f"{scope}/providers/Microsoft.Authorization/roleAssignments",
            AUTHORIZATION_API,
            params={"$filter": f"principalId eq '{principal_id}'"},
            what=f"role assignments at {scope}",
        )
        found = []
        for item in items:
            props = item.get("properties") or {}
            # Filter again ourselves: the filter also returns assignments below the scope.
            if str(props.get("principalId", "")).lower() == principal_id.lower() and same_scope_or_parent(
                str(props.get("scope", "")), scope
            ):
                found.append(item)
        return found

    def create_role_assignment(
        self, scope: str, name: str, role_definition_id: str, principal_id: str
    ) -> Literal["created", "exists"]:
        """PUT one role assignment; 409 RoleAssignmentExists (perhaps under another name) is success."""
        response = self.request(
            "PUT",
            f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            AUTHORIZATION_API,
            body={
                "properties": {
                    "roleDefinitionId": role_definition_id,
                    "principalId": principal_id,
                    # Skips the directory lookup, which can fail for a freshly created identity.
                    "principalType": "ServicePrincipal",
                }
            },
        )
        if response.status_code in (200, 201):
            return "created"
        code, _ = error_of(response)
        if response.status_code == 409 and code == "RoleAssignmentExists":
            return "exists"
        raise arm_failure(response, f"role assignment at {scope}")

    def permissions(self, scope: str) -> list[dict[str, Any]]:
        """The caller's own effective permissions at ``scope`` (actions, notActions, dataActions, ...)."""
        return list(
            self.list_all(
                f"{scope}/providers/Microsoft.Authorization/permissions",
                AUTHORIZATION_API,
                what=f"permissions at {scope}",
            )
        )

    def outbound_rules(self, workspace_id: str) -> dict[str, dict[str, Any]]:
        """The workspace's managed network outbound rules, by name."""
        rules = {}
        for item in self.list_all(f"{workspace_id}/outboundRules", ML_API, what="outbound rules"):
            if isinstance(item.get("name"), str):
                rules[item["name"].rsplit("/", 1)[-1]] = item.get("properties") or {}
        return rules

    def put_outbound_rule(self, workspace_id: str, name: str, rule: dict[str, Any]) -> int:
        """Create or update one outbound rule; returns the status (202: accepted, provisioning)."""
        response = self.request(
            "PUT", f"{workspace_id}/outboundRules/{name}", ML_API, body={"properties": rule}
        )
        if response.status_code not in (200, 201, 202):
            raise arm_failure(response, f"outbound rule {name}")
        return response.status_code


def error_of(response: httpx.Response) -> tuple[str, str]:
    """(code, message) of an ARM error body, however much of it there is."""
    try:
        error = response.json().get("error") or {}
        return str(error.get("code") or ""), str(error.get("message") or "").strip()
    except (ValueError, AttributeError):
        return "", response.reason_phrase


def arm_failure(response: httpx.Response, what: str) -> ResolutionError:
    """A non-success ARM answer as one of our errors (access denied, not found, or unavailable)."""
    code, message = error_of(response)
    status = response.status_code
    text = f"{what}: {status} {code or response.reason_phrase}" + (f": {message}" if message else "")
    if status in (401, 403):
        return AccessDenied(text, code=code or "AuthorizationFailed", status=status)
    if status == 404:
        return SecretNotFound(text, code=code or "NotFound", status=status)
    return BackendUnavailable(text, code=code or str(status), status=status)


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BackendUnavailable(
            f"{what}: ARM answered with something that is not a JSON object", code="InvalidResponse"
        )
    return body
