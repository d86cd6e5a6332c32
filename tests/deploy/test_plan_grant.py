"""plan and grant against the respx fake of ARM, through the Python API (azure-ai-ml included)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from injector._exceptions import ConfigurationError, SecretNotFound
from injector.deploy import Deployer
from injector.deploy.roles import CONNECTIONS_ROLE, KEYVAULT_ROLE, assignment_name
from tests.deploy.conftest import Cloud, DeployerCredential
from tests.deploy.fakearm import WORKSPACE_VAULT_ID, vault_id
from tests.injector.fakeazure import PRINCIPAL_ID, UAI_CLIENT_ID, UAI_PRINCIPAL_ID, WORKSPACE_ID

pytest.importorskip("azure.ai.ml")

ENV = {
    "OPENAI_KEY": "${{azureml://connections/openai/credentials/key}}",
    "OPENAI_BASE": "${{azureml://connections/openai/target}}",
    "DB_PASSWORD": "${{keyvault:https://kv1.vault.azure.net/secrets/db-password}}",
    "API_TOKEN": "${{keyvault:https://kv1.vault.azure.net/secrets/api-token/0123456789abcdef0123456789abcdef}}",
    "OTHER": "${{keyvault:https://kv2.vault.azure.net/secrets/other}}",
    "PLAIN": "x",
}


@pytest.fixture
def deployer(cloud: Cloud) -> Iterator[Deployer]:
    cloud.arm.add_endpoint("ep", "SystemAssigned")
    cloud.arm.add_vault("kv1", "rg-data")
    cloud.arm.add_vault("kv2", "rg-other")  # another resource group: found all the same
    with Deployer(DeployerCredential()) as deployer:
        yield deployer


def test_plan_lists_assignments_at_vault_scope(cloud: Cloud, deployer: Deployer) -> None:
    plan = deployer.plan(ENV, endpoint="ep", workspace_id=WORKSPACE_ID)
    assert [(a.role.name, a.scope, a.variables) for a in plan.assignments] == [
        (CONNECTIONS_ROLE.name, WORKSPACE_ID, ("OPENAI_BASE", "OPENAI_KEY")),
        (KEYVAULT_ROLE.name, vault_id("kv1", "rg-data"), ("API_TOKEN", "DB_PASSWORD")),
        (KEYVAULT_ROLE.name, vault_id("kv2", "rg-other"), ("OTHER",)),
    ]
    assert all(a.principal_id == PRINCIPAL_ID and not a.covered_by_platform for a in plan.assignments)
    assert plan.settings == {"SECRET_INJECTOR_WORKSPACE_ID": WORKSPACE_ID}
    assert plan.settings_to_write == plan.settings
    assert plan.problems == [] and plan.errors == []
    assert cloud.arm.puts("") == 0  # plan reads only


def test_plan_at_secret_scope(deployer: Deployer) -> None:
    plan = deployer.plan(ENV, endpoint="ep", workspace_id=WORKSPACE_ID, scope="secret")
    assert [a.scope.rsplit("/", 3)[-3:] for a in plan.assignments[1:]] == [
        ["kv1", "secrets", "api-token"],
        ["kv1", "secrets", "db-password"],
        ["kv2", "secrets", "other"],
    ]


def test_platform_covers_connections_for_system_assigned_with_enforcement(
    cloud: Cloud, deployer: Deployer
) -> None:
    cloud.arm.add_endpoint("ep2", "SystemAssigned", enforce=True)
    plan = deployer.plan(ENV, endpoint="ep2", workspace_id=WORKSPACE_ID)
    assert [a.covered_by_platform for a in plan.assignments] == [True, False, False]
    report = deployer.grant(plan)
    assert [o.status for o in report.assignments] == ["covered", "created", "created"]


def test_user_assigned_needs_the_client_id_setting(cloud: Cloud, deployer: Deployer) -> None:
    cloud.arm.add_endpoint("uep", "UserAssigned", enforce=True)
    plan = deployer.plan(ENV, endpoint="uep", workspace_id=WORKSPACE_ID)
    assert plan.identity.principal_id == UAI_PRINCIPAL_ID
    assert not any(a.covered_by_platform for a in plan.assignments)
    assert plan.settings["SECRET_INJECTOR_CLIENT_ID"] == UAI_CLIENT_ID
    # a client id under the Azure ML examples' name counts as present
    plan = deployer.plan({**ENV, "UAI_CLIENT_ID": UAI_CLIENT_ID}, endpoint="uep", workspace_id=WORKSPACE_ID)
    assert "SECRET_INJECTOR_CLIENT_ID" not in plan.settings_to_write


def test_grant_twice_changes_nothing_the_second_time(cloud: Cloud, deployer: Deployer) -> None:
    plan = deployer.plan(ENV, endpoint="ep", workspace_id=WORKSPACE_ID)
    first = deployer.grant(plan)
    assert [o.status for o in first.assignments] == ["created"] * 3 and first.changed and first.errors == []
    assert cloud.arm.puts("roleAssignments") == 3
    for a in plan.assignments:  # deterministic names, principal type ServicePrincipal (asserted by the fake)
        assert (
            f"{a.scope}/providers/microsoft.authorization/roleassignments/{a.name}".lower()
            in cloud.arm.assignments
        )
        assert a.name == assignment_name(a.scope, a.role.id, PRINCIPAL_ID)
    second = deployer.grant(deployer.plan(ENV, endpoint="ep", workspace_id=WORKSPACE_ID))
    assert [o.status for o in second.assignments] == ["present"] * 3 and not second.changed
    assert cloud.arm.puts("roleAssignments") == 3  # no write at all


def test_409_counts_as_present(cloud: Cloud, deployer: Deployer) -> None:
    cloud.arm.deny_list = True  # cannot see existing assignments: the PUT tells
    cloud.arm.conflict_on_put = True
    report = deployer.grant(deployer.plan(ENV, endpoint="ep", workspace_id=WORKSPACE_ID))
    assert [o.status for o in report.assignments] == ["present"] * 3
    assert all("409" in o.detail for o in report.assignments)
    assert report.errors == [] and not report.changed


def test_inherited_assignment_is_present(cloud: Cloud, deployer: Deployer) -> None:
    cloud.arm.assign(
        PRINCIPAL_ID,
        KEYVAULT_ROLE.id,
        "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/rg-data",
    )
    report = deployer.grant(deployer.plan(ENV, endpoint="ep", workspace_id=WORKSPACE_ID), dry_run=True)
    assert [o.status for o in report.assignments] == ["planned", "present", "planned"]
    assert "inherited from" in report.assignments[1].detail
    assert cloud.arm.puts("") == 0


def test_dry_run_commands(cloud: Cloud, deployer: Deployer) -> None:
    report = deployer.grant(deployer.plan(ENV, endpoint="ep", workspace_id=WORKSPACE_ID), dry_run=True)
    commands = report.commands()
    assert len(commands) == 3 and cloud.arm.puts("") == 0
    a = report.plan.assignments[1]
    assert commands[1] == (
        f"az role assignment create --assignee-object-id {PRINCIPAL_ID} --assignee-principal-type ServicePrincipal "
        f'--role "Key Vault Secrets User" --scope {a.scope} --name {a.name}'
    )


def test_grant_without_rights_fails_with_access_denied(cloud: Cloud, deployer: Deployer) -> None:
    cloud.arm.assignments.clear()  # the deployer is no longer Owner
    cloud.arm.add_endpoint("ep", "SystemAssigned")
    plan = deployer.plan({"A": ENV["OPENAI_KEY"]}, endpoint="ep", workspace_id=WORKSPACE_ID)
    report = deployer.grant(plan)
    assert [o.status for o in report.assignments] == ["failed"]
    assert type(report.errors[0]).__name__ == "AccessDenied"


def test_unknown_vault_and_access_policy_vault_are_problems(cloud: Cloud, deployer: Deployer) -> None:
    cloud.arm.add_vault("kv-policies", rbac=False)
    env = {
        "A": "${{keyvault:https://nope.vault.azure.net/secrets/x}}",
        "B": "${{keyvault:https://kv-policies.vault.azure.net/secrets/x}}",
        "C": "${{keyvault:https://kv1.vault.azure.net/secrets/x}}",
        "BAD": "${{azureml://connections/x}}",
    }
    plan = deployer.plan(env, endpoint="ep", workspace_id=WORKSPACE_ID)
    assert [(p.subject, type(p.error).__name__) for p in plan.problems] == [
        ("BAD", "InvalidReference"),
        ("key vault kv-policies", "ConfigurationError"),
        ("key vault nope", "SecretNotFound"),
    ]
    assert "requires the Azure RBAC permission model" in str(plan.problems[1].error)
    assert "--enable-rbac-authorization true" in plan.problems[1].fix
    assert [a.scope for a in plan.assignments] == [vault_id("kv1")]  # nothing for the broken vaults


def test_managed_network_missing_rule_then_apply_network(cloud: Cloud, deployer: Deployer) -> None:
    cloud.arm.managed_network = {"isolationMode": "AllowOnlyApprovedOutbound", "status": {"status": "Active"}}
    env = {"A": ENV["DB_PASSWORD"]}
    plan = deployer.plan(env, endpoint="ep", workspace_id=WORKSPACE_ID)
    assert plan.network is not None and [v.name for v in plan.network.missing_rules] == ["kv1"]
    report = deployer.grant(plan)
    assert [r.status for r in report.rules] == ["needed"] and len(report.errors) == 1
    assert cloud.arm.puts("outboundRules") == 0
    dry = deployer.grant(plan, dry_run=True, apply_network=True)
    assert [r.status for r in dry.rules] == ["planned"] and cloud.arm.puts("outboundRules") == 0
    applied = deployer.grant(plan, apply_network=True)
    assert [r.status for r in applied.rules] == ["accepted"] and applied.errors == []
    assert cloud.arm.rules["pe-kv1"]["destination"]["serviceResourceId"] == vault_id("kv1")
    again = deployer.plan(env, endpoint="ep", workspace_id=WORKSPACE_ID)
    assert again.network is not None and again.network.missing_rules == []


def test_workspace_vault_is_approved_by_default(cloud: Cloud, deployer: Deployer) -> None:
    cloud.arm.managed_network = {"isolationMode": "AllowOnlyApprovedOutbound", "status": {"status": "Active"}}
    cloud.arm.vaults.append(
        {"id": WORKSPACE_VAULT_ID, "name": "kv-ws", "properties": {"enableRbacAuthorization": True}}
    )
    plan = deployer.plan(
        {"A": "${{keyvault:https://kv-ws.vault.azure.net/secrets/x}}"},
        endpoint="ep",
        workspace_id=WORKSPACE_ID,
    )
    assert plan.network is not None and plan.network.missing_rules == []


@pytest.mark.parametrize(
    ("network", "legacy", "code"),
    [
        (
            {"isolationMode": "AllowInternetOutbound", "status": {"status": "Inactive"}},
            False,
            "NetworkNotProvisioned",
        ),
        (None, True, "V1LegacyMode"),
    ],
)
def test_network_errors_make_the_plan_fail(
    cloud: Cloud, deployer: Deployer, network: object, legacy: bool, code: str
) -> None:
    cloud.arm.managed_network = network  # type: ignore[assignment]
    cloud.arm.v1_legacy_mode = legacy
    plan = deployer.plan({"A": ENV["DB_PASSWORD"]}, endpoint="ep", workspace_id=WORKSPACE_ID)
    assert plan.network is not None and [f.code for f in plan.network.errors] == [code]
    assert len(plan.errors) == 1


def test_workspace_id_from_the_deployment_and_errors(tmp_path: Path, deployer: Deployer) -> None:
    path = tmp_path / "d.yml"
    path.write_text(f"environment_variables:\n  SECRET_INJECTOR_WORKSPACE_ID: {WORKSPACE_ID}\n  A: x\n")
    plan = deployer.plan(path, endpoint="ep")
    assert plan.workspace_id == WORKSPACE_ID and plan.settings_to_write == {} and plan.deployment == str(path)
    with pytest.raises(ConfigurationError, match="which workspace"):
        deployer.plan({}, endpoint="ep")
    with pytest.raises(ConfigurationError, match="not a workspace id"):
        deployer.plan({}, endpoint="ep", workspace_id="/subscriptions/x")
    with pytest.raises(SecretNotFound):
        deployer.plan({}, endpoint="missing", workspace_id=WORKSPACE_ID)
