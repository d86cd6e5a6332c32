"""Tokens: which azure-identity credential to use, and exactly one token per audience per run.

``managed`` (the default where no workload identity is set up) is azure-identity's ManagedIdentityCredential,
which speaks Azure ML's ``MSI_ENDPOINT``/``MSI_SECRET``, App Service and IMDS. ``workload`` is Kubernetes
workload identity; ``developer`` is DefaultAzureCredential without managed identity (Azure CLI and friends) for
a laptop. azure-identity is imported here only, and only when a token is needed.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ._config import Settings
from ._deadline import Deadline, call_with_retries
from ._exceptions import CredentialUnavailable

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential
    from azure.core.pipeline.transport import HttpTransport

__all__ = ["StaticTokenCredential", "TokenBroker", "create_credential", "principal_of"]

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def create_credential(
    settings: Settings, environ: Mapping[str, str], transport: HttpTransport[Any, Any]
) -> TokenCredential:
    """The credential the settings ask for; every request it sends goes through ``transport``."""
    kind = settings.credential
    if kind == "auto":
        kind = "workload" if environ.get("AZURE_FEDERATED_TOKEN_FILE") else "managed"
    # retry_total=0: retries are ours (tenacity, under one deadline), not the SDK's own loop.
    common: dict[str, Any] = {"transport": transport, "retry_total": 0}
    if kind == "managed":
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=settings.client_id, **common)
    if kind == "workload":
        from azure.identity import WorkloadIdentityCredential

        client_id = settings.client_id or environ.get("AZURE_CLIENT_ID")
        return WorkloadIdentityCredential(client_id=client_id, **common)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(
        exclude_managed_identity_credential=True, managed_identity_client_id=settings.client_id, **common
    )


class TokenBroker:
    """Hands out one token per scope; concurrent callers for the same scope share one request."""

    def __init__(
        self,
        credential: TokenCredential,
        deadline: Deadline,
        identity_status: Callable[[], int | None] = lambda: None,
        *,
        renew: Callable[[], TokenCredential] | None = None,
        identity_retry_after: Callable[[], float | None] = lambda: None,
    ) -> None:
        self._credential = credential
        self._deadline = deadline
        # azure-identity (through MSAL) drops the HTTP status of a failed token request; the caller's
        # transport records it per thread so a 503 (retry) can be told from a 400 (don't).
        self._identity_status = identity_status
        # MSAL replays an identity endpoint's 5xx/429 for 5 s (or its Retry-After) without sending the request
        # again, so a retry with the same credential would only see the cached failure: ``renew`` gives a fresh
        # one for each retry, and the endpoint's own Retry-After (also recorded by the transport) is honoured.
        self._renew = renew
        self._identity_retry_after = identity_retry_after
        self._lock = threading.Lock()
        self._tokens: dict[str, Future[AccessToken]] = {}
        self.requests = 0  # how many token requests were made (for stats and tests)

    def get(self, scope: str) -> AccessToken:
        with self._lock:
            future = self._tokens.get(scope)
            owner = future is None
            if future is None:
                future = self._tokens[scope] = Future()
        if owner:
            try:
                future.set_result(call_with_retries(lambda: self._fetch(scope), self._deadline))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result(timeout=self._deadline.remaining() + 1)

    def _fetch(self, scope: str) -> AccessToken:
        with self._lock:
            self.requests += 1
            credential = self._credential
        try:
            return credential.get_token(scope)
        except Exception as exc:
            error = _map_identity_error(exc, scope, self._identity_status(), self._identity_retry_after())
            if error.transient and self._renew is not None:
                with self._lock:
                    if self._credential is credential:
                        self._credential = self._renew()
            raise error from exc


class StaticTokenCredential:
    """A credential that returns one token we already hold, so an SDK client never asks for another."""

    def __init__(self, token: AccessToken, scope: str, on_use: Callable[[], None] | None = None) -> None:
        self._token = token
        self._scope = scope
        self._on_use = on_use  # called on every get_token, before the token is returned

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if scopes and scopes[0].rstrip("/") != self._scope.rstrip("/"):
            raise CredentialUnavailable(
                f"a token for {scopes[0]} was requested, but this run holds one for {self._scope}",
                code="UnexpectedAudience",
            )
        if self._on_use is not None:
            self._on_use()
        return self._token

    def __repr__(self) -> str:
        return f"StaticTokenCredential(scope={self._scope!r})"


def principal_of(token: str) -> str | None:
    """The object id (``oid`` claim) of the identity a JWT was issued to, for exact fix commands."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        oid = claims.get("oid")
        return oid if isinstance(oid, str) else None
    except (IndexError, ValueError, AttributeError):
        return None


def _map_identity_error(
    exc: Exception, scope: str, status: int | None, retry_after: float | None = None
) -> CredentialUnavailable:
    """azure-identity's exception -> ours; transient when the endpoint is not up yet or is throttling."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    status = getattr(getattr(exc, "response", None), "status_code", None) or status
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    unreachable = any(isinstance(e, ServiceRequestError | ServiceResponseError) for e in chain)
    transient = unreachable or status in TRANSIENT_STATUS
    answered = f" (HTTP {status})" if status else ""
    return CredentialUnavailable(
        f"no token for {scope} from the managed identity{answered}: {_identity_detail(exc)}",
        code="IdentityUnavailable",
        status=status,
        transient=transient,
        retry_after=retry_after if transient and not unreachable else None,
    )


# azure-identity wraps the endpoint's answer in its own words ("... configuration not found in environment. Token
# request error: (invalid_scope) {'error': ..., 'error_description': "..."}"): the endpoint's description is the
# part that says what is wrong.
_DESCRIPTION = re.compile(r"""['"]error_description['"]:\s*(['"])(.+?)\1\s*[,}]""")


def _identity_detail(exc: Exception) -> str:
    text = str(exc)
    found = _DESCRIPTION.search(text)
    if found:
        return found.group(2)
    return text.splitlines()[0] if text else type(exc).__name__
