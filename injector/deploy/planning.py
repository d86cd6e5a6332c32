"""The plan: which role assignments a deployment's references need, at the narrowest scope, and what is in the way.

``required_assignments`` is pure (references + identity + vault ids in, assignments out) so the rules are easy to
read and test; ``build_plan`` gathers the facts over ARM (vault ids and permission models, the managed network)
and never writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import AccessDenied, ConfigurationError, InjectorError, ResolutionError, SecretNotFound
from .._references import ConnectionReference, KeyVaultReference
from .identity import EndpointIdentity, client_id_from
from .network import NetworkReport, VaultTarget, assess
from .roles import CONNECTIONS_ROLE, KEYVAULT_ROLE, Role, assignment_name, role_definition_id
from .yaml_env import References, find_references

if TYPE_CHECKING:
    from .arm import Arm, WorkspaceId

__all__ = ["Assignment", "DeploymentPlan", "Problem", "Vault", "build_plan", "required_assignments"]

Scope = Literal["vault", "secret"]
WORKSPACE_SETTING = "SECRET_INJECTOR_WORKSPACE_ID"
CLIENT_ID_SETTING = "SECRET_INJECTOR_CLIENT_ID"


@dataclass(frozen=True)
class Vault:
    """A referenced vault: its data-plane URL, and what ARM says about it (None when it was not found)."""

    name: str
    url: str
    id: str | None = None
    rbac: bool | None = None


@dataclass(frozen=True)
class Assignment:
    """One role assignment the deployment needs: ``role`` for ``principal_id`` at ``scope``."""

    role: Role
    scope: str
    principal_id: str
    variables: tuple[str, ...]
    covered_by_platform: bool = False  # the platform grants it itself; nothing to do

    @property
    def name(self) -> str:
        """The deterministic assignment name (a GUID): the same triple always gives the same name."""
        return assignment_name(self.scope, self.role.id, self.principal_id)

    @property
    def role_definition_id(self) -> str:
        return role_definition_id(self.scope.strip("/").split("/")[1], self.role.id)

    def az_command(self) -> str:
        """The equivalent Azure CLI command (same name, so it and ``grant`` never create duplicates)."""
        return (
            f"az role assignment create --assignee-object-id {self.principal_id} "
            f'--assignee-principal-type ServicePrincipal --role "{self.role.name}" '
            f"--scope {self.scope} --name {self.name}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role.name,
            "role_id": self.role.id,
            "scope": self.scope,
            "principal_id": self.principal_id,
            "name": self.name,
            "variables": list(self.variables),
            "covered_by_platform": self.covered_by_platform,
        }


@dataclass(frozen=True)
class Problem:
    """Something that stops the references from working and that a role assignment cannot fix."""

    subject: str
    error: InjectorError
    fix: str

    @property
    def code(self) -> str:
        return self.error.code if isinstance(self.error, ResolutionError) else type(self.error).__name__

    def to_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "code": self.code, "message": str(self.error), "fix": self.fix}


@dataclass
class DeploymentPlan:
    """Everything ``plan`` found out, and everything ``grant`` needs: read-only facts, no side effect."""

    endpoint: str
    workspace_id: str
    identity: EndpointIdentity
    scope: Scope = "vault"
    deployment: str | None = None
    references: dict[str, list[str]] = field(default_factory=dict)  # variable -> reference texts
    vaults: list[Vault] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    network: NetworkReport | None = None
    settings: dict[str, str] = field(default_factory=dict)  # what the deployment must carry
    current: dict[str, str] = field(default_factory=dict)  # those settings as the deployment has them now
    problems: list[Problem] = field(default_factory=list)

    @property
    def settings_to_write(self) -> dict[str, str]:
        """The settings the deployment does not carry yet (or carries with another value)."""
        return {k: v for k, v in self.settings.items() if self.current.get(k, "").lower() != v.lower()}

    @property
    def errors(self) -> list[InjectorError]:
        """Problems that no grant can fix, including network ones (v1 legacy mode, network not provisioned)."""
        network = self.network.errors if self.network else []
        return [p.error for p in self.problems] + [ConfigurationError(f.message) for f in network]

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "workspace_id": self.workspace_id,
            "deployment": self.deployment,
            "identity": {
                "kind": self.identity.kind,
                "principal_id": self.identity.principal_id,
                "client_id": self.identity.client_id,
                "resource_id": self.identity.resource_id,
                "platform_grants_connections": self.identity.platform_grants_connections,
            },
            "scope": self.scope,
            "references": self.references,
            "vaults": [{"name": v.name, "url": v.url, "id": v.id, "rbac": v.rbac} for v in self.vaults],
            "assignments": [a.to_dict() for a in self.assignments],
            "network": self.network.to_dict() if self.network else None,
            "settings": self.settings,
            "settings_to_write": self.settings_to_write,
            "problems": [p.to_dict() for p in self.problems],
        }


def required_assignments(
    references: References,
    identity: EndpointIdentity,
    workspace_id: str,
    vaults: Mapping[str, Vault],
    scope: Scope = "vault",
) -> list[Assignment]:
    """The role assignments ``references`` need, at the narrowest scope the references allow.

    Connections: the connections role on the workspace (List Secrets is a workspace action). Key Vault: Key Vault
    Secrets User on each vault, or on each secret with ``scope="secret"``. Vaults without an ARM id or using
    access policies (see ``vaults``, by URL) are left out: no assignment can help them.
    """
    by_scope: dict[tuple[str, str], set[str]] = {}
    roles: dict[str, Role] = {}
    for variable, template in references.templates.items():
        for ref in template.references:
            if isinstance(ref, ConnectionReference):
                key = (CONNECTIONS_ROLE.id, workspace_id)
                roles[CONNECTIONS_ROLE.id] = CONNECTIONS_ROLE
            else:
                vault = vaults.get(ref.vault_url)
                if vault is None or vault.id is None or not vault.rbac:
                    continue
                target = vault.id if scope == "vault" else f"{vault.id}/secrets/{ref.name}"
                key = (KEYVAULT_ROLE.id, target)
                roles[KEYVAULT_ROLE.id] = KEYVAULT_ROLE
            by_scope.setdefault(key, set()).add(variable)
    assignments = [
        Assignment(
            role=roles[role_id],
            scope=target,
            principal_id=identity.principal_id,
            variables=tuple(sorted(variables)),
            covered_by_platform=role_id == CONNECTIONS_ROLE.id and identity.platform_grants_connections,
        )
        for (role_id, target), variables in by_scope.items()
    ]
    return sorted(assignments, key=lambda a: (a.role.name, a.scope.lower()))


def required_settings(workspace_id: str, identity: EndpointIdentity) -> dict[str, str]:
    """The settings the container needs: the workspace always (connections, and ``check``'s vault lookup),
    the client id for a user-assigned identity (otherwise azure-identity asks for the system-assigned one)."""
    settings = {WORKSPACE_SETTING: workspace_id}
    if identity.kind == "user_assigned" and identity.client_id:
        settings[CLIENT_ID_SETTING] = identity.client_id
    return settings


def current_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The same settings as the deployment's environment has them (a client id under a fallback name counts)."""
    current = {}
    if environ.get(WORKSPACE_SETTING):
        current[WORKSPACE_SETTING] = environ[WORKSPACE_SETTING]
    if (client_id := client_id_from(environ)) is not None:
        current[CLIENT_ID_SETTING] = client_id
    return current


def lookup_vaults(arm: Arm, subscription: str, references: References) -> tuple[list[Vault], list[Problem]]:
    """Each referenced vault's ARM id and permission model, found by name in any resource group."""
    urls = sorted(
        {
            r.vault_url
            for t in references.templates.values()
            for r in t.references
            if isinstance(r, KeyVaultReference)
        }
    )
    vaults: list[Vault] = []
    problems: list[Problem] = []
    for url in urls:
        name = url.removeprefix("https://").split(".", 1)[0]
        found = arm.find_vault(subscription, name)
        if found is None:
            vaults.append(Vault(name, url))
            problems.append(
                Problem(
                    f"key vault {name}",
                    SecretNotFound(
                        f"key vault {name} was not found in subscription {subscription} (or the credential cannot "
                        "read it)",
                        code="VaultNotFound",
                    ),
                    "check the vault name in the reference; the vault must be in the workspace's subscription, "
                    "and you need read access to it",
                )
            )
            continue
        rbac = (found.get("properties") or {}).get("enableRbacAuthorization") is True
        vaults.append(Vault(name, url, str(found["id"]), rbac))
        if not rbac:
            problems.append(
                Problem(
                    f"key vault {name}",
                    ConfigurationError(
                        f"key vault {name} uses access policies: secret injection requires the Azure RBAC "
                        "permission model"
                    ),
                    f"switch it to Azure RBAC (az keyvault update --name {name} --enable-rbac-authorization true), "
                    "after granting RBAC roles to whoever the access policies served",
                )
            )
    return vaults, problems


def build_plan(
    arm: Arm,
    *,
    environ: Mapping[str, str],
    endpoint: str,
    workspace: WorkspaceId,
    identity: EndpointIdentity,
    scope: Scope = "vault",
    deployment: str | None = None,
    network: bool = True,
) -> DeploymentPlan:
    """Gather the facts over ARM (reads only) and compute the plan for ``environ`` (the deployment's variables)."""
    references = find_references(environ, arm.cloud)
    workspace_id = str(workspace)
    plan = DeploymentPlan(
        endpoint=endpoint,
        workspace_id=workspace_id,
        identity=identity,
        scope=scope,
        deployment=deployment,
        references={name: [str(r) for r in t.references] for name, t in sorted(references.templates.items())},
        settings=required_settings(workspace_id, identity),
        current=current_settings(environ),
    )
    for name, error in sorted(references.invalid.items()):
        plan.problems.append(
            Problem(name, error, "correct the reference (forms: see the README, 'Reference forms')")
        )
    plan.vaults, vault_problems = lookup_vaults(arm, workspace.subscription, references)
    plan.problems.extend(vault_problems)
    plan.assignments = required_assignments(
        references, identity, workspace_id, {v.url: v for v in plan.vaults}, scope
    )
    if network:
        plan.network = read_network(arm, workspace_id, plan.vaults)
    return plan


def read_network(arm: Arm, workspace_id: str, vaults: list[Vault]) -> NetworkReport:
    """The workspace's managed network and what it means for the vaults (the outbound rules list is read only
    in approved-outbound mode, where it matters)."""
    from .arm import ML_API

    workspace = arm.get_json(workspace_id, ML_API, what=f"workspace {workspace_id}")
    targets = [VaultTarget(v.name, v.id) for v in vaults if v.id]
    rules = None
    mode = str(((workspace.get("properties") or {}).get("managedNetwork") or {}).get("isolationMode") or "")
    if mode.lower() == "allowonlyapprovedoutbound":
        try:
            rules = arm.outbound_rules(workspace_id)
        except (AccessDenied, SecretNotFound):
            rules = None  # fall back to the rules embedded in the workspace
    return assess(workspace, targets, rules)
