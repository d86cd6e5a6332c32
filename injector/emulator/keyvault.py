"""The Key Vault data plane on ``<vault>.vault.azure.net`` (and the other clouds' suffixes): Get Secret.

Checks run in the service's order: bearer challenge (401), token audience, firewall, throttle, RBAC or access
policy, then the secret itself (404 ``SecretNotFound``, 403 ``SecretDisabled``), with Key Vault's error bodies.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .messages import Request, Response, json_response, request_id
from .model import SecretVersion, Vault
from .rbac import GET_SECRET_DATA_ACTION
from .state import EmulatorState
from .tokens import InvalidToken, TokenClaims, bearer_token

__all__ = ["route_keyvault"]

_SECRET = re.compile(r"^/secrets/(?P<name>[^/]+)(?:/(?P<version>[^/]*))?/?$", re.IGNORECASE)
_API_VERSION = re.compile(r"^(7\.\d+(-preview(\.\d+)?)?|(\d{4}-\d{2}-\d{2})(-preview)?)$")

Handler = Callable[[Request], Response]


def _headers(vault: Vault, client: str) -> dict[str, str]:
    return {
        "x-ms-request-id": request_id(),
        "x-ms-keyvault-service-version": "1.9.2266.1",
        "x-ms-keyvault-region": vault.location,
        "x-ms-keyvault-network-info": f"conn_type=Ipv4;addr={client};act_addr_fam=InterNetwork;",
        "Cache-Control": "no-cache",
    }


def _error(
    vault: Vault,
    request: Request,
    status: int,
    code: str,
    message: str,
    inner: str | None = None,
    extra: dict[str, str] | None = None,
) -> Response:
    error: dict[str, object] = {"code": code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return json_response(status, {"error": error}, {**_headers(vault, request.client), **(extra or {})})


def _challenge(state: EmulatorState, vault: Vault) -> str:
    login = f"https://{vault.cloud.login_host}/{state.config.tenant_id}"
    return f'Bearer authorization="{login}", resource="{vault.cloud.keyvault_audience}"'


def _caller(claims: TokenClaims) -> str:
    return f"appid={claims.appid};oid={claims.oid};iss={claims.iss}"


def route_keyvault(state: EmulatorState, vault: Vault, request: Request) -> tuple[str, Handler]:
    """The route name (for counters and faults) and its handler for a request on ``vault``'s host."""
    if request.header("Authorization") is None:
        return "keyvault.challenge", lambda req: _unauthenticated(state, vault, req)
    m = _SECRET.match(request.path)
    if m and request.method == "GET":
        return "keyvault.get_secret", lambda req: _get_secret(
            state, vault, req, m["name"], m["version"] or None
        )
    return "keyvault.unknown", lambda req: _error(
        vault,
        req,
        404 if not m else 405,
        "NotSupportedByEmulator",
        f"The emulator serves only GET /secrets/<name>[/<version>] (got {req.method} {req.path}).",
    )


def _unauthenticated(state: EmulatorState, vault: Vault, request: Request) -> Response:
    return _error(
        vault,
        request,
        401,
        "Unauthorized",
        "AKV10000: Request is missing a Bearer or PoP token.",
        extra={"WWW-Authenticate": _challenge(state, vault)},
    )


def _authenticate(state: EmulatorState, vault: Vault, request: Request) -> TokenClaims | Response:
    token = bearer_token(request.header("Authorization"))
    challenge = {"WWW-Authenticate": _challenge(state, vault)}
    if not token:
        return _error(
            vault,
            request,
            401,
            "Unauthorized",
            "AKV10000: Request is missing a Bearer or PoP token.",
            extra=challenge,
        )
    try:
        claims = state.issuer.verify(token)
    except InvalidToken as exc:
        code = "AKV10032" if exc.reason == "expired" else "AKV10022"
        return _error(vault, request, 401, "Unauthorized", f"{code}: Invalid token. {exc}", extra=challenge)
    if not vault.cloud.accepts_keyvault_audience(claims.aud):
        return _error(
            vault,
            request,
            401,
            "Unauthorized",
            f"AKV10022: Invalid audience. Expected {vault.cloud.keyvault_audience}, found: {claims.aud}.",
            extra=challenge,
        )
    if claims.tid != state.config.tenant_id:
        return _error(
            vault,
            request,
            401,
            "Unauthorized",
            f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{state.config.tenant_id}/, "
            f"found {claims.iss}.",
            extra=challenge,
        )
    return claims


def _api_version_ok(text: str | None) -> bool:
    if not text:
        return False
    m = _API_VERSION.match(text)
    return m is not None and (m.group(4) is None or m.group(4) >= "2016-10-01")


def _get_secret(
    state: EmulatorState, vault: Vault, request: Request, name: str, version: str | None
) -> Response:
    claims = _authenticate(state, vault, request)
    if isinstance(claims, Response):
        return claims
    api_version = request.param("api-version")
    if not _api_version_ok(api_version):
        return _error(
            vault,
            request,
            400,
            "BadParameter",
            f"The specified version ({api_version}) is not recognized. Consider using the latest "
            "supported version (7.6).",
        )
    location = f"{vault.name};location={vault.location}"
    if vault.firewall:
        return _error(
            vault,
            request,
            403,
            "Forbidden",
            f"Client address is not authorized and caller is not a trusted service.\r\nClient address: "
            f"{request.client}\r\nCaller: {_caller(claims)}\r\nVault: {location}",
            "ForbiddenByFirewall",
        )
    throttled = state.throttles.keyvault(vault.host)
    if throttled is not None and not throttled[0]:
        return _error(
            vault,
            request,
            429,
            "Throttled",
            f"Request was not allowed because the vault's limit of {state.config.rate_limits.keyvault_per_10s} "
            f"transactions per 10 seconds was reached. Please retry after {throttled[2]} seconds.",
            extra={"Retry-After": str(throttled[2])},
        )
    secret_scope = f"{vault.id}/secrets/{name}"
    if vault.enable_rbac_authorization:
        if not state.roles.allows(claims.oid, secret_scope, GET_SECRET_DATA_ACTION, data=True):
            return _error(
                vault,
                request,
                403,
                "Forbidden",
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or "
                "role definitions were changed recently, please observe propagation time.\r\n"
                f"Caller: {_caller(claims)}\r\nAction: '{GET_SECRET_DATA_ACTION}'\r\n"
                f"Resource: '{secret_scope.lower()}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\n"
                f"DecisionReason: null \r\nVault: {location}\r\n",
                "ForbiddenByRbac",
            )
    elif not any(p.principal_id == claims.oid.lower() and "get" in p.secrets for p in vault.access_policies):
        return _error(
            vault,
            request,
            403,
            "Forbidden",
            f"The user, group or application '{_caller(claims)}' does not have secrets get permission on key vault "
            f"'{location}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            "AccessDenied",
        )
    found = vault.secrets.get(name.lower())
    chosen: SecretVersion | None = None
    if found is not None:
        versions = found[1]
        chosen = (
            versions[-1]
            if version is None
            else next((v for v in versions if v.version == version.lower()), None)
        )
    if found is None or chosen is None:
        shown = name if version is None else f"{name}/{version}"
        return _error(
            vault,
            request,
            404,
            "SecretNotFound",
            f"A secret with (name/id) {shown} was not found in this key vault. If you recently deleted this secret you "
            "may be able to recover it using the correct recovery command. For help resolving this issue, please see "
            "https://go.microsoft.com/fwlink/?linkid=2125182",
        )
    if not chosen.enabled:
        return _error(
            vault,
            request,
            403,
            "Forbidden",
            "Operation get is not allowed on a disabled secret.",
            "SecretDisabled",
        )
    canonical = found[0]
    index = found[1].index(chosen)
    created = int(state.started) - 3600 * (len(found[1]) - index)
    body: dict[str, object] = {
        "value": chosen.value,
        "id": f"https://{vault.host}/secrets/{canonical}/{chosen.version}",
        "attributes": {
            "enabled": True,
            "created": created,
            "updated": created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        },
        "tags": dict(chosen.tags),
    }
    if chosen.content_type:
        body["contentType"] = chosen.content_type
    return json_response(200, body, _headers(vault, request.client))
