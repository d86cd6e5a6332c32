"""The two built-in roles secret injection needs, deterministic assignment names, and permission matching.

Pure functions and constants, no I/O: the planner, the granter and the in-container check all agree on what a
role grants and how an assignment is named, so a second ``grant`` finds exactly what the first one created.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONNECTIONS_ROLE",
    "GET_SECRET_DATA_ACTION",
    "KEYVAULT_ROLE",
    "LIST_SECRETS_ACTION",
    "Role",
    "allows",
    "assignment_name",
    "role_definition_id",
    "same_scope_or_parent",
]


@dataclass(frozen=True)
class Role:
    """A built-in role: display name, definition GUID, and the one permission we rely on it for."""

    name: str
    id: str
    permission: str
    data_action: bool


CONNECTIONS_ROLE = Role(
    "Azure Machine Learning Workspace Connection Secrets Reader",
    "ea01e6af-a1c1-4350-9563-ad00f8c72ec5",
    "Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action",
    data_action=False,
)
KEYVAULT_ROLE = Role(
    "Key Vault Secrets User",
    "4633458b-17de-408a-b874-0445c86b69e6",
    "Microsoft.KeyVault/vaults/secrets/getSecret/action",
    data_action=True,
)
LIST_SECRETS_ACTION = CONNECTIONS_ROLE.permission
GET_SECRET_DATA_ACTION = KEYVAULT_ROLE.permission

# A fixed namespace, so every run (and every machine) derives the same assignment name from the same triple.
_NAMESPACE = uuid.UUID("5d0c1e7e-6a52-4c1c-9a37-5ec12e7a55ed")


def assignment_name(scope: str, role_id: str, principal_id: str) -> str:
    """uuid5 of (scope, role, principal), case-normalised: ARM ids are case-insensitive."""
    key = "|".join((scope.rstrip("/").lower(), role_id.lower(), principal_id.lower()))
    return str(uuid.uuid5(_NAMESPACE, key))


def role_definition_id(subscription: str, role_id: str) -> str:
    """The full ARM id of a built-in role definition, as a role assignment's body wants it."""
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"


def same_scope_or_parent(candidate: str, scope: str) -> bool:
    """True when an assignment at ``candidate`` also covers ``scope`` (same resource or an ancestor)."""
    parent = candidate.rstrip("/").lower()
    child = scope.rstrip("/").lower()
    return parent in ("", "/") or child == parent or child.startswith(parent + "/")


@functools.lru_cache(maxsize=256)
def _pattern(wildcard: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in wildcard.split("*")), re.IGNORECASE)


def _matches(patterns: Iterable[Any], operation: str) -> bool:
    return any(isinstance(p, str) and _pattern(p).fullmatch(operation) for p in patterns)


def allows(permissions: Iterable[Mapping[str, Any]], operation: str, *, data_action: bool) -> bool:
    """Whether the effective permissions (a Microsoft.Authorization ``permissions`` list) grant ``operation``.

    Each entry grants its ``actions`` minus its ``notActions`` (``dataActions``/``notDataActions`` for data
    actions); the entries add up. Wildcards (``*``) match any run of characters, case-insensitively, as ARM
    matches them.
    """
    allow_key, deny_key = ("dataActions", "notDataActions") if data_action else ("actions", "notActions")
    return any(
        _matches(entry.get(allow_key) or (), operation) and not _matches(entry.get(deny_key) or (), operation)
        for entry in permissions
    )
