"""Azure RBAC as ARM and Key Vault evaluate it: built-in role definitions, scopes, and the assignment store.

An assignment applies at its scope and everything below it (path-segment prefix, case-insensitive); a role
grants an action when one of its patterns matches it (``*`` spans anything) and none of its ``not`` patterns do.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "BUILTIN_ROLES",
    "GET_SECRET_DATA_ACTION",
    "LISTSECRETS_ACTION",
    "RoleAssignment",
    "RoleAssignmentStore",
    "RoleDefinition",
    "action_matches",
    "resolve_role",
    "role_definition_id",
    "scope_contains",
]

LISTSECRETS_ACTION = "Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action"
GET_SECRET_DATA_ACTION = "Microsoft.KeyVault/vaults/secrets/getSecret/action"


@dataclass(frozen=True)
class RoleDefinition:
    id: str  # the definition GUID
    name: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    def permission(self) -> dict[str, list[str]]:
        """The role's permission block, in the shape of ARM's ``permissions`` API."""
        return {
            "actions": list(self.actions),
            "notActions": list(self.not_actions),
            "dataActions": list(self.data_actions),
            "notDataActions": list(self.not_data_actions),
        }

    def grants(self, action: str, *, data: bool) -> bool:
        allow, deny = (self.data_actions, self.not_data_actions) if data else (self.actions, self.not_actions)
        return any(action_matches(p, action) for p in allow) and not any(
            action_matches(p, action) for p in deny
        )


# Real Azure definition ids. Contributor's notActions are the management-plane subset that matters here.
BUILTIN_ROLES: dict[str, RoleDefinition] = {
    r.id: r
    for r in (
        RoleDefinition("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", actions=("*",)),
        RoleDefinition(
            "b24988ac-6180-42a0-ab88-20f7382dd24c",
            "Contributor",
            actions=("*",),
            not_actions=(
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write",
                "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action",
                "Microsoft.Purview/consents/write",
                "Microsoft.Purview/consents/delete",
            ),
        ),
        RoleDefinition("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", actions=("*/read",)),
        RoleDefinition(
            "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
            "Role Based Access Control Administrator",
            actions=(
                "Microsoft.Authorization/roleAssignments/write",
                "Microsoft.Authorization/roleAssignments/delete",
                "*/read",
                "Microsoft.Support/*",
            ),
        ),
        RoleDefinition(
            "ea01e6af-a1c1-4350-9563-ad00f8c72ec5",
            "Azure Machine Learning Workspace Connection Secrets Reader",
            actions=(
                LISTSECRETS_ACTION,
                "Microsoft.MachineLearningServices/workspaces/metadata/secrets/read",
            ),
        ),
        RoleDefinition(
            "4633458b-17de-408a-b874-0445c86b69e6",
            "Key Vault Secrets User",
            data_actions=(GET_SECRET_DATA_ACTION, "Microsoft.KeyVault/vaults/secrets/readMetadata/action"),
        ),
    )
}

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(text: str) -> bool:
    return bool(_GUID.match(text))


def resolve_role(text: str) -> RoleDefinition | None:
    """A built-in role by name (case-insensitive), definition GUID, or full ``roleDefinitionId`` path."""
    key = text.strip().rstrip("/").rsplit("/", 1)[-1].lower()
    if key in BUILTIN_ROLES:
        return BUILTIN_ROLES[key]
    wanted = text.strip().lower()
    return next((r for r in BUILTIN_ROLES.values() if r.name.lower() == wanted), None)


def role_definition_id(subscription: str, role_id: str) -> str:
    return f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"


def _segments(scope: str) -> list[str]:
    return [s for s in scope.lower().split("/") if s]


def scope_contains(outer: str, inner: str) -> bool:
    """True when ``outer`` is ``inner`` or one of its ancestors (``/`` contains everything)."""
    a, b = _segments(outer), _segments(inner)
    return len(a) <= len(b) and b[: len(a)] == a


def action_matches(pattern: str, action: str) -> bool:
    """ARM's wildcard rule: ``*`` matches any run of characters, ``/`` included; case-insensitive."""
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, action, re.IGNORECASE) is not None


def subscription_of(scope: str) -> str:
    parts = _segments(scope)
    if len(parts) >= 2 and parts[0] == "subscriptions":
        return scope.strip("/").split("/")[1]
    return ""


@dataclass(frozen=True)
class RoleAssignment:
    name: str
    principal_id: str
    role: RoleDefinition
    scope: str
    principal_type: str = "ServicePrincipal"
    created_on: float = field(default_factory=time.time)
    created_by: str | None = None
    description: str | None = None

    @property
    def id(self) -> str:
        return f"{self.scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{self.name}"

    def same_grant(self, principal_id: str, role_id: str, scope: str) -> bool:
        return (
            self.principal_id.lower() == principal_id.lower()
            and self.role.id == role_id.lower()
            and _segments(self.scope) == _segments(scope)
        )

    def to_arm(self) -> dict[str, object]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(self.created_on))
        sub = subscription_of(self.scope)
        definition = (
            role_definition_id(sub, self.role.id)
            if sub
            else f"/providers/Microsoft.Authorization/roleDefinitions/{self.role.id}"
        )
        return {
            "properties": {
                "roleDefinitionId": definition,
                "principalId": self.principal_id,
                "principalType": self.principal_type,
                "scope": self.scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": stamp,
                "updatedOn": stamp,
                "createdBy": self.created_by,
                "updatedBy": self.created_by,
                "delegatedManagedIdentityResourceId": None,
                "description": self.description,
            },
            "id": self.id,
            "type": "Microsoft.Authorization/roleAssignments",
            "name": self.name,
        }


class RoleAssignmentExistsError(Exception):
    def __init__(self, existing: RoleAssignment) -> None:
        super().__init__(existing.name)
        self.existing = existing


class RoleAssignmentStore:
    """The assignments in effect: the configured ones plus any created through ARM (thread-safe)."""

    def __init__(self, initial: Iterable[RoleAssignment] = ()) -> None:
        self._lock = threading.Lock()
        self._items: list[RoleAssignment] = []
        for assignment in initial:
            self.add(assignment, ignore_existing=True)

    def add(self, assignment: RoleAssignment, *, ignore_existing: bool = False) -> RoleAssignment:
        with self._lock:
            for existing in self._items:
                if existing.same_grant(assignment.principal_id, assignment.role.id, assignment.scope):
                    if ignore_existing:
                        return existing
                    raise RoleAssignmentExistsError(existing)
            self._items.append(assignment)
            return assignment

    def get(self, scope: str, name: str) -> RoleAssignment | None:
        with self._lock:
            return next(
                (
                    a
                    for a in self._items
                    if a.name.lower() == name.lower() and _segments(a.scope) == _segments(scope)
                ),
                None,
            )

    def delete(self, scope: str, name: str) -> RoleAssignment | None:
        with self._lock:
            for i, a in enumerate(self._items):
                if a.name.lower() == name.lower() and _segments(a.scope) == _segments(scope):
                    return self._items.pop(i)
        return None

    def name_taken(self, name: str) -> RoleAssignment | None:
        with self._lock:
            return next((a for a in self._items if a.name.lower() == name.lower()), None)

    def all(self) -> list[RoleAssignment]:
        with self._lock:
            return list(self._items)

    def applicable(self, principal_id: str, scope: str) -> list[RoleAssignment]:
        """The principal's assignments at ``scope`` or above it: the ones that decide access there."""
        pid = principal_id.lower()
        return [a for a in self.all() if a.principal_id.lower() == pid and scope_contains(a.scope, scope)]

    def allows(self, principal_id: str, scope: str, action: str, *, data: bool = False) -> bool:
        return any(a.role.grants(action, data=data) for a in self.applicable(principal_id, scope))


def new_assignment_name(*parts: str) -> str:
    """A stable GUID name for a configured assignment (so restarts and listings agree)."""
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, "emulator-role-assignment:" + "|".join(p.lower() for p in parts))
    )
