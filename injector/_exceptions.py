"""Every error the library raises, in one tree.

    InjectorError
    ├── ConfigurationError           a SECRET_INJECTOR_* setting (or its fallback) is wrong
    ├── InvalidReference (ValueError) a value tries to be a reference and is malformed
    ├── InvalidValue                 a resolved value cannot live in a process environment
    └── ResolutionError              a well-formed reference could not be resolved
        ├── AccessDenied             the identity lacks a role, or a firewall refused it
        ├── SecretNotFound           the connection, key, secret or version does not exist (or is disabled)
        ├── CredentialUnavailable    no token could be had from the identity
        └── BackendUnavailable       the store kept failing transiently, or the deadline passed
    ResolutionFailed                 the aggregate: one or more required variables failed

Errors carry the variable and the reference text as attributes, never a resolved value: a message is built
only from names, codes and the store's own error message (which never contains a secret value).
"""

from __future__ import annotations

TYPE_CHECKING = False  # importing typing is not free on the exec fast path
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._outcome import Failure

__all__ = [
    "AccessDenied",
    "BackendUnavailable",
    "ConfigurationError",
    "CredentialUnavailable",
    "InjectorError",
    "InvalidReference",
    "InvalidValue",
    "ResolutionError",
    "ResolutionFailed",
    "SecretNotFound",
]


class InjectorError(Exception):
    """Root of every error raised by secret-injector."""


class ConfigurationError(InjectorError):
    """A setting is missing or invalid; the message names the variable and the fix."""


class InvalidReference(InjectorError, ValueError):
    """A value tries to be a secret reference and is malformed."""

    def __init__(self, reason: str, *, env_var: str | None = None, fragment: str | None = None) -> None:
        self.reason = reason
        self.env_var = env_var
        self.fragment = fragment
        super().__init__(self._render())

    def with_env_var(self, env_var: str) -> InvalidReference:
        return InvalidReference(self.reason, env_var=env_var, fragment=self.fragment)

    def _render(self) -> str:
        where = f"{self.env_var}: " if self.env_var else ""
        shown = f" in {self.fragment!r}" if self.fragment else ""
        return f"{where}invalid secret reference{shown}: {self.reason}"


class InvalidValue(InjectorError):
    """A resolved value cannot be placed in an environment (NUL byte, too long)."""


class ResolutionError(InjectorError):
    """A well-formed reference could not be resolved.

    ``code`` is the store's own error code (``ForbiddenByRbac``, ``AuthorizationFailed``, ...) or one of ours
    (``ConnectionNotFound``, ``KeyNotInConnection``, ``IdentityUnavailable``, ``DeadlineExceeded``).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.status = status
        self.transient = transient  # worth retrying (429, 5xx, connection error)
        self.retry_after = retry_after  # seconds the store asked us to wait
        super().__init__(message)


class AccessDenied(ResolutionError):
    """The identity is not allowed to read it: missing role assignment, or a network rule refused it."""


class SecretNotFound(ResolutionError):
    """The connection, credential key, secret or version does not exist, or the secret is disabled."""


class CredentialUnavailable(ResolutionError):
    """No token could be obtained from the managed identity (or the configured credential)."""


class BackendUnavailable(ResolutionError):
    """The store kept failing with transient errors, could not be reached, or the deadline passed."""


class ResolutionFailed(InjectorError):
    """One or more required variables could not be resolved; ``failures`` has one entry per variable."""

    def __init__(self, failures: Sequence[Failure]) -> None:
        self.failures = tuple(failures)
        details = "; ".join(f"{f.env_var} ({f.code}: {f.error})" for f in self.failures)
        super().__init__(f"{len(self.failures)} variable(s) could not be resolved: {details}")
