"""secret-injector: resolve Azure ML secret references with the managed identity.

    import injector
    injector.inject()                                   # resolve os.environ in place, in score.py's init()
    env = injector.resolve_environ(os.environ)          # or get a resolved copy
    key = injector.resolve("${{azureml://connections/openai/credentials/key}}")

Importing this package is cheap: pydantic and the Azure SDK are loaded only when something is resolved.
"""

from __future__ import annotations

from ._lazy import lazy_exports

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~7 ms on every container start
if TYPE_CHECKING:
    from ._api import inject, resolve, resolve_environ
    from ._config import Settings
    from ._exceptions import (
        AccessDenied,
        BackendUnavailable,
        ConfigurationError,
        CredentialUnavailable,
        InjectorError,
        InvalidReference,
        InvalidValue,
        ResolutionError,
        ResolutionFailed,
        SecretNotFound,
    )
    from ._outcome import Failure, Resolution
    from ._references import ConnectionReference, KeyVaultReference, Template, parse_reference, parse_value
    from ._resolver import Client

__version__ = "0.1.0"

# name -> the private module that defines it; loaded on first access (PEP 562).
_EXPORTS = {
    "inject": "_api",
    "resolve": "_api",
    "resolve_environ": "_api",
    "Client": "_resolver",
    "Settings": "_config",
    "Failure": "_outcome",
    "Resolution": "_outcome",
    "ConnectionReference": "_references",
    "KeyVaultReference": "_references",
    "Template": "_references",
    "parse_reference": "_references",
    "parse_value": "_references",
    "AccessDenied": "_exceptions",
    "BackendUnavailable": "_exceptions",
    "ConfigurationError": "_exceptions",
    "CredentialUnavailable": "_exceptions",
    "InjectorError": "_exceptions",
    "InvalidReference": "_exceptions",
    "InvalidValue": "_exceptions",
    "ResolutionError": "_exceptions",
    "ResolutionFailed": "_exceptions",
    "SecretNotFound": "_exceptions",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
