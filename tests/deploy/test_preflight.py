"""check: the in-container preflight, against the respx fakes (MSI, ARM, Key Vault)."""

from __future__ import annotations

import json
import os
import socket

import pytest

from injector.deploy import check
from injector.deploy.preflight import dns_step
from injector.deploy.render import render_check
from injector.deploy.roles import CONNECTIONS_ROLE, KEYVAULT_ROLE
from sidecar import exitcodes
from tests.deploy.conftest import Cloud
from tests.deploy.fakearm import vault_id
from tests.injector.fakeazure import PRINCIPAL_ID, WORKSPACE_ID

CANARY = "CANARY-5f1d9c-never-print-me"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def environ(**extra: str) -> dict[str, str]:
    return {
        "SECRET_INJECTOR_WORKSPACE_ID": WORKSPACE_ID,
        "SECRET_INJECTOR_TIMEOUT": "5",
        "MSI_ENDPOINT": os.environ["MSI_ENDPOINT"],
        "MSI_SECRET": os.environ["MSI_SECRET"],
        "OPENAI_KEY": "${{azureml://connections/openai/credentials/key}}",
        "DB_PASSWORD": "${{keyvault:https://kv1.vault.azure.net/secrets/db-password}}",
        "PLAIN": "nothing to see",
        **extra,
    }


@pytest.fixture
def ready(cloud: Cloud) -> Cloud:
    """Everything in place: the secrets exist and the deployment's identity has both roles."""
    cloud.azure.add_connection(
        "openai", "ApiKey", {"key": CANARY + "-conn"}, target="https://x.openai.azure.com"
    )
    cloud.azure.add_secret("kv1", "db-password", CANARY + "-kv", "0" * 32)
    vid = cloud.arm.add_vault("kv1")
    cloud.arm.assign(PRINCIPAL_ID, CONNECTIONS_ROLE.id, WORKSPACE_ID)
    cloud.arm.assign(PRINCIPAL_ID, KEYVAULT_ROLE.id, vid)
    cloud.arm.assign(PRINCIPAL_ID, READER, vid)  # lets it find the vault's ARM id, for the permissions check
    return cloud


def public(host: str) -> list[str]:
    return ["20.1.2.3"]


def private(host: str) -> list[str]:
    return ["10.0.0.7"]


def test_all_ok(ready: Cloud) -> None:
    report = check(environ(), resolve_host=private)
    assert report.ok, list(render_check(report))
    assert report.principal_id == PRINCIPAL_ID
    assert [(r.variable, r.stores, r.status) for r in report.rows] == [
        ("DB_PASSWORD", ("key vault kv1",), "ok"),
        ("OPENAI_KEY", ("connection openai",), "ok"),
    ]
    steps = {r.variable: [(s.name, s.status) for s in r.steps] for r in report.rows}
    assert steps["DB_PASSWORD"] == [("syntax", "ok"), ("permissions", "ok"), ("read", "ok")]
    assert [(n.name, n.status) for n in report.notes] == [
        ("token", "ok"),
        ("token", "ok"),
        ("dns", "ok"),
    ]
    assert "10.0.0.7 (private address" in report.notes[2].detail
    # the permissions read happened at the secret's scope
    assert (
        "GET",
        f"{vault_id('kv1')}/secrets/db-password/providers/Microsoft.Authorization/permissions",
    ) in ready.arm.requests
    assert exitcodes.for_errors(report.errors) == 0


def test_no_value_is_ever_shown(ready: Cloud) -> None:
    report = check(environ(), resolve_host=private)
    shown = "\n".join(render_check(report)) + json.dumps(report.to_dict()) + repr(report)
    assert CANARY not in shown
    ready.azure.denied["kv1"] = "ForbiddenByRbac"
    failed = check(environ(), resolve_host=private)
    assert CANARY not in "\n".join(render_check(failed)) + json.dumps(failed.to_dict()) + repr(failed)


def test_missing_keyvault_role_fails_with_the_fix(ready: Cloud) -> None:
    ready.arm.assignments = {k: v for k, v in ready.arm.assignments.items() if KEYVAULT_ROLE.id not in str(v)}
    ready.azure.denied["kv1"] = "ForbiddenByRbac"
    report = check(environ(), resolve_host=private)
    assert not report.ok
    row = next(r for r in report.rows if r.variable == "DB_PASSWORD")
    assert row.status == "error" and row.problem is not None and row.problem.name == "permissions"
    assert row.fix == (
        f"az role assignment create --assignee-object-id {PRINCIPAL_ID} --assignee-principal-type ServicePrincipal "
        f'--role "Key Vault Secrets User" --scope {vault_id("kv1")}'
    )
    assert [s.status for s in row.steps if s.name == "read"] == ["error"]
    assert exitcodes.for_errors(report.errors) == exitcodes.ACCESS_DENIED
    text = "\n".join(render_check(report))
    assert "check failed: 1 variable(s) with errors" in text and "ForbiddenByRbac" in text


def test_missing_connections_role(ready: Cloud) -> None:
    ready.arm.assignments = {
        k: v for k, v in ready.arm.assignments.items() if CONNECTIONS_ROLE.id not in str(v)
    }
    ready.azure.denied["arm"] = "AuthorizationFailed"
    report = check(environ(), resolve_host=private)
    row = next(r for r in report.rows if r.variable == "OPENAI_KEY")
    assert row.status == "error"
    assert f'--role "{CONNECTIONS_ROLE.name}" --scope {WORKSPACE_ID}' in row.fix
    assert exitcodes.for_errors(report.errors) == exitcodes.ACCESS_DENIED


def test_vault_unseen_in_arm_leaves_permissions_unchecked(ready: Cloud) -> None:
    ready.arm.assignments = {k: v for k, v in ready.arm.assignments.items() if READER not in str(v)}
    report = check(environ(), resolve_host=private)
    assert report.ok
    row = next(r for r in report.rows if r.variable == "DB_PASSWORD")
    assert [(s.name, s.status) for s in row.steps][1] == ("permissions", "info")


def test_read_outranks_permissions(ready: Cloud) -> None:
    """A read that works turns a 'no' from the permissions API into a warning (a group, a delay...)."""
    ready.arm.assignments = {
        k: v for k, v in ready.arm.assignments.items() if CONNECTIONS_ROLE.id not in str(v)
    }
    report = check(environ(), resolve_host=private)
    assert report.ok
    row = next(r for r in report.rows if r.variable == "OPENAI_KEY")
    assert row.status == "warning"


def test_missing_secret_and_invalid_reference(ready: Cloud) -> None:
    env = environ(
        DB_PASSWORD="${{keyvault:https://kv1.vault.azure.net/secrets/nope}}", BAD="${{keyvault:nope}}"
    )
    report = check(env, resolve_host=private)
    codes = {r.variable: (r.status, r.problem.name if r.problem else None) for r in report.rows}
    assert codes == {"BAD": ("error", "syntax"), "DB_PASSWORD": ("error", "read"), "OPENAI_KEY": ("ok", None)}
    assert exitcodes.for_errors(report.errors) == exitcodes.INVALID  # the most fundamental problem wins


def test_optional_variable_is_a_warning(ready: Cloud) -> None:
    env = environ(
        DB_PASSWORD="${{keyvault:https://kv1.vault.azure.net/secrets/nope}}",
        SECRET_INJECTOR_OPTIONAL="DB_PASSWORD",
    )
    report = check(env, resolve_host=private)
    assert report.ok and next(r for r in report.rows if r.variable == "DB_PASSWORD").status == "warning"


def test_no_identity(ready: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSI_SECRET", "wrong")  # azure-identity reads os.environ itself
    report = check(environ(), resolve_host=private)
    assert not report.ok
    assert [n.status for n in report.notes if n.name == "token"] == ["error", "error"]
    assert exitcodes.for_errors(report.errors) == exitcodes.UNAVAILABLE


def test_bad_setting_and_no_references(cloud: Cloud) -> None:
    report = check({"SECRET_INJECTOR_CLOUD": "Mars"})
    assert not report.ok and report.notes[0].name == "settings"
    assert exitcodes.for_errors(report.errors) == exitcodes.INVALID
    empty = check({"A": "b"})
    assert empty.ok and empty.notes[0].detail == "no secret reference in the environment"


@pytest.mark.parametrize(
    ("resolver", "status", "text"),
    [
        (private, "ok", "private address"),
        (public, "info", "public address"),
    ],
)
def test_dns_answers(resolver, status: str, text: str) -> None:  # type: ignore[no-untyped-def]
    step = dns_step("kv1.vault.azure.net", resolver, {})
    assert step.status == status and text in step.detail


def test_dns_failure_is_an_error() -> None:
    def fail(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    step = dns_step("kv1.vault.azure.net", fail, {})
    assert step.status == "error" and "does not resolve" in step.detail


def test_dns_behind_a_proxy_is_information_only() -> None:
    def never(host: str) -> list[str]:
        raise AssertionError("no lookup behind a proxy")

    env = {"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"}
    step = dns_step("kv1.vault.azure.net", never, env)
    assert step.status == "info" and "resolved by the proxy http://127.0.0.1:9" in step.detail
    bypassed = dns_step("kv1.vault.azure.net", private, {**env, "NO_PROXY": ".vault.azure.net"})
    assert bypassed.status == "ok"
