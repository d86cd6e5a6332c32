"""Configuration: the README's example loads, and invalid input fails with the offending key's path."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from injector.emulator import ConfigError, load_config
from injector.emulator.rbac import BUILTIN_ROLES

from .conftest import make_config

README = Path(__file__).parents[2] / "injector" / "emulator" / "README.md"


def test_readme_example_is_a_valid_config(tmp_path: Path) -> None:
    example = re.search(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert example is not None
    path = tmp_path / "emulator.yml"
    path.write_text(example.group(1), encoding="utf-8")
    config = load_config(path)
    assert config.default_identity is not None and config.default_identity.name == "endpoint"
    ws = config.workspaces[0]
    assert ws.managed_network.isolation_mode == "AllowOnlyApprovedOutbound"
    assert ws.connections["openai"].metadata["ApiVersion"] == "2024-02-01"
    assert ws.connections["openai"].expiry_time == "2030-01-01T00:00:00Z"
    assert config.vaults[0].host == "kv-main.vault.azure.net"
    assert config.vaults[0].secrets["db-password"][1][-1].value == "new-password"
    assert len(config.vaults[0].secrets["api-token"][1][0].version) == 32
    assert config.rate_limits.arm_writes is not None and config.rate_limits.arm_writes.burst == 200
    # The endpoint with enforce_access_to_default_secret_stores gets the connections role on its workspace.
    implicit = [a for a in config.role_assignments if a.description == "Azure ML"]
    assert [(a.role.name, a.scope) for a in implicit] == [
        ("Azure Machine Learning Workspace Connection Secrets Reader", ws.id)
    ]


def test_role_guids_are_azure_built_ins() -> None:
    assert {r.name: r.id for r in BUILTIN_ROLES.values()} == {
        "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        "Azure Machine Learning Workspace Connection Secrets Reader": "ea01e6af-a1c1-4350-9563-ad00f8c72ec5",
        "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    }


def _ws(c: dict[str, Any]) -> dict[str, Any]:
    return c["workspaces"][0]


CASES: list[tuple[Callable[[dict[str, Any]], Any], str]] = [
    (lambda c: c.pop("tenant_id"), "tenant_id: required"),
    (lambda c: c.update(identitiez={}), "identitiez: unknown key"),
    (lambda c: c["identities"]["uai"].update(default=True), "identities: only one identity may be default"),
    (lambda c: c["identities"]["uai"].update(type="robot"), "identities.uai.type"),
    (
        lambda c: c["identities"]["uai"].update(principal_id="nope"),
        "identities.uai.principal_id: expected a GUID",
    ),
    (
        lambda c: _ws(c)["connections"]["c-apikey"]["credentials"].update(apikey="x"),
        "workspaces[0].connections.c-apikey.credentials.apikey: unknown key for authType ApiKey",
    ),
    (
        lambda c: _ws(c)["connections"]["c-aad"].update(credentials={"key": "x"}),
        "workspaces[0].connections.c-aad.credentials: authType AAD has no credentials",
    ),
    (
        lambda c: _ws(c)["connections"]["c-custom"].update(credentials={}),
        "c-custom.credentials.keys: required",
    ),
    (lambda c: _ws(c)["connections"]["c-pat"].update(auth_type="Token"), "c-pat.auth_type: expected one of"),
    (lambda c: _ws(c).update(id="/subscriptions/x/ws"), "workspaces[0].id: expected"),
    (lambda c: _ws(c)["managed_network"].update(isolation_mode="open"), "managed_network.isolation_mode"),
    (
        lambda c: _ws(c)["online_endpoints"]["ep-user"]["identity"].update(
            user_assigned_identities=["endpoint"]
        ),
        "ep-user.identity.user_assigned_identities[0]",
    ),
    (
        lambda c: c["vaults"][0]["secrets"]["db-password"][0].update(version="XYZ"),
        "vaults[0].secrets.db-password[0].version: expected 32 lowercase hex",
    ),
    (lambda c: c["vaults"][0]["secrets"].update(x=[]), "vaults[0].secrets.x: expected a non-empty list"),
    (lambda c: c["vaults"][0].update(cloud="Mars"), "vaults[0].cloud"),
    (lambda c: c["vaults"][0].update(firewall="yes"), "vaults[0].firewall: expected true or false"),
    (lambda c: c["role_assignments"][0].update(role="Sorcerer"), "role_assignments[0].role: unknown role"),
    (lambda c: c["role_assignments"][0].update(principal="nobody"), "role_assignments[0].principal"),
    (lambda c: c["role_assignments"][0].update(scope="rg-ml"), "role_assignments[0].scope"),
    (
        lambda c: c.update(faults=[{"route": "token", "status": 503, "reset": True}]),
        "faults[0]: status and reset",
    ),
    (lambda c: c.update(faults=[{"route": "token"}]), "faults[0]: needs one of"),
    (lambda c: c.update(faults=[{"route": "token", "status": 418}]), "faults[0].status"),
    (lambda c: c.update(faults=[{"route": "token", "match": "(", "status": 500}]), "faults[0].match"),
    (
        lambda c: c.update(rate_limits={"arm_writes": {"burst": 0, "refill_per_second": 1}}),
        "rate_limits.arm_writes.burst",
    ),
    (
        lambda c: c.update(rate_limits={"keyvault": {"per_second": 5}}),
        "rate_limits.keyvault.per_10s: required",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), CASES)
def test_errors_name_the_key(mutate: Callable[[dict[str, Any]], Any], message: str) -> None:
    config = copy.deepcopy(make_config())
    mutate(config)
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert message in str(error.value)


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("tenant_id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yml: not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yml")
