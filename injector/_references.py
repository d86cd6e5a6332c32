"""The reference grammar: pure parsing and formatting, no I/O.

Accepted, exactly as Azure ML online deployments accept them, plus a version-less Key Vault form:

    ${{azureml://connections/<connection>}}                       the whole List Secrets response, as JSON
    ${{azureml://connections/<connection>/credentials/<key>}}     one credential
    ${{azureml://connections/<connection>/metadata/<key>}}        one metadata value
    ${{azureml://connections/<connection>/target}}                the connection's target
    ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>/<version>}}
    ${{keyvault:https://<vault>.vault.azure.net/secrets/<name>}}  the latest version

A value that is exactly one reference is replaced whole; references inside a longer value are interpolated.
Error messages quote only text that is recognisably a reference, so a literal value that happens to contain
``${{`` is never echoed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ._clouds import CLOUDS, Cloud
from ._exceptions import InvalidReference
from ._scan import OPEN, looks_like_reference, near_miss

__all__ = [
    "ConnectionReference",
    "KeyVaultReference",
    "Reference",
    "Template",
    "looks_like_reference",
    "parse_reference",
    "parse_value",
]

CLOSE = "}}"
CONNECTION_PREFIX = "azureml://connections/"
KEYVAULT_PREFIX = "keyvault:"

_CONNECTION_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}$")
_VAULT_NAME = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
_SECRET_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_VERSION = re.compile(r"^[0-9a-fA-F]{32}$")
_SCHEMES = ("azureml:", "keyvault:")

Part = Literal["all", "credentials", "metadata", "target"]


@dataclass(frozen=True)
class ConnectionReference:
    """A reference to an Azure ML workspace connection, or one field of it."""

    connection: str
    part: Part = "all"
    key: str | None = None

    @property
    def store(self) -> str:
        return f"connection {self.connection}"

    def __str__(self) -> str:
        tail = {"all": "", "target": "/target"}.get(self.part, f"/{self.part}/{self.key}")
        return f"{OPEN}{CONNECTION_PREFIX}{self.connection}{tail}{CLOSE}"


@dataclass(frozen=True)
class KeyVaultReference:
    """A reference to a Key Vault secret, at one version or (``version=None``) the latest."""

    vault_url: str  # https://<vault>.<suffix>, lower case, no trailing slash
    name: str
    version: str | None = None

    @property
    def vault_name(self) -> str:
        return self.vault_url.removeprefix("https://").split(".", 1)[0]

    @property
    def store(self) -> str:
        return f"key vault {self.vault_name}"

    def __str__(self) -> str:
        version = f"/{self.version}" if self.version else ""
        return f"{OPEN}{KEYVAULT_PREFIX}{self.vault_url}/secrets/{self.name}{version}{CLOSE}"


Reference = ConnectionReference | KeyVaultReference


@dataclass(frozen=True)
class Template:
    """A parsed value: literal text and references, in order."""

    parts: tuple[str | Reference, ...]

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(p for p in self.parts if not isinstance(p, str))

    @property
    def is_whole(self) -> bool:
        return len(self.parts) == 1 and not isinstance(self.parts[0], str)

    def render(self, values: Mapping[Reference, str]) -> str:
        return "".join(p if isinstance(p, str) else values[p] for p in self.parts)

    def __str__(self) -> str:
        return "".join(str(p) for p in self.parts)


def parse_value(value: str, cloud: Cloud = CLOUDS["AzureCloud"]) -> Template | None:
    """Parse an environment value; None when it holds no reference. Raises InvalidReference."""
    if not looks_like_reference(value):
        return None
    parts: list[str | Reference] = []
    pos = 0
    while (start := value.find(OPEN, pos)) >= 0:
        if start > pos:
            parts.append(value[pos:start])
        end = value.find(CLOSE, start + len(OPEN))
        body = value[start + len(OPEN) : end if end >= 0 else len(value)]
        nested = body.find(OPEN)
        if end < 0 or nested >= 0:
            shown = _quotable(body[: nested if nested >= 0 else len(body)], OPEN)
            raise InvalidReference(f"'{OPEN}' is not closed by '{CLOSE}'", fragment=shown)
        parts.append(parse_reference(body, cloud))
        pos = end + len(CLOSE)
    if pos < len(value):
        parts.append(value[pos:])
    for literal in parts:
        if isinstance(literal, str) and (miss := near_miss(literal)) is not None:
            raise InvalidReference(
                f"a reference must be written {OPEN}...{CLOSE} (two braces after '$')",
                fragment=literal[miss : miss + 60],
            )
    return Template(tuple(parts))


def parse_reference(text: str, cloud: Cloud = CLOUDS["AzureCloud"]) -> Reference:
    """Parse one reference, with or without its ``${{ }}`` wrapper. Raises InvalidReference."""
    body = text[len(OPEN) : -len(CLOSE)] if text.startswith(OPEN) and text.endswith(CLOSE) else text
    shown = _quotable(body)
    if body != body.strip():
        raise InvalidReference("remove the spaces inside the braces", fragment=shown)
    if body.startswith(CONNECTION_PREFIX):
        return _parse_connection(body[len(CONNECTION_PREFIX) :], shown)
    if body.startswith(KEYVAULT_PREFIX):
        return _parse_keyvault(body[len(KEYVAULT_PREFIX) :], cloud, shown)
    if body.lower().startswith("azureml:"):
        raise InvalidReference(
            "only workspace connections are supported: azureml://connections/<name>[/credentials/<key>"
            "|/metadata/<key>|/target]",
            fragment=shown,
        )
    raise InvalidReference(
        "unknown reference kind; expected azureml://connections/... or keyvault:https://...",
        fragment=shown,
    )


def _parse_connection(path: str, shown: str | None) -> ConnectionReference:
    name, _, rest = path.partition("/")
    if not _CONNECTION_NAME.match(name):
        raise InvalidReference(
            f"connection name {name!r} must be 3-33 letters, digits, '_' or '-', starting with a letter or digit",
            fragment=shown,
        )
    if not rest:
        if path.endswith("/"):
            raise InvalidReference("remove the trailing '/'", fragment=shown)
        return ConnectionReference(name)
    if rest == "target":
        return ConnectionReference(name, "target")
    segment, _, key = rest.partition("/")
    if segment not in ("credentials", "metadata"):
        raise InvalidReference(
            f"unknown segment {segment!r} after the connection name; expected credentials/<key>, "
            "metadata/<key> or target",
            fragment=shown,
        )
    if not key:
        raise InvalidReference(f"{segment}/ needs a key name after it", fragment=shown)
    if not _KEY.match(key):
        raise InvalidReference(
            f"key {key!r} must be letters, digits, '_', '.' or '-' (at most 256)", fragment=shown
        )
    return ConnectionReference(name, "credentials" if segment == "credentials" else "metadata", key)


def _parse_keyvault(url: str, cloud: Cloud, shown: str | None) -> KeyVaultReference:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidReference("not a valid URL after 'keyvault:'", fragment=shown) from None
    if parts.scheme.lower() != "https":
        raise InvalidReference("Key Vault references must use https://", fragment=shown)
    host = (parts.hostname or "").lower()
    if parts.username or parts.password or port is not None or parts.query or parts.fragment:
        raise InvalidReference("the vault URL must not carry a port, user, query or fragment", fragment=shown)
    if not cloud.is_keyvault_host(host):
        other = next((c.name for c in CLOUDS.values() if c.is_keyvault_host(host)), None)
        hint = (
            f"it belongs to {other}: set SECRET_INJECTOR_CLOUD={other}"
            if other
            else f"expected <vault>{cloud.keyvault_suffix} (cloud {cloud.name})"
        )
        raise InvalidReference(f"{host or 'the host'} is not a Key Vault host: {hint}", fragment=shown)
    vault = host[: -len(cloud.keyvault_suffix)]
    if not _VAULT_NAME.match(vault):
        raise InvalidReference(
            f"vault name {vault!r} must be 3-24 letters, digits and single hyphens, starting with a letter",
            fragment=shown,
        )
    segments = parts.path.split("/")
    if len(segments) not in (3, 4) or segments[0] or segments[1] != "secrets":
        raise InvalidReference(
            f"expected https://<vault>{cloud.keyvault_suffix}/secrets/<name>[/<version>]", fragment=shown
        )
    name = segments[2]
    version = segments[3] if len(segments) == 4 else None
    if not _SECRET_NAME.match(name):
        raise InvalidReference(f"secret name {name!r} must be 1-127 letters, digits or '-'", fragment=shown)
    if version is not None and not _VERSION.match(version):
        raise InvalidReference(
            "a secret version is 32 hexadecimal characters (omit it for the latest version)",
            fragment=shown,
        )
    return KeyVaultReference(f"https://{host}", name, version.lower() if version else None)


def _quotable(body: str, prefix: str = "") -> str | None:
    """The text of a would-be reference, but only when it is recognisably one (never a stray literal)."""
    stripped = body.lstrip()
    if not stripped.lower().startswith(_SCHEMES):
        return None
    return prefix + (body if len(body) <= 200 else body[:200] + "...")
