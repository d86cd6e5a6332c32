"""Text renderings of a plan, a grant report and a check report, for people (``--json`` is for machines).

Built from names, ids, codes and fixes only: no report holds a secret value, so none can be printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .granting import GrantReport
    from .network import NetworkReport
    from .planning import DeploymentPlan
    from .preflight import CheckReport

__all__ = ["render_check", "render_commands", "render_grant", "render_plan"]

_MARK = {"created": "+", "present": "=", "covered": "=", "planned": "~", "failed": "!"}


def render_plan(plan: DeploymentPlan) -> Iterator[str]:
    yield f"endpoint {plan.endpoint}: {plan.identity.describe()}"
    connections = {r for refs in plan.references.values() for r in refs if "azureml://" in r}
    secrets = {r for refs in plan.references.values() for r in refs if "keyvault:" in r}
    yield (
        f"references: {len(plan.references)} variable(s); {len(connections)} connection reference(s), "
        f"{len(secrets)} Key Vault reference(s) in {len(plan.vaults)} vault(s)"
    )
    yield ""
    if plan.assignments:
        yield f"role assignments needed (scope: {plan.scope}):"
        for a in plan.assignments:
            note = "  [already covered: granted by the platform]" if a.covered_by_platform else ""
            yield f"  {a.role.name}{note}"
            yield f"    scope: {a.scope}"
            yield f"    for:   {', '.join(a.variables)}"
    else:
        yield "role assignments needed: none"
    if plan.network is not None:
        yield ""
        yield from _render_network(plan.network)
    yield ""
    yield "settings the deployment must carry (environment_variables):"
    to_write = plan.settings_to_write
    for name, value in plan.settings.items():
        current = plan.current.get(name)
        state = "missing" if current is None else f"differs: {current}" if name in to_write else "present"
        yield f"  {name}: {value}   ({state})"
    if to_write and plan.deployment:
        yield f"  run 'plan --write' to add them to {plan.deployment}"
    if plan.problems:
        yield ""
        yield "problems (no role assignment can fix these):"
        for p in plan.problems:
            yield f"  {p.subject}: {p.error}"
            yield f"    fix: {p.fix}"


def _render_network(network: NetworkReport) -> Iterator[str]:
    provisioned = (
        "" if network.provisioned is None else ", provisioned" if network.provisioned else ", NOT provisioned"
    )
    yield f"managed network: {network.isolation_mode}{provisioned}"
    for finding in network.findings:
        yield f"  {finding.severity}: {finding.message}"
        if finding.fix:
            yield f"    fix: {finding.fix}"


def render_grant(report: GrantReport) -> Iterator[str]:
    plan = report.plan
    yield f"endpoint {plan.endpoint}: {plan.identity.describe()}"
    for outcome in report.assignments:
        a = outcome.assignment
        yield f"{_MARK[outcome.status]} {outcome.status:<8} {a.role.name} at {a.scope}: {outcome.detail}"
    for rule in report.rules:
        yield f"{'+' if rule.status in ('created', 'accepted') else '!'} {rule.status:<8} outbound rule {rule.name} for vault {rule.vault.name}: {rule.detail}"
        if rule.status in ("needed", "failed"):
            yield f"    fix: {rule.command}"
    for problem in plan.problems:
        yield f"! problem  {problem.subject}: {problem.error}"
        yield f"    fix: {problem.fix}"
    for finding in plan.network.errors if plan.network else []:
        yield f"! network  {finding.message}"
        yield f"    fix: {finding.fix}"
    if not report.dry_run:
        yield "changed: yes" if report.changed else "changed: nothing (everything was already in place)"


def render_commands(report: GrantReport) -> Iterator[str]:
    """A dry run as a shell script: the ``az`` commands that would be run; what exists is shown as comments."""
    yield f"# secret-injector grant --dry-run: endpoint {report.plan.endpoint}, {report.plan.identity.describe()}"
    for outcome in report.assignments:
        a = outcome.assignment
        if outcome.status == "planned":
            yield a.az_command()
        elif outcome.status == "failed":
            yield f"# could not check ({outcome.detail}):"
            yield a.az_command()
        else:
            yield f"# {outcome.status}: {a.role.name} at {a.scope}"
    for rule in report.rules:
        if rule.status == "needed":
            yield "# needs --apply-network (or run):"
        yield rule.command
    for problem in report.plan.problems:
        yield f"# problem: {problem.subject}: {problem.error} -- fix: {problem.fix}"
    for finding in report.plan.network.errors if report.plan.network else []:
        yield f"# problem: {finding.message} -- fix: {finding.fix}"


def render_check(report: CheckReport) -> Iterator[str]:
    if report.principal_id:
        yield f"identity: principal {report.principal_id}"
    for note in report.notes:
        yield f"{note.name}: {note.status}: {note.detail}"
        if note.fix and note.status != "ok":
            yield f"  fix: {note.fix}"
    if not report.rows:
        return
    table = [("VARIABLE", "STORE", "STATUS", "FIX")]
    for row in report.rows:
        problem = row.problem
        status = row.status if problem is None else f"{row.status} ({problem.name})"
        table.append((row.variable, ", ".join(row.stores) or "-", status, row.fix))
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    yield ""
    for cells in table:
        yield "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + "  " + cells[3]
    details = [(row, s) for row in report.rows for s in row.steps if s.status in ("warning", "error")]
    if details:
        yield ""
        for row, step in details:
            yield f"{row.variable}: {step.name}: {step.detail}"
    yield ""
    errors = len({row.variable for row in report.rows if row.status == "error"})
    yield "check passed" if report.ok else f"check failed: {errors} variable(s) with errors"
