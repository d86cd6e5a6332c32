"""Azure ML workspace connections: List Secrets over ARM, and picking one field out of the answer.

There is no light SDK for this call (azure-ai-ml is hundreds of megabytes and seconds of import), so it is one
plain POST with the managed identity's ARM token.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from .._clouds import Cloud
from .._exceptions import AccessDenied, BackendUnavailable, ResolutionError, SecretNotFound
from .._references import ConnectionReference
from ._errors import retry_after_seconds, transient_http_error

__all__ = ["API_VERSION", "WorkspaceConnections", "select"]

API_VERSION = "2024-04-01"


class WorkspaceConnections:
    """The connections of one workspace, read with List Secrets."""

    def __init__(self, http: httpx.Client, cloud: Cloud, workspace_id: str) -> None:
        self._http = http
        self._base = f"{cloud.arm_endpoint}{workspace_id}/connections"

    def list_secrets(self, connection: str, token: str, timeout: float) -> dict[str, Any]:
        """The whole List Secrets response of ``connection``: an ARM resource with ``properties``."""
        url = f"{self._base}/{connection}/listsecrets"
        try:
            response = self._http.post(
                url,
                params={"api-version": API_VERSION},
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout,
            )
        except httpx.TransportError as exc:
            raise transient_http_error(exc) from None
        if response.status_code != 200:
            raise _map_error(response, connection)
        try:
            body = response.json()
        except ValueError:
            # `from None`: a JSON error keeps the whole document, which may hold secrets, in its .doc.
            raise BackendUnavailable(
                "List Secrets answered with something that is not JSON", code="InvalidResponse"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise BackendUnavailable("List Secrets answered without 'properties'", code="InvalidResponse")
        return body


def select(reference: ConnectionReference, response: dict[str, Any]) -> str:
    """The value ``reference`` asks for, out of a List Secrets response (the platform's mapping)."""
    props = response["properties"]
    name = reference.connection
    if reference.part == "all":
        return json.dumps(response, separators=(",", ":"))
    if reference.part == "target":
        return _as_text(props.get("target"), f"connection {name} has no target")
    key = reference.key or ""
    if reference.part == "metadata":
        pool = props.get("metadata") or {}
        where = "metadata"
    else:
        credentials = props.get("credentials") or {}
        # CustomKeys keep their pairs one level down, in credentials.keys.
        pool = credentials.get("keys") or {} if props.get("authType") == "CustomKeys" else credentials
        where = "credentials"
    if not isinstance(pool, dict) or key not in pool:
        names = ", ".join(sorted(pool)) if isinstance(pool, dict) and pool else "none"
        raise SecretNotFound(
            f"connection {name} (authType {props.get('authType')}) has no {where} key {key!r}; "
            f"its {where} keys are: {names}",
            code="KeyNotInConnection",
        )
    return _as_text(pool[key], f"{where} key {key!r} of connection {name} is empty")


def _as_text(value: Any, empty_message: str) -> str:
    if value is None:
        raise SecretNotFound(empty_message, code="EmptyValue")
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _map_error(response: httpx.Response, connection: str) -> ResolutionError:
    code, message = _arm_error(response)
    status = response.status_code
    if status in (429,) or status >= 500:
        return BackendUnavailable(
            f"ARM answered {status} {code}: {message}",
            code=code or "Transient",
            status=status,
            transient=True,
            retry_after=retry_after_seconds(response),
        )
    if status in (401, 403):
        return AccessDenied(message or code, code=code or "AuthorizationFailed", status=status)
    if status == 404:
        return SecretNotFound(
            f"connection {connection} was not found in the workspace ({code or 'NotFound'}: {message})",
            code="ConnectionNotFound",
            status=status,
        )
    return BackendUnavailable(
        f"ARM answered {status} {code}: {message}", code=code or str(status), status=status
    )


def _arm_error(response: httpx.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error") or {}
        return str(error.get("code") or ""), str(error.get("message") or "").strip()
    except (ValueError, AttributeError):
        return "", response.reason_phrase
