"""The workspace's managed network, as it affects a deployment that reads Key Vault secrets.

In ``AllowOnlyApprovedOutbound`` mode a deployment reaches only approved destinations: the workspace's own Key
Vault is approved by default, any other vault needs a private-endpoint outbound rule. ``v1_legacy_mode`` forbids
managed online endpoints altogether, and deployments are rejected until the managed network is provisioned.
``assess`` is pure (workspace JSON in, findings out); ``outbound_rule`` is the body ``--apply-network`` PUTs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "NetworkFinding",
    "NetworkReport",
    "VaultTarget",
    "assess",
    "outbound_rule",
    "rule_command",
    "rule_name",
]

APPROVED_ONLY = "allowonlyapprovedoutbound"


@dataclass(frozen=True)
class VaultTarget:
    """A vault the deployment must reach: its name and ARM id."""

    name: str
    id: str


@dataclass(frozen=True)
class NetworkFinding:
    """One thing wrong (or worth knowing) about the network path; ``fix`` is what to run or change."""

    severity: Literal["error", "action", "info"]
    code: str
    message: str
    fix: str = ""
    vault: VaultTarget | None = None


@dataclass
class NetworkReport:
    """The workspace's managed network, and what it means for the referenced vaults."""

    workspace_id: str
    isolation_mode: str = "Disabled"
    provisioned: bool | None = None
    v1_legacy_mode: bool = False
    workspace_vault: str | None = None
    findings: list[NetworkFinding] = field(default_factory=list)

    @property
    def missing_rules(self) -> list[VaultTarget]:
        """The vaults that need a private-endpoint outbound rule (what ``--apply-network`` adds)."""
        return [f.vault for f in self.findings if f.code == "OutboundRuleMissing" and f.vault is not None]

    @property
    def errors(self) -> list[NetworkFinding]:
        return [f for f in self.findings if f.severity == "error"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "isolation_mode": self.isolation_mode,
            "provisioned": self.provisioned,
            "v1_legacy_mode": self.v1_legacy_mode,
            "workspace_key_vault": self.workspace_vault,
            "findings": [
                {"severity": f.severity, "code": f.code, "message": f.message, "fix": f.fix}
                for f in self.findings
            ],
        }


def rule_name(vault: VaultTarget) -> str:
    """The outbound rule's name for a vault; the same one the runtime's fix message suggests."""
    return f"pe-{vault.name}"


def outbound_rule(vault: VaultTarget) -> dict[str, Any]:
    """The ``properties`` of a private-endpoint outbound rule to ``vault`` (subresource ``vault``)."""
    return {
        "type": "PrivateEndpoint",
        "category": "UserDefined",
        "destination": {"serviceResourceId": vault.id, "subresourceTarget": "vault", "sparkEnabled": False},
    }


def rule_command(workspace_id: str, vault: VaultTarget) -> str:
    return (
        f"az ml workspace outbound-rule set --resource-group {_part(workspace_id, 3)} "
        f"--workspace-name {_part(workspace_id, -1)} "
        f"--rule {rule_name(vault)} --type private_endpoint --service-resource-id {vault.id} "
        "--subresource-target vault"
    )


def _rule_reaches(rule: Mapping[str, Any], vault: VaultTarget) -> bool:
    destination = rule.get("destination") or {}
    return (
        str(rule.get("type", "")).lower() == "privateendpoint"
        and isinstance(destination, dict)
        and str(destination.get("serviceResourceId", "")).lower() == vault.id.lower()
        and str(destination.get("subresourceTarget", "vault")).lower() == "vault"
    )


def assess(
    workspace: Mapping[str, Any],
    vaults: Iterable[VaultTarget],
    rules: Mapping[str, Mapping[str, Any]] | None = None,
) -> NetworkReport:
    """What the managed network of ``workspace`` (its ARM JSON) means for reaching ``vaults``.

    ``rules`` are the outbound rules by name (from the outbound rules list); when None, those embedded in the
    workspace's ``managedNetwork`` are used.
    """
    props = workspace.get("properties") or {}
    network = props.get("managedNetwork") or {}
    workspace_id = str(workspace.get("id", ""))
    report = NetworkReport(
        workspace_id=workspace_id,
        isolation_mode=str(network.get("isolationMode") or "Disabled"),
        v1_legacy_mode=bool(props.get("v1LegacyMode")),
        workspace_vault=props.get("keyVault") if isinstance(props.get("keyVault"), str) else None,
    )
    if report.v1_legacy_mode:
        report.findings.append(
            NetworkFinding(
                "error",
                "V1LegacyMode",
                "the workspace has v1_legacy_mode enabled: managed online endpoints cannot be created in it",
                "disable it, after checking with your network team why it is on: "
                f"az resource update --ids {workspace_id} --set properties.v1LegacyMode=false",
            )
        )
    mode = report.isolation_mode.lower()
    if mode in ("", "disabled"):
        return report
    status = network.get("status") or {}
    report.provisioned = (
        str(status.get("status", "")).lower() == "active" if isinstance(status, dict) else False
    )
    if not report.provisioned:
        report.findings.append(
            NetworkFinding(
                "error",
                "NetworkNotProvisioned",
                f"the workspace's managed network ({report.isolation_mode}) is not provisioned yet: deployments "
                "will be rejected until it is",
                f"az ml workspace provision-network --resource-group {_part(workspace_id, 3)} "
                f"--name {_part(workspace_id, -1)}",
            )
        )
    if mode != APPROVED_ONLY:
        return report
    embedded = network.get("outboundRules")
    known: Mapping[str, Any] = rules if rules is not None else embedded if isinstance(embedded, dict) else {}
    own = (report.workspace_vault or "").lower()
    for vault in vaults:
        if vault.id.lower() == own:
            report.findings.append(
                NetworkFinding(
                    "info",
                    "WorkspaceVault",
                    f"vault {vault.name} is the workspace's own: approved by default",
                    vault=vault,
                )
            )
        elif any(_rule_reaches(rule, vault) for rule in known.values() if isinstance(rule, Mapping)):
            report.findings.append(
                NetworkFinding(
                    "info",
                    "OutboundRulePresent",
                    f"vault {vault.name} has a private-endpoint outbound rule",
                    vault=vault,
                )
            )
        else:
            report.findings.append(
                NetworkFinding(
                    "action",
                    "OutboundRuleMissing",
                    f"the managed network allows only approved outbound traffic and vault {vault.name} has no "
                    "private-endpoint outbound rule: the deployment cannot reach it",
                    rule_command(workspace_id, vault),
                    vault,
                )
            )
    return report


def _part(resource_id: str, index: int) -> str:
    parts = resource_id.strip("/").split("/")
    try:
        return parts[index]
    except IndexError:
        return "<?>"
