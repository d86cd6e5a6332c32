"""plan, grant and check end to end against the local emulator: real sockets, real TLS through its proxy and CA,
the real azure-ai-ml and azure-identity clients, and (for the BYOC walkthrough) real processes.

The emulator's world: the BYOC example's workspace (managed network, approved outbound only) with its endpoint,
a vault in another resource group, an access-policy vault, a v1-legacy workspace and one whose managed network
is not provisioned yet. The deployer is a user-assigned identity with Owner on the subscription.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from injector.deploy import Deployer, check
from injector.deploy.roles import CONNECTIONS_ROLE, KEYVAULT_ROLE

pytest.importorskip("azure.ai.ml")
emulator_module = pytest.importorskip("injector.emulator")

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BYOC = ROOT / "examples" / "byoc"
SUB = "6a1e2b3c-0000-4000-8000-000000000001"  # the BYOC example's subscription
RG = f"/subscriptions/{SUB}/resourceGroups/rg-ml"
WS = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws-main"
WS_LEGACY = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws-legacy"
WS_NEW = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws-new"
KV_WS = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-ws"
KV_SCORING = f"/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.KeyVault/vaults/kv-scoring"
KV_POLICIES = f"/subscriptions/{SUB}/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/kv-policies"
KV_FIREWALL = f"/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.KeyVault/vaults/kv-walled"
DB_VERSION = "3f9a1c0e5b7d4e2a9c8b1d0f6e4a2c7b"
CANARY = "CANARY-e2e-7c41"  # every secret value carries it: it must never reach any output

ENDPOINT = {"identity": {"type": "system_assigned", "principal_id": "endpoint"}}


def config() -> dict[str, Any]:
    return {
        "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "msi_secret": "deploy-e2e-msi-secret",
        "identities": {
            "endpoint": {"type": "system_assigned", "default": True},
            "uai": {"type": "user_assigned"},
            "deployer": {"type": "user_assigned"},
        },
        "workspaces": [
            {
                "id": WS,
                "key_vault": KV_WS,
                "managed_network": {"isolation_mode": "allow_only_approved_outbound", "status": "Active"},
                "connections": {
                    "openai-conn": {
                        "auth_type": "ApiKey",
                        "target": "https://oai.example/",
                        "metadata": {"ApiVersion": "2024-02-01"},
                        "credentials": {"key": f"{CANARY}-openai"},
                    },
                    "search-conn": {"auth_type": "ApiKey", "credentials": {"key": f"{CANARY}-search"}},
                    "custom-keys": {
                        "auth_type": "CustomKeys",
                        "credentials": {"keys": {"STORAGE_KEY": f"{CANARY}-storage"}},
                    },
                },
                "online_endpoints": {
                    "scoring-endpoint": {
                        **ENDPOINT,
                        "properties": {"enforce_access_to_default_secret_stores": "enabled"},
                    },
                    "ep-user": {"identity": {"type": "user_assigned", "user_assigned_identities": ["uai"]}},
                },
            },
            {"id": WS_LEGACY, "v1_legacy_mode": True, "online_endpoints": {"ep": ENDPOINT}},
            {
                "id": WS_NEW,
                "managed_network": {"isolation_mode": "allow_only_approved_outbound", "status": "Inactive"},
                "online_endpoints": {"ep": ENDPOINT},
            },
        ],
        "vaults": [
            {
                "id": KV_SCORING,
                "secrets": {
                    "db-password": [{"version": DB_VERSION, "value": f"{CANARY}-db"}],
                    "feature-flags-token": f"{CANARY}-flags",
                    "api-token": f"{CANARY}-api",
                },
            },
            {"id": KV_WS, "secrets": {"ws-secret": f"{CANARY}-ws"}},
            {"id": KV_FIREWALL, "firewall": True, "secrets": {"s": f"{CANARY}-walled"}},
            {
                "id": KV_POLICIES,
                "enable_rbac_authorization": False,
                "access_policies": [{"principal": "endpoint", "secrets": ["get"]}],
                "secrets": {"s": f"{CANARY}-policies"},
            },
        ],
        "role_assignments": [{"principal": "deployer", "role": "Owner", "scope": f"/subscriptions/{SUB}"}],
        "rate_limits": {"arm_writes": None, "arm_reads": None, "keyvault": None},
    }


@pytest.fixture
def emu() -> Iterator[Any]:
    with emulator_module.Emulator(config()) as running:
        yield running


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """A copy of the BYOC example's deployment YAML (plan --write edits it)."""
    path = tmp_path / "deployment.yml"
    shutil.copy(BYOC / "deployment.yml", path)
    return path


def base_env() -> dict[str, str]:
    """This process's environment without anything Azure, proxy or injector related."""
    prefixes = ("SECRET_INJECTOR_", "AZURE", "MSI_", "IDENTITY_", "IMDS_", "UAI_", "DEFAULT_IDENTITY")
    proxies = {"https_proxy", "http_proxy", "all_proxy", "no_proxy", "ssl_cert_file", "requests_ca_bundle"}
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k.lower() not in proxies}


def deployer_env(emu: Any) -> dict[str, str]:
    return {**base_env(), **emu.env("deployer")}


def container_env(emu: Any, deployment: Path, identity: str = "endpoint") -> dict[str, str]:
    """What the platform gives the container: its identity, plus the deployment's environment_variables."""
    import yaml

    variables = yaml.safe_load(deployment.read_text())["environment_variables"]
    return {**base_env(), **emu.env(identity), **{k: str(v) for k, v in variables.items()}}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert CANARY not in result.stdout + result.stderr
    return result


@pytest.fixture
def as_deployer(emu: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployer]:
    """In this process: the deployer's managed identity, reaching the emulator through its proxy."""
    for name in list(os.environ):
        if name not in base_env():
            monkeypatch.delenv(name)
    for name, value in emu.env("deployer").items():
        monkeypatch.setenv(name, value)
    with Deployer("managed") as deployer:
        yield deployer


# -- the BYOC walkthrough, as real processes ------------------------------------------------------------------


def test_byoc_walkthrough(emu: Any, deployment: Path) -> None:
    env = deployer_env(emu)
    common = ["--deployment", str(deployment), "--endpoint", "scoring-endpoint", "--credential", "managed"]

    planned = run(["plan", *common, "--json"], env)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["workspace_id"] == WS  # read from the YAML's SECRET_INJECTOR_WORKSPACE_ID
    assert plan["identity"]["kind"] == "system_assigned" and plan["identity"]["platform_grants_connections"]
    assert [(a["role"], a["scope"], a["covered_by_platform"]) for a in plan["assignments"]] == [
        (CONNECTIONS_ROLE.name, WS, True),
        (KEYVAULT_ROLE.name, KV_SCORING, False),  # found by name in another resource group
    ]
    assert plan["settings_to_write"] == {}
    assert [f["code"] for f in plan["network"]["findings"]] == ["OutboundRuleMissing"]

    dry = run(["grant", *common, "--dry-run", "--apply-network"], env)
    assert dry.returncode == 0, dry.stderr
    commands = [line for line in dry.stdout.splitlines() if line.startswith("az ")]
    assert len(commands) == 2
    assert commands[0].startswith(
        f"az role assignment create --assignee-object-id {plan['identity']['principal_id']} "
        "--assignee-principal-type ServicePrincipal"
    )
    assert f"--scope {KV_SCORING} --name {plan['assignments'][1]['name']}" in commands[0]
    assert commands[1].startswith("az ml workspace outbound-rule set --resource-group rg-ml")
    assert emu.stats().get("arm.role_assignment.put", 0) == 0

    before = run(["check", "--json"], container_env(emu, deployment))
    assert before.returncode == 4, before.stdout  # the vault role is missing
    report = json.loads(before.stdout)
    failed = {v["variable"]: v for v in report["variables"] if v["status"] == "error"}
    assert set(failed) == {"DB_PASSWORD", "DATABASE_URL"}
    # The deployment's identity cannot see the vault in ARM (it needs no management role), so the fix names
    # the vault for az to look up.
    assert failed["DB_PASSWORD"]["fix"] == (
        f"az role assignment create --assignee-object-id {plan['identity']['principal_id']} "
        '--assignee-principal-type ServicePrincipal --role "Key Vault Secrets User" '
        "--scope $(az keyvault show --name kv-scoring --query id -o tsv)"
    )

    first = run(["grant", *common, "--apply-network"], env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "+ created  Key Vault Secrets User" in first.stdout and "changed: yes" in first.stdout
    assert "outbound rule pe-kv-scoring" in first.stdout

    second = run(["grant", *common, "--apply-network"], env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "changed: nothing" in second.stdout and "+ " not in second.stdout
    assert emu.stats()["arm.role_assignment.put"] == 1  # the second run wrote nothing
    assert emu.stats()["arm.outbound_rule.put"] == 1

    after = run(["check"], container_env(emu, deployment))
    assert after.returncode == 0, after.stdout + after.stderr
    assert "check passed" in after.stdout
    assert "resolved by the proxy" in after.stdout  # DNS is the proxy's business under the emulator


def test_assign_roles_script(emu: Any, deployment: Path) -> None:
    """The example's wrapper passes its flags through to grant (a dry run: the walkthrough covers the rest)."""
    env = {**deployer_env(emu), "CREDENTIAL": "managed", "DEPLOYMENT": str(deployment)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    script = str(BYOC / "assign-roles.sh")
    dry = subprocess.run([script, "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "endpoint scoring-endpoint" in dry.stdout  # the name read from endpoint.yml
    assert f"--scope {KV_SCORING}" in dry.stdout
    assert emu.stats().get("arm.role_assignment.put", 0) == 0


# -- the rest through the Python API (still real sockets, TLS and SDK clients) ---------------------------------


def test_plan_write_for_a_user_assigned_identity(as_deployer: Deployer, emu: Any, deployment: Path) -> None:
    from injector.deploy.yaml_env import read_environment, write_settings

    plan = as_deployer.plan(deployment, endpoint="ep-user")
    assert plan.identity.kind == "user_assigned"
    assert plan.settings_to_write == {"SECRET_INJECTOR_CLIENT_ID": emu.config.identities["uai"].client_id}
    write_settings(deployment, plan.settings_to_write)
    assert read_environment(deployment)["SECRET_INJECTOR_CLIENT_ID"] == emu.config.identities["uai"].client_id
    assert "# Every reference form:" in deployment.read_text()  # comments survive
    assert as_deployer.plan(deployment, endpoint="ep-user").settings_to_write == {}


def test_secret_scope_then_check_as_the_user_assigned_identity(
    as_deployer: Deployer, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "SECRET_INJECTOR_WORKSPACE_ID": WS,
        "API_TOKEN": "${{keyvault:https://kv-scoring.vault.azure.net/secrets/api-token}}",
        "OPENAI_KEY": "${{azureml://connections/openai-conn/credentials/key}}",
    }
    report = as_deployer.grant(as_deployer.plan(env, endpoint="ep-user", scope="secret"), apply_network=True)
    assert [(o.assignment.scope, o.status) for o in report.assignments] == [
        (WS, "created"),  # a user-assigned identity is never granted the connections role automatically
        (f"{KV_SCORING}/secrets/api-token", "created"),
    ]
    for name, value in {**emu.env("uai"), **env}.items():  # the container's environment
        monkeypatch.setenv(name, value)
    result = check()
    assert result.ok, result.to_dict()
    steps = {r.variable: [(s.name, s.status) for s in r.steps] for r in result.rows}
    assert steps["OPENAI_KEY"] == [("syntax", "ok"), ("permissions", "ok"), ("read", "ok")]
    assert CANARY not in json.dumps(result.to_dict())


def test_409_role_assignment_exists_is_success(as_deployer: Deployer, emu: Any) -> None:
    principal = emu.config.identities["endpoint"].principal_id
    emu.grant("endpoint", "Key Vault Secrets User", KV_SCORING)  # under another name than ours
    definition = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{KEYVAULT_ROLE.id}"
    name = "0b8f5c4e-1111-4222-8333-944455556666"
    assert as_deployer.arm.create_role_assignment(KV_SCORING, name, definition, principal) == "exists"
    # the same through grant, when the deployer cannot list assignments: the PUT's 409 tells
    emu.set_faults([{"route": "arm.role_assignments", "status": 403}])
    env = {"A": "${{keyvault:https://kv-scoring.vault.azure.net/secrets/api-token}}"}
    report = as_deployer.grant(as_deployer.plan(env, endpoint="scoring-endpoint", workspace_id=WS))
    assert [(o.status, o.detail) for o in report.assignments] == [
        ("present", "already assigned (409 RoleAssignmentExists)")
    ]
    assert report.assignments[0].error is None


def test_access_policy_vault_is_rejected(as_deployer: Deployer) -> None:
    env = {"A": "${{keyvault:https://kv-policies.vault.azure.net/secrets/s}}"}
    plan = as_deployer.plan(env, endpoint="scoring-endpoint", workspace_id=WS)
    assert [p.code for p in plan.problems] == ["ConfigurationError"]
    assert "access policies" in str(plan.problems[0].error)
    assert plan.assignments == []


def test_workspace_vault_needs_no_outbound_rule(as_deployer: Deployer) -> None:
    env = {"A": "${{keyvault:https://kv-ws.vault.azure.net/secrets/ws-secret}}"}
    plan = as_deployer.plan(env, endpoint="scoring-endpoint", workspace_id=WS)
    assert plan.network is not None and plan.network.missing_rules == []
    assert [f.code for f in plan.network.findings] == ["WorkspaceVault"]


@pytest.mark.parametrize(
    ("workspace", "code"), [(WS_LEGACY, "V1LegacyMode"), (WS_NEW, "NetworkNotProvisioned")]
)
def test_workspaces_that_cannot_take_the_deployment(as_deployer: Deployer, workspace: str, code: str) -> None:
    env = {"A": "${{keyvault:https://kv-scoring.vault.azure.net/secrets/api-token}}"}
    plan = as_deployer.plan(env, endpoint="ep", workspace_id=workspace)
    assert plan.network is not None and [f.code for f in plan.network.errors] == [code]
    assert len(plan.errors) == 1


def test_check_names_the_network_fix_for_a_firewalled_vault(
    emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.grant("endpoint", "Key Vault Secrets User", KV_FIREWALL)
    env = {
        "SECRET_INJECTOR_WORKSPACE_ID": WS,
        "WALLED": "${{keyvault:https://kv-walled.vault.azure.net/secrets/s}}",
    }
    for name, value in {**emu.env("endpoint"), **env}.items():
        monkeypatch.setenv(name, value)
    result = check()
    assert not result.ok
    row = result.rows[0]
    assert (
        row.problem is not None and row.problem.name == "read" and "ForbiddenByFirewall" in row.problem.detail
    )
    assert "private-endpoint outbound rule" in row.fix and "--rule pe-kv-walled" in row.fix
