"""Apply a plan, idempotently: create the missing role assignments (and, if asked, outbound rules), nothing else.

Each assignment has a deterministic name, so a rerun addresses the same resource; an assignment that already
covers the scope (there or on an ancestor, under any name) is reported as present and not touched; a 409
``RoleAssignmentExists`` counts as present. A second run therefore changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import AccessDenied, ConfigurationError, InjectorError, ResolutionError
from .network import VaultTarget, outbound_rule, rule_command, rule_name

if TYPE_CHECKING:
    from .arm import Arm
    from .planning import Assignment, DeploymentPlan

__all__ = ["AssignmentOutcome", "GrantReport", "RuleOutcome", "apply_plan"]

AssignmentStatus = Literal["created", "present", "covered", "planned", "failed"]
RuleStatus = Literal["created", "accepted", "planned", "needed", "failed"]


@dataclass(frozen=True)
class AssignmentOutcome:
    """What happened to one planned role assignment."""

    assignment: Assignment
    status: AssignmentStatus
    detail: str = ""
    error: InjectorError | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {**self.assignment.to_dict(), "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class RuleOutcome:
    """What happened to one private-endpoint outbound rule a vault needs."""

    vault: VaultTarget
    status: RuleStatus
    command: str
    detail: str = ""
    error: InjectorError | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return rule_name(self.vault)

    def to_dict(self) -> dict[str, Any]:
        return {
            "vault": self.vault.name,
            "vault_id": self.vault.id,
            "rule": self.name,
            "status": self.status,
            "command": self.command,
            "detail": self.detail,
        }


@dataclass
class GrantReport:
    """The outcome of ``grant``: one entry per assignment and per needed outbound rule."""

    plan: DeploymentPlan
    dry_run: bool = False
    assignments: list[AssignmentOutcome] = field(default_factory=list)
    rules: list[RuleOutcome] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether this run created anything (False on a rerun, and always for a dry run)."""
        return any(o.status == "created" for o in self.assignments) or any(
            r.status in ("created", "accepted") for r in self.rules
        )

    @property
    def errors(self) -> list[InjectorError]:
        """Everything still in the way once the run is over: failures, plan problems, rules not added."""
        errors = list(self.plan.errors)
        errors += [o.error for o in self.assignments if o.error is not None]
        errors += [r.error for r in self.rules if r.error is not None]
        return errors

    def commands(self) -> list[str]:
        """The Azure CLI commands equivalent to what this run did, or (dry run) would do."""
        wanted = ("planned",) if self.dry_run else ("created", "planned", "failed")
        commands = [o.assignment.az_command() for o in self.assignments if o.status in wanted]
        return commands + [r.command for r in self.rules if r.status in ("planned", "needed", "failed")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "changed": self.changed,
            "assignments": [o.to_dict() for o in self.assignments],
            "outbound_rules": [r.to_dict() for r in self.rules],
            "commands": self.commands(),
            "plan": self.plan.to_dict(),
        }


def apply_plan(
    arm: Arm, plan: DeploymentPlan, *, dry_run: bool = False, apply_network: bool = False
) -> GrantReport:
    """Create what ``plan`` needs and is missing; with ``dry_run`` read only and report what would be created."""
    report = GrantReport(plan, dry_run=dry_run)
    for assignment in plan.assignments:
        report.assignments.append(_apply_assignment(arm, assignment, dry_run))
    for vault in plan.network.missing_rules if plan.network else []:
        report.rules.append(_apply_rule(arm, plan.workspace_id, vault, dry_run, apply_network))
    return report


def _apply_assignment(arm: Arm, assignment: Assignment, dry_run: bool) -> AssignmentOutcome:
    if assignment.covered_by_platform:
        return AssignmentOutcome(
            assignment,
            "covered",
            "granted by the platform: system-assigned identity with enforce_access_to_default_secret_stores enabled",
        )
    try:
        existing = _existing(arm, assignment)
    except AccessDenied:
        existing = None  # cannot list: the PUT below still tells (409 when it exists)
    except ResolutionError as exc:
        return AssignmentOutcome(assignment, "failed", str(exc), exc)
    if existing is not None:
        return AssignmentOutcome(assignment, "present", f"already assigned ({existing})")
    if dry_run:
        return AssignmentOutcome(assignment, "planned", "would be created")
    try:
        result = arm.create_role_assignment(
            assignment.scope, assignment.name, assignment.role_definition_id, assignment.principal_id
        )
    except ResolutionError as exc:
        return AssignmentOutcome(assignment, "failed", str(exc), exc)
    if result == "exists":
        return AssignmentOutcome(assignment, "present", "already assigned (409 RoleAssignmentExists)")
    return AssignmentOutcome(assignment, "created", f"created as {assignment.name}")


def _existing(arm: Arm, assignment: Assignment) -> str | None:
    """Where an assignment of the same role to the same principal already covers the scope, if anywhere."""
    for item in arm.role_assignments(assignment.scope, assignment.principal_id):
        props = item.get("properties") or {}
        definition = str(props.get("roleDefinitionId", ""))
        if definition.rstrip("/").rsplit("/", 1)[-1].lower() == assignment.role.id:
            where = str(props.get("scope") or "")
            return (
                "at this scope"
                if where.lower().rstrip("/") == assignment.scope.lower()
                else f"inherited from {where}"
            )
    return None


def _apply_rule(
    arm: Arm, workspace_id: str, vault: VaultTarget, dry_run: bool, apply_network: bool
) -> RuleOutcome:
    command = rule_command(workspace_id, vault)
    if not apply_network:
        # Left out of a dry run's errors: it only shows what a real run would leave undone.
        error = (
            None
            if dry_run
            else ConfigurationError(
                f"vault {vault.name} is not reachable from the managed network: rerun with --apply-network, or "
                f"run: {command}"
            )
        )
        return RuleOutcome(vault, "needed", command, "not added (no --apply-network)", error)
    if dry_run:
        return RuleOutcome(vault, "planned", command, "would be added")
    try:
        status = arm.put_outbound_rule(workspace_id, rule_name(vault), outbound_rule(vault))
    except ResolutionError as exc:
        return RuleOutcome(vault, "failed", command, str(exc), exc)
    if status == 202:
        return RuleOutcome(vault, "accepted", command, "accepted; the private endpoint is being provisioned")
    return RuleOutcome(vault, "created", command, "added")
