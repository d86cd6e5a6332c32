"""The plan, grant and check subcommands: arguments, output and exit codes (HTTP faked with respx)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sidecar import exitcodes
from sidecar.cli import main
from tests.deploy.conftest import Cloud
from tests.deploy.fakearm import OWNER
from tests.injector.fakeazure import PRINCIPAL_ID, SUB, UAI_CLIENT_ID, UAI_PRINCIPAL_ID, WORKSPACE_ID

pytest.importorskip("azure.ai.ml")

DEPLOYMENT = """\
name: blue
endpoint_name: ep
environment_variables:
  OPENAI_KEY: ${{azureml://connections/openai/credentials/key}}
  DB_PASSWORD: ${{keyvault:https://kv1.vault.azure.net/secrets/db-password}}
instance_count: 1
"""


@pytest.fixture
def deployment(tmp_path: Path, cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The deployer runs as a user-assigned managed identity that is Owner of the subscription."""
    monkeypatch.setenv("SECRET_INJECTOR_CLIENT_ID", UAI_CLIENT_ID)
    cloud.arm.assign(UAI_PRINCIPAL_ID, OWNER, f"/subscriptions/{SUB}")
    cloud.arm.add_endpoint("ep", "SystemAssigned")
    cloud.arm.add_vault("kv1")
    path = tmp_path / "deployment.yml"
    path.write_text(DEPLOYMENT)
    return path


def args(command: str, path: Path, *extra: str) -> list[str]:
    return [
        command,
        "--deployment",
        str(path),
        "--endpoint",
        "ep",
        "--workspace-id",
        WORKSPACE_ID,
        "--credential",
        "managed",
        *extra,
    ]


def test_plan_text(deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args("plan", deployment)) == 0
    out = capsys.readouterr().out
    assert f"endpoint ep: system-assigned identity (principal {PRINCIPAL_ID})" in out
    assert (
        "Azure Machine Learning Workspace Connection Secrets Reader" in out
        and "Key Vault Secrets User" in out
    )
    assert f"SECRET_INJECTOR_WORKSPACE_ID: {WORKSPACE_ID}   (missing)" in out
    assert "run 'plan --write'" in out


def test_plan_write_and_json(deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args("plan", deployment, "--write", "--json")) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["written"] == ["SECRET_INJECTOR_WORKSPACE_ID"]
    assert document["identity"]["principal_id"] == PRINCIPAL_ID
    assert len(document["assignments"]) == 2
    assert (
        yaml.safe_load(deployment.read_text())["environment_variables"]["SECRET_INJECTOR_WORKSPACE_ID"]
        == WORKSPACE_ID
    )
    # now the workspace id can come from the deployment itself
    assert (
        main(
            ["plan", "--deployment", str(deployment), "--endpoint", "ep", "--credential", "managed", "--json"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["settings_to_write"] == {}


def test_grant_dry_run_then_twice(deployment: Path, cloud: Cloud, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args("grant", deployment, "--dry-run")) == 0
    out = capsys.readouterr().out.splitlines()
    commands = [line for line in out if line.startswith("az role assignment create")]
    assert len(commands) == 2 and all(f"--assignee-object-id {PRINCIPAL_ID}" in c for c in commands)
    assert cloud.arm.puts("") == 0
    assert main(args("grant", deployment)) == 0
    first = capsys.readouterr().out
    assert first.count("+ created") == 2 and "changed: yes" in first
    assert main(args("grant", deployment)) == 0
    second = capsys.readouterr().out
    assert second.count("= present") == 2 and "changed: nothing" in second
    assert cloud.arm.puts("roleAssignments") == 2
    assert main(args("grant", deployment, "--dry-run")) == 0
    assert "az role assignment create" not in capsys.readouterr().out


def test_grant_json_and_access_denied(
    deployment: Path, cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud.arm.assignments.clear()
    cloud.arm.assign(
        UAI_PRINCIPAL_ID, "acdd72a7-3385-48ef-bd42-f606fba81ae7", f"/subscriptions/{SUB}"
    )  # Reader
    assert main(args("grant", deployment, "--json")) == exitcodes.ACCESS_DENIED
    document = json.loads(capsys.readouterr().out)
    assert [a["status"] for a in document["assignments"]] == ["failed", "failed"]


def test_grant_needs_apply_network(
    deployment: Path, cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud.arm.managed_network = {"isolationMode": "AllowOnlyApprovedOutbound", "status": {"status": "Active"}}
    assert main(args("grant", deployment)) == exitcodes.INVALID
    out = capsys.readouterr().out
    assert "az ml workspace outbound-rule set" in out and "needed" in out
    assert main(args("grant", deployment, "--apply-network")) == 0
    assert "outbound rule pe-kv1" in capsys.readouterr().out


def test_plan_errors(deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "plan",
                "--deployment",
                str(deployment),
                "--endpoint",
                "nope",
                "--workspace-id",
                WORKSPACE_ID,
                "--credential",
                "managed",
            ]
        )
        == exitcodes.NOT_FOUND
    )
    assert "online endpoint nope was not found" in capsys.readouterr().err
    assert (
        main(["plan", "--deployment", str(deployment), "--endpoint", "ep", "--credential", "managed"])
        == exitcodes.INVALID
    )
    assert "which workspace" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--deployment", str(deployment)])
    assert exc.value.code == exitcodes.USAGE


def test_check(cloud: Cloud, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SECRET_INJECTOR_WORKSPACE_ID", WORKSPACE_ID)
    monkeypatch.setenv("SECRET_INJECTOR_TIMEOUT", "5")
    monkeypatch.setenv(
        "HTTPS_PROXY", "http://127.0.0.1:9"
    )  # DNS is then the proxy's business: no lookup here
    monkeypatch.setenv("DB_PASSWORD", "${{keyvault:https://kv1.vault.azure.net/secrets/db-password}}")
    cloud.azure.add_secret("kv1", "db-password", "s3cret-value", "0" * 32)
    cloud.azure.denied["kv1"] = "ForbiddenByRbac"
    assert main(["check"]) == exitcodes.ACCESS_DENIED
    out = capsys.readouterr().out
    assert "DB_PASSWORD" in out and "error (read)" in out and "az role assignment create" in out
    assert "resolved by the proxy" in out
    del cloud.azure.denied["kv1"]
    assert main(["check", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] and document["variables"][0]["status"] == "ok"
    assert "s3cret-value" not in json.dumps(document)
