"""The Azure ML managed identity endpoint (``MSI_ENDPOINT``, api-version 2017-09-01).

``GET ?api-version=2017-09-01&resource=R[&clientid=C]`` with header ``secret``; the answer is what
azure-identity's (and MSAL's) Azure ML managed identity code parses: ``access_token`` and ``expires_on`` first.
"""

from __future__ import annotations

import time

from .clouds import CLOUDS
from .messages import Request, Response, json_response
from .model import Identity
from .state import EmulatorState

__all__ = ["KNOWN_RESOURCES", "handle_token_request", "known_resource"]

MSI_API_VERSION = "2017-09-01"

# Token resources (audiences) Entra ID issues tokens for here: each cloud's ARM and Key Vault resources.
KNOWN_RESOURCES: tuple[str, ...] = tuple(
    r for cloud in CLOUDS.values() for r in (*cloud.arm_audiences, cloud.keyvault_audience)
)


def known_resource(resource: str) -> bool:
    """Resource ids are matched case-insensitively, with or without the trailing slash, as Entra ID does."""
    return resource.rstrip("/").lower() in KNOWN_RESOURCES


def _error(status: int, error: str, description: str) -> Response:
    return json_response(status, {"error": error, "error_description": description})


def _select_identity(state: EmulatorState, secret: str, client_id: str | None) -> Identity | Response:
    if client_id:
        ident = state.config.identity_by_client_id(client_id)
        if ident is None or ident.type != "user_assigned":
            return _error(
                400,
                "invalid_request",
                f"Identity not found. No user-assigned identity with client id "
                f"'{client_id}' is assigned to this deployment.",
            )
        return ident
    ident = state.msi_secrets.get(secret)
    if ident is None:
        return _error(
            400,
            "invalid_request",
            "No managed identity is assigned to this deployment by default; "
            "pass the client id of a user-assigned identity (clientid).",
        )
    return ident


def handle_token_request(state: EmulatorState, request: Request) -> Response:
    if request.method != "GET":
        return _error(
            405, "invalid_request", f"The managed identity endpoint does not accept {request.method}."
        )
    secret = request.header("secret")
    if not secret:
        return _error(400, "invalid_request", "Required metadata header 'secret' not specified.")
    if secret not in state.msi_secrets:
        return _error(
            401, "unauthorized_client", "The 'secret' header does not match this deployment's MSI_SECRET."
        )
    api_version = request.param("api-version")
    if api_version != MSI_API_VERSION:
        return _error(
            400, "invalid_request", f"api-version '{api_version}' is not supported; use {MSI_API_VERSION}."
        )
    resource = request.param("resource")
    if not resource:
        return _error(400, "invalid_request", "Required query parameter 'resource' not specified.")
    if not known_resource(resource):
        return _error(
            400,
            "invalid_resource",
            f"AADSTS500011: The resource principal named {resource} was not found in the tenant named "
            f"{state.config.tenant_id}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
        )
    selected = _select_identity(state, secret, request.param("clientid") or request.param("client_id"))
    if isinstance(selected, Response):
        return selected
    now = int(time.time())
    token, expires_on = state.issuer.issue(
        audience=resource,
        principal_id=selected.principal_id,
        client_id=selected.client_id,
        resource_id=selected.resource_id,
        now=now,
    )
    as_string = state.config.msi_expires_on == "string"
    expires_in = expires_on - now
    return json_response(
        200,
        {
            "access_token": token,
            "expires_on": str(expires_on) if as_string else expires_on,
            "expires_in": str(expires_in) if as_string else expires_in,
            "resource": resource,
            "token_type": "Bearer",
            "client_id": selected.client_id,
        },
    )
