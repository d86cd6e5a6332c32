"""Key Vault secrets through azure-keyvault-secrets (challenge auth, resource check, api-version handled there)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .._exceptions import AccessDenied, BackendUnavailable, ResolutionError, SecretNotFound
from .._references import KeyVaultReference

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.pipeline.transport import HttpTransport

__all__ = ["KeyVaultSecrets"]

_warm_up_lock = threading.Lock()
_warmed_up = False


class KeyVaultSecrets:
    """The secrets of one vault. The SDK is imported on first use, so a run without Key Vault never loads it."""

    def __init__(
        self, vault_url: str, credential: TokenCredential, transport: HttpTransport[Any, Any]
    ) -> None:
        from azure.keyvault.secrets import SecretClient

        _warm_up_models()
        # retry_total=0: retries are ours (tenacity, one deadline for the run), not the SDK's own loop.
        self._client = SecretClient(vault_url, credential, transport=transport, retry_total=0)
        self.vault_url = vault_url

    def get(self, reference: KeyVaultReference, timeout: float) -> str:
        """The value of the referenced secret version (latest when the reference has no version)."""
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

        try:
            # The httpx transport uses connection_timeout as the whole request's timeout.
            secret = self._client.get_secret(reference.name, reference.version, connection_timeout=timeout)
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise BackendUnavailable(
                f"{reference.vault_name} could not be reached ({_first_line(exc)})",
                code="Unreachable",
                transient=True,
            ) from None
        except HttpResponseError as exc:
            raise _map_error(exc, reference) from None
        if secret.value is None:
            raise SecretNotFound(f"secret {reference.name} has no value", code="EmptyValue")
        return secret.value


def _warm_up_models() -> None:
    """Build the SDK's response models once, before any concurrent read can deserialize one.

    The generated models fill their class-level field tables on first instantiation, not thread-safely: two
    threads deserializing their first SecretBundle at once can get a raw dict back ("AttributeError: 'dict'
    object has no attribute 'attributes'"), seen under load (bench/fleet.py: 100 replicas on 2 cores). A client
    is built before any of its reads, so warming here closes the window. The module is private: if it moves,
    there is nothing to warm up.
    """
    global _warmed_up
    with _warm_up_lock:
        if _warmed_up:
            return
        try:
            from azure.keyvault.secrets._generated import models
        except ImportError:
            return
        for name in ("SecretBundle", "SecretAttributes", "KeyVaultError", "KeyVaultErrorError"):
            model = getattr(models, name, None)
            if model is not None:
                model()
        _warmed_up = True


def _map_error(exc: Any, reference: KeyVaultReference) -> ResolutionError:
    status = exc.status_code or 0
    code, inner, message = _error_body(exc)
    label = inner or code or str(status)
    text = message or label  # the code travels beside the message, not inside it
    if status == 429 or status >= 500:
        from ._errors import retry_after_seconds

        return BackendUnavailable(
            f"Key Vault answered {status}: {text}",
            code=label,
            status=status,
            transient=True,
            retry_after=retry_after_seconds(exc.response) if exc.response is not None else None,
        )
    if status == 404:
        return SecretNotFound(text, code=inner or code or "SecretNotFound", status=status)
    if status == 403 and label == "SecretDisabled":
        return SecretNotFound(text, code="SecretDisabled", status=status)
    if status in (401, 403):
        return AccessDenied(text, code=label, status=status)
    return BackendUnavailable(f"Key Vault answered {status}: {text}", code=label, status=status)


def _error_body(exc: Any) -> tuple[str, str, str]:
    """(code, inner code, message) of a Key Vault error, however much of it is there."""
    try:
        error = exc.response.json().get("error") or {}
    except Exception:
        error = {}
    inner = error.get("innererror") or {}
    message = str(error.get("message") or exc.reason or "").strip()
    return (
        str(error.get("code") or ""),
        str(inner.get("code") or "") if isinstance(inner, dict) else "",
        message,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
