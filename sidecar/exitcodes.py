"""Exit codes of ``secret-injector``, in one place. The child never starts when one of 3-6 is returned.

    0    success (with ``exec``, the command's own exit code is what the caller sees)
    1    unexpected internal error (a bug: please report it)
    2    usage error (bad command line)
    3    invalid reference, setting or resolved value: fix the deployment's environment variables
    4    access denied: a role assignment or a network rule is missing
    5    not found: the connection, key, secret or version does not exist, or the secret is disabled
    6    unavailable: the identity or a store did not answer in time (deadline passed, throttled, down)
    126  the command was found but could not be executed
    127  the command was not found

When several variables fail for different reasons, the lowest of 3-6 wins (the most fundamental problem).
"""

from __future__ import annotations

from injector._exceptions import (
    AccessDenied,
    ConfigurationError,
    InjectorError,
    InvalidReference,
    InvalidValue,
    SecretNotFound,
)

TYPE_CHECKING = False  # see sidecar/cli.py
if TYPE_CHECKING:
    from collections.abc import Iterable

OK = 0
INTERNAL = 1
USAGE = 2
INVALID = 3
ACCESS_DENIED = 4
NOT_FOUND = 5
UNAVAILABLE = 6
CANNOT_EXECUTE = 126
COMMAND_NOT_FOUND = 127


def for_error(error: InjectorError) -> int:
    if isinstance(error, InvalidReference | InvalidValue | ConfigurationError):
        return INVALID
    if isinstance(error, AccessDenied):
        return ACCESS_DENIED
    if isinstance(error, SecretNotFound):
        return NOT_FOUND
    return UNAVAILABLE


def for_errors(errors: Iterable[InjectorError]) -> int:
    return min((for_error(e) for e in errors), default=OK)
