"""The online endpoint's managed identity, read through azure-ai-ml (``online_endpoints.get(name).identity``).

azure-ai-ml is imported inside the function only: it is a deploy-time dependency (the ``deploy`` extra), heavy
to import, and absent from the runtime image. Its HTTP goes through our httpx client (azure-core's httpx
transport), so proxies, an extra CA and the token allow-list apply to it exactly as to our own calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import ConfigurationError, SecretNotFound

if TYPE_CHECKING:
    import httpx
    from azure.core.credentials import TokenCredential

    from .._clouds import Cloud
    from .arm import WorkspaceId

__all__ = ["CLIENT_ID_VARIABLES", "EndpointIdentity", "get_endpoint_identity", "select_identity"]

# The variables the runtime reads a user-assigned identity's client id from, in its order of preference.
CLIENT_ID_VARIABLES = ("SECRET_INJECTOR_CLIENT_ID", "UAI_CLIENT_ID", "DEFAULT_IDENTITY_CLIENT_ID")
_ENFORCE = "enforce_access_to_default_secret_stores"


@dataclass(frozen=True)
class UserAssigned:
    """One user-assigned identity attached to the endpoint."""

    resource_id: str
    principal_id: str
    client_id: str


@dataclass(frozen=True)
class EndpointIdentity:
    """The identity a deployment of the endpoint runs as, and what the platform grants it by itself.

    ``client_id`` is set for a user-assigned identity only: that is what the container must be told
    (``SECRET_INJECTOR_CLIENT_ID``) to pick it.
    """

    endpoint: str
    kind: Literal["system_assigned", "user_assigned"]
    principal_id: str
    client_id: str | None = None
    resource_id: str | None = None
    enforce_default_secret_stores: bool = False

    @property
    def platform_grants_connections(self) -> bool:
        """The platform assigns the connections role itself (system-assigned identity with enforcement on)."""
        return self.kind == "system_assigned" and self.enforce_default_secret_stores

    def describe(self) -> str:
        if self.kind == "user_assigned":
            name = (self.resource_id or "").rsplit("/", 1)[-1] or "?"
            return f"user-assigned identity {name} (principal {self.principal_id}, client {self.client_id})"
        return f"system-assigned identity (principal {self.principal_id})"


def get_endpoint_identity(
    endpoint: str,
    workspace: WorkspaceId,
    credential: TokenCredential,
    cloud: Cloud,
    http_client: httpx.Client,
    *,
    client_id: str | None = None,
) -> EndpointIdentity:
    """Read the endpoint through azure-ai-ml and pick the identity its deployments run as.

    ``client_id`` chooses among several user-assigned identities (it is the client id the container uses).
    """
    try:
        from azure.ai.ml import MLClient
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
        from azure.core.experimental.transport import HttpXTransport
    except ImportError:
        raise ConfigurationError(
            "reading the endpoint's identity needs azure-ai-ml: pip install 'secret-injector[deploy]'"
        ) from None

    ml_client = MLClient(
        credential,
        workspace.subscription,
        workspace.resource_group,
        workspace.name,
        cloud=cloud.name,
        transport=HttpXTransport(client=http_client, client_owner=False),
        enable_telemetry=False,  # no Application Insights traffic from a deploy-time helper
        show_progress=False,
    )
    try:
        entity = ml_client.online_endpoints.get(endpoint)
    except ResourceNotFoundError:
        raise SecretNotFound(
            f"online endpoint {endpoint} was not found in workspace {workspace.name}", code="EndpointNotFound"
        ) from None
    except ClientAuthenticationError as exc:
        from .._exceptions import CredentialUnavailable

        raise CredentialUnavailable(
            f"no token for ARM: {_first_line(exc)}", code="CredentialUnavailable"
        ) from None
    except HttpResponseError as exc:
        from .._exceptions import AccessDenied, BackendUnavailable

        status = exc.status_code or 0
        cls = AccessDenied if status in (401, 403) else BackendUnavailable
        code = getattr(getattr(exc, "error", None), "code", None) or str(status)
        raise cls(
            f"reading online endpoint {endpoint}: {code}: {_first_line(exc)}", code=code, status=status
        ) from None
    return from_entity(endpoint, entity, client_id=client_id)


def from_entity(endpoint: str, entity: Any, *, client_id: str | None = None) -> EndpointIdentity:
    """An azure-ai-ml ``OnlineEndpoint`` -> the identity its deployments use."""
    identity = getattr(entity, "identity", None)
    properties = getattr(entity, "properties", None) or {}
    enforce = str(properties.get(_ENFORCE, "")).lower() == "enabled"
    if identity is None:
        raise ConfigurationError(f"online endpoint {endpoint} has no managed identity")
    kind = str(getattr(identity, "type", "") or "").lower()
    users = [
        UserAssigned(
            resource_id=str(getattr(u, "resource_id", "") or ""),
            principal_id=_field(u, "principal_id", "principalId"),
            client_id=_field(u, "client_id", "clientId"),
        )
        for u in getattr(identity, "user_assigned_identities", None) or ()
    ]
    return select_identity(
        endpoint,
        system_principal=str(identity.principal_id) if "system" in kind and identity.principal_id else None,
        user_assigned=users,
        client_id=client_id,
        enforce=enforce,
    )


def _field(obj: Any, snake: str, camel: str) -> str:
    # azure-ai-ml 1.35 copies the REST model's camelCase keys into the entity and leaves the snake_case
    # attributes None (``ManagedIdentityConfiguration._from_identity_configuration_rest_object``): read both.
    value = getattr(obj, snake, None) or getattr(obj, camel, None)
    return str(value) if value else ""


def select_identity(
    endpoint: str,
    *,
    system_principal: str | None,
    user_assigned: list[UserAssigned],
    client_id: str | None,
    enforce: bool,
) -> EndpointIdentity:
    """The identity the container authenticates as: the user-assigned one its client id names, else the system one.

    This mirrors the runtime: azure-identity asks for the client id's identity when one is set, and for the
    system-assigned identity otherwise.
    """
    if client_id:
        for uai in user_assigned:
            if uai.client_id.lower() == client_id.lower():
                return _user(endpoint, uai)
        known = ", ".join(u.client_id for u in user_assigned) or "none"
        raise ConfigurationError(
            f"client id {client_id} is not one of online endpoint {endpoint}'s user-assigned identities "
            f"(client ids: {known})"
        )
    if system_principal:
        return EndpointIdentity(
            endpoint, "system_assigned", system_principal, enforce_default_secret_stores=enforce
        )
    if len(user_assigned) == 1:
        return _user(endpoint, user_assigned[0])
    if user_assigned:
        known = ", ".join(u.client_id for u in user_assigned)
        raise ConfigurationError(
            f"online endpoint {endpoint} has {len(user_assigned)} user-assigned identities; say which one the "
            f"container uses with --client-id or SECRET_INJECTOR_CLIENT_ID in the deployment (client ids: {known})"
        )
    raise ConfigurationError(f"online endpoint {endpoint} has no managed identity with a principal id")


def _user(endpoint: str, uai: UserAssigned) -> EndpointIdentity:
    if not uai.principal_id or not uai.client_id:
        raise ConfigurationError(
            f"online endpoint {endpoint}'s user-assigned identity {uai.resource_id} has no principal or client id"
        )
    return EndpointIdentity(endpoint, "user_assigned", uai.principal_id, uai.client_id, uai.resource_id)


def client_id_from(environ: Mapping[str, str]) -> str | None:
    """The client id a deployment's environment already names, in the runtime's order of preference."""
    return next((environ[name] for name in CLIENT_ID_VARIABLES if environ.get(name)), None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
