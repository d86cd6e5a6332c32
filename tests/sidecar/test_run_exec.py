"""run_exec in-process with the respx fake: the environment handed to execve, and the one summary line."""

from __future__ import annotations

import os
from typing import Any

import pytest

from sidecar import _exec, exitcodes
from tests.injector.fakeazure import FakeAzure

V1 = "0" * 31 + "1"
CANARY = "canary-41d2"


class Execd(Exception):
    pass


@pytest.fixture
def execve(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake(path: str, argv: list[str], env: dict[str, str]) -> None:
        seen.update(path=path, argv=argv, env=env)
        raise Execd

    monkeypatch.setattr(os, "execve", fake)
    return seen


def test_resolved_environment_reaches_the_command(
    azure: FakeAzure, execve: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    azure.add_secret("kv-main", "db-pass", CANARY, V1)
    azure.add_connection("openai", "ApiKey", {"key": CANARY + "k"}, target="https://oai")
    monkeypatch.setenv("DB", "${{keyvault:https://kv-main.vault.azure.net/secrets/db-pass}}")
    monkeypatch.setenv("URL", "${{azureml://connections/openai/target}}/v1")
    monkeypatch.setenv("SECRET_INJECTOR_OPTIONAL", "GONE")
    monkeypatch.setenv("GONE", "${{keyvault:https://kv-main.vault.azure.net/secrets/missing}}")
    lines: list[str] = []
    with pytest.raises(Execd):
        _exec.run_exec(["printenv", "DB"], emit=lines.append)
    assert execve["argv"] == ["printenv", "DB"] and execve["path"].endswith("/printenv")
    assert execve["env"]["DB"] == CANARY and execve["env"]["URL"] == "https://oai/v1"
    assert "GONE" not in execve["env"]
    assert lines[0].startswith("warning: optional GONE left out of the environment (SecretNotFound:")
    assert lines[1].startswith("resolved 2 variables from 2 stores in ") and lines[1].endswith(
        " ms, 1 optional left out"
    )
    assert all(CANARY not in line for line in lines)


def test_json_lines(azure: FakeAzure, execve: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv("SECRET_INJECTOR_LOG_FORMAT", "json")
    monkeypatch.setenv("DB", "${{keyvault:https://kv-main.vault.azure.net/secrets/nope}}")
    lines: list[str] = []
    assert _exec.run_exec(["true"], emit=lines.append) == exitcodes.NOT_FOUND
    failed, aborted = (json.loads(line) for line in lines)
    assert failed["event"] == "failed" and failed["variable"] == "DB" and failed["code"] == "SecretNotFound"
    assert "az keyvault secret list-versions --vault-name kv-main --name nope" in failed["fix"]
    assert aborted == {"event": "aborted", "failed": 1}
    assert not execve


def test_exit_code_precedence(
    azure: FakeAzure, execve: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    azure.denied["kv-deny"] = "ForbiddenByRbac"
    monkeypatch.setenv("A", "${{keyvault:https://kv-main.vault.azure.net/secrets/nope}}")
    monkeypatch.setenv("B", "${{keyvault:https://kv-deny.vault.azure.net/secrets/x}}")
    assert _exec.run_exec(["true"], emit=lambda _: None) == exitcodes.ACCESS_DENIED
    monkeypatch.setenv("C", "${{keyvault:https://kv-main.vault.azure.net/secret/typo}}")
    assert _exec.run_exec(["true"], emit=lambda _: None) == exitcodes.INVALID
