"""Reading a deployment's environment_variables, finding references, and writing settings back in place."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from injector._exceptions import ConfigurationError
from injector.deploy.yaml_env import find_references, read_environment, write_settings

DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: blue
endpoint_name: my-endpoint
# the secrets, resolved at start
environment_variables:
  OPENAI_KEY: ${{azureml://connections/openai/credentials/key}}   # from the workspace
  DB_PASSWORD: "${{keyvault:https://kv1.vault.azure.net/secrets/db-password}}"
  PLAIN: hello
  WORKERS: 4
instance_type: Standard_DS3_v2
instance_count: 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deployment.yml"
    path.write_text(text)
    return path


def test_read_environment_and_find_references(tmp_path: Path) -> None:
    env = read_environment(write(tmp_path, DEPLOYMENT))
    assert env["WORKERS"] == "4" and env["PLAIN"] == "hello"
    found = find_references(env)
    assert sorted(found.templates) == ["DB_PASSWORD", "OPENAI_KEY"]
    assert not found.invalid


def test_malformed_reference_is_named_not_raised(tmp_path: Path) -> None:
    found = find_references({"BAD": "${{keyvault:http://kv1.vault.azure.net/secrets/x}}", "OK": "x"})
    assert list(found.invalid) == ["BAD"]
    assert "BAD" in str(found.invalid["BAD"])


@pytest.mark.parametrize("text", ["name: blue\n", "", "environment_variables:\n"])
def test_no_environment(tmp_path: Path, text: str) -> None:
    assert read_environment(write(tmp_path, text)) == {}


@pytest.mark.parametrize("text", ["- a\n- b\n", "environment_variables: [a]\n", "a: [\n"])
def test_bad_documents(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigurationError):
        read_environment(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        read_environment(tmp_path / "nope.yml")


def test_write_settings_appends_and_keeps_comments(tmp_path: Path) -> None:
    path = write(tmp_path, DEPLOYMENT)
    changed = write_settings(path, {"SECRET_INJECTOR_WORKSPACE_ID": "/subscriptions/s/x", "PLAIN": "hello"})
    assert changed == ["SECRET_INJECTOR_WORKSPACE_ID"]
    text = path.read_text()
    assert "# the secrets, resolved at start" in text and "# from the workspace" in text
    assert '  SECRET_INJECTOR_WORKSPACE_ID: "/subscriptions/s/x"\ninstance_type' in text
    document = yaml.safe_load(text)
    assert document["environment_variables"]["SECRET_INJECTOR_WORKSPACE_ID"] == "/subscriptions/s/x"
    assert document["instance_count"] == 1
    assert write_settings(path, {"SECRET_INJECTOR_WORKSPACE_ID": "/subscriptions/s/x"}) == []  # idempotent


def test_write_settings_replaces_in_place(tmp_path: Path) -> None:
    path = write(tmp_path, DEPLOYMENT.replace("  PLAIN: hello", "  SECRET_INJECTOR_CLIENT_ID: old  # uai"))
    assert write_settings(path, {"SECRET_INJECTOR_CLIENT_ID": "new"}) == ["SECRET_INJECTOR_CLIENT_ID"]
    text = path.read_text()
    assert '  SECRET_INJECTOR_CLIENT_ID: "new"  # uai\n' in text
    assert read_environment(path)["SECRET_INJECTOR_CLIENT_ID"] == "new"


def test_write_settings_creates_the_section(tmp_path: Path) -> None:
    path = write(tmp_path, "name: blue\nendpoint_name: e\n")
    write_settings(path, {"A": "1"})
    assert yaml.safe_load(path.read_text()) == {
        "name": "blue",
        "endpoint_name": "e",
        "environment_variables": {"A": "1"},
    }


def test_write_settings_into_empty_flow_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "name: blue\nenvironment_variables: {}\ninstance_count: 1\n")
    write_settings(path, {"A": "1"})
    assert yaml.safe_load(path.read_text())["environment_variables"] == {"A": "1"}


def test_write_settings_with_four_space_indent_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_bytes(b"environment_variables:\r\n    X: y\r\nname: blue\r\n")
    write_settings(path, {"A": "1"})
    raw = path.read_bytes()
    assert b'\r\n    A: "1"\r\n' in raw
    assert read_environment(path) == {"X": "y", "A": "1"}


def test_write_settings_refuses_inline_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "environment_variables: {X: y}\n")
    with pytest.raises(ConfigurationError, match="by hand"):
        write_settings(path, {"A": "1"})
    assert path.read_text() == "environment_variables: {X: y}\n"  # untouched


def test_write_settings_refuses_after_a_block_scalar(tmp_path: Path) -> None:
    path = write(tmp_path, "environment_variables:\n  X: |\n    line\nname: b\n")
    with pytest.raises(ConfigurationError, match="by hand"):
        write_settings(path, {"A": "1"})
