"""The resolver against the respx fake: mapping, dedupe, retries, deadline, error classes, no value leaks."""

from __future__ import annotations

import json
import os
import time

import pytest

import injector
from injector import (
    AccessDenied,
    BackendUnavailable,
    Client,
    ConfigurationError,
    CredentialUnavailable,
    InvalidValue,
    ResolutionFailed,
    SecretNotFound,
)

from .fakeazure import PRINCIPAL_ID, UAI_CLIENT_ID, UAI_PRINCIPAL_ID, FakeAzure, Fault

V1 = "0" * 31 + "1"
V2 = "0" * 31 + "2"
CANARY = "canary-7c1e4b9f"


def kv(vault: str, name: str, version: str | None = None) -> str:
    tail = f"/{version}" if version else ""
    return f"${{{{keyvault:https://{vault}.vault.azure.net/secrets/{name}{tail}}}}}"


def conn(name: str, tail: str = "") -> str:
    return f"${{{{azureml://connections/{name}{tail}}}}}"


def resolve(env: dict[str, str]) -> injector.Resolution:
    return Client(environ={**os.environ, **env}).resolve_detailed(env)


AUTH_TYPES = [
    ("ApiKey", {"key": "k-1"}, "credentials/key", "k-1"),
    ("CustomKeys", {"keys": {"OPENAI_API_KEY": "ck-1", "other": "x"}}, "credentials/OPENAI_API_KEY", "ck-1"),
    ("AccessKey", {"accessKeyId": "AKIA", "secretAccessKey": "sak"}, "credentials/secretAccessKey", "sak"),
    ("AccountKey", {"key": "acct"}, "credentials/key", "acct"),
    (
        "ServicePrincipal",
        {"clientId": "cid", "clientSecret": "cs", "tenantId": "tid"},
        "credentials/clientSecret",
        "cs",
    ),
    (
        "UsernamePassword",
        {"username": "u", "password": "p", "securityToken": None},
        "credentials/password",
        "p",
    ),
    ("SAS", {"sas": "sv=2024"}, "credentials/sas", "sv=2024"),
    ("PAT", {"pat": "ghp"}, "credentials/pat", "ghp"),
    ("ManagedIdentity", {"resourceId": "/r", "clientId": "mi-cid"}, "credentials/clientId", "mi-cid"),
    (
        "OAuth2",
        {"authUrl": "https://a", "clientId": "c", "refreshToken": "rt"},
        "credentials/refreshToken",
        "rt",
    ),
]


@pytest.mark.parametrize(
    ("auth_type", "credentials", "path", "expected"), AUTH_TYPES, ids=[a[0] for a in AUTH_TYPES]
)
def test_each_auth_type_maps_its_credentials(
    azure: FakeAzure, auth_type: str, credentials: dict[str, object], path: str, expected: str
) -> None:
    azure.add_connection("the-conn", auth_type, credentials, target="https://target.example")
    env = {"VALUE": conn("the-conn", f"/{path}")}
    assert injector.resolve_environ(env)["VALUE"] == expected


def test_target_metadata_and_whole_connection(azure: FakeAzure) -> None:
    azure.add_connection(
        "openai", "ApiKey", {"key": "k"}, target="https://oai.example/", metadata={"ApiVersion": "2024-02-01"}
    )
    env = {
        "TARGET": conn("openai", "/target"),
        "VERSION": conn("openai", "/metadata/ApiVersion"),
        "WHOLE": conn("openai"),
        "PLAIN": "unchanged",
    }
    out = injector.resolve_environ(env)
    assert out["TARGET"] == "https://oai.example/"
    assert out["VERSION"] == "2024-02-01"
    assert json.loads(out["WHOLE"]) == azure.connections["openai"]
    assert out["PLAIN"] == "unchanged"
    assert azure.calls["listsecrets"] == 1


def test_keyvault_versioned_and_latest(azure: FakeAzure) -> None:
    azure.add_secret("kv-main", "db", "old", V1)
    azure.add_secret("kv-main", "db", "new", V2)
    out = injector.resolve_environ({"OLD": kv("kv-main", "db", V1), "LATEST": kv("kv-main", "db")})
    assert (out["OLD"], out["LATEST"]) == ("old", "new")


def test_interpolation_inside_a_longer_value(azure: FakeAzure) -> None:
    azure.add_secret("kv-main", "db-pass", "pw", V1)
    azure.add_connection(
        "pg-conn", "UsernamePassword", {"username": "app", "password": "x"}, target="db:5432"
    )
    env = {
        "URL": f"postgresql://{conn('pg-conn', '/credentials/username')}:{kv('kv-main', 'db-pass')}@{conn('pg-conn', '/target')}/app"
    }
    assert injector.resolve_environ(env)["URL"] == "postgresql://app:pw@db:5432/app"


def test_one_call_per_store_item_and_one_token_per_audience(azure: FakeAzure) -> None:
    for name in ("c-one", "c-two"):
        azure.add_connection(name, "CustomKeys", {"keys": {"a": "1", "b": "2"}})
    for vault in ("kv-a", "kv-b"):
        for secret in ("s1", "s2", "s3"):
            azure.add_secret(vault, secret, f"{vault}-{secret}", V1)
    env = {}
    for i in range(30):  # 30 variables over 2 connections and 6 secrets, most shared many times
        env[f"C{i}"] = conn(("c-one", "c-two")[i % 2], "/credentials/" + "ab"[i % 2])
        env[f"K{i}"] = kv(("kv-a", "kv-b")[i % 2], f"s{i % 3 + 1}")
    resolution = resolve(env)
    assert resolution.ok and len(resolution.resolved) == 60
    assert azure.calls["listsecrets"] == 2
    assert azure.calls["get_secret"] == 6
    assert azure.calls["challenge"] == 2  # one per vault: the others wait for it
    assert azure.calls["token"] == 2  # ARM and Key Vault
    assert resolution.requests["token"] == 2
    assert resolution.stores == 4
    assert resolution.principal_id == PRINCIPAL_ID


def test_user_assigned_identity_by_client_id(azure: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAI_CLIENT_ID", UAI_CLIENT_ID)
    azure.add_secret("kv-main", "a", "v", V1)
    resolution = resolve({"A": kv("kv-main", "a")})
    assert resolution.ok and resolution.principal_id == UAI_PRINCIPAL_ID


def test_unknown_client_id_is_identity_unavailable(azure: FakeAzure) -> None:
    env = {"SECRET_INJECTOR_CLIENT_ID": "00000000-0000-0000-0000-000000000000", "A": kv("kv-main", "a")}
    [failure] = resolve(env).failures
    assert isinstance(failure.error, CredentialUnavailable)
    assert azure.calls["token"] == 1  # a 400 is not retried


def test_no_identity_at_all(azure: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MSI_ENDPOINT")
    monkeypatch.delenv("MSI_SECRET")
    monkeypatch.setenv("IMDS_ENDPOINT", "http://127.0.0.1:1")  # never reach the real IMDS from a test
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:1/token")
    monkeypatch.setenv("IDENTITY_HEADER", "h")
    [failure] = resolve({"SECRET_INJECTOR_TIMEOUT": "2", "A": kv("kv-main", "a")}).failures
    assert isinstance(failure.error, CredentialUnavailable)


# -- retries and the deadline ----------------------------------------------------------------------------------


def test_transient_failures_are_retried(azure: FakeAzure) -> None:
    azure.add_connection("openai", "ApiKey", {"key": "k"})
    azure.add_secret("kv-main", "a", "v", V1)
    azure.fail("listsecrets", Fault(503, times=2), Fault(connect_error=True))
    azure.fail("kv-main", Fault(500))
    azure.fail("token", Fault(503))
    out = injector.resolve_environ({"C": conn("openai", "/credentials/key"), "K": kv("kv-main", "a")})
    assert out == {"C": "k", "K": "v"}
    assert azure.calls["listsecrets"] == 4


def test_retry_after_is_honoured(azure: FakeAzure) -> None:
    azure.add_connection("openai", "ApiKey", {"key": "k"})
    azure.fail("listsecrets", Fault(429, retry_after="1"))
    started = time.monotonic()
    injector.resolve_environ({"C": conn("openai", "/credentials/key")})
    assert time.monotonic() - started >= 1.0
    assert azure.calls["listsecrets"] == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(azure: FakeAzure, status: int) -> None:
    azure.fail("listsecrets", Fault(status, times=5))
    resolution = resolve({"C": conn("openai", "/credentials/key")})
    assert not resolution.ok
    assert azure.calls["listsecrets"] == 1


def test_deadline_bounds_a_store_that_keeps_failing(azure: FakeAzure) -> None:
    azure.fail("listsecrets", Fault(503, times=10_000))
    started = time.monotonic()
    [failure] = resolve({"SECRET_INJECTOR_TIMEOUT": "1.5", "C": conn("openai", "/credentials/key")}).failures
    assert time.monotonic() - started < 3
    assert isinstance(failure.error, BackendUnavailable)
    assert "deadline" in str(failure.error)


def test_a_retry_after_past_the_deadline_fails_at_once(azure: FakeAzure) -> None:
    azure.fail("listsecrets", Fault(429, retry_after="30", times=5))
    started = time.monotonic()
    [failure] = resolve({"SECRET_INJECTOR_TIMEOUT": "5", "C": conn("openai", "/credentials/key")}).failures
    assert time.monotonic() - started < 2
    assert "past the deadline" in str(failure.error)


def test_a_slow_store_is_cut_off_by_the_deadline(azure: FakeAzure) -> None:
    azure.add_connection("openai", "ApiKey", {"key": "k"})
    azure.latency = 3.0  # respx side effects run in the caller's thread: the whole call is slow
    started = time.monotonic()
    resolution = resolve({"SECRET_INJECTOR_TIMEOUT": "1", "C": conn("openai", "/credentials/key")})
    assert time.monotonic() - started < 2.5
    [failure] = resolution.failures
    assert failure.code == "DeadlineExceeded"


# -- failures: class, code, report ----------------------------------------------------------------------------


def test_each_store_error_has_its_class_and_code(azure: FakeAzure) -> None:
    azure.add_connection("openai", "ApiKey", {"key": "k"})
    azure.add_secret("kv-off", "a", "v", V1, enabled=False)
    azure.denied.update({"kv-rbac": "ForbiddenByRbac", "kv-fw": "ForbiddenByFirewall"})
    env = {
        "MISSING_CONN": conn("nope-conn", "/target"),
        "MISSING_KEY": conn("openai", "/credentials/password"),
        "MISSING_SECRET": kv("kv-main", "nope"),
        "DISABLED": kv("kv-off", "a"),
        "RBAC": kv("kv-rbac", "a"),
        "FIREWALL": kv("kv-fw", "a"),
    }
    failures = {f.env_var: f for f in resolve(env).failures}
    assert {name: (type(f.error), f.code) for name, f in failures.items()} == {
        "MISSING_CONN": (SecretNotFound, "ConnectionNotFound"),
        "MISSING_KEY": (SecretNotFound, "KeyNotInConnection"),
        "MISSING_SECRET": (SecretNotFound, "SecretNotFound"),
        "DISABLED": (SecretNotFound, "SecretDisabled"),
        "RBAC": (AccessDenied, "ForbiddenByRbac"),
        "FIREWALL": (AccessDenied, "ForbiddenByFirewall"),
    }
    assert "its credentials keys are: key" in str(failures["MISSING_KEY"].error)
    assert failures["RBAC"].store == "key vault kv-rbac"


def test_arm_authorization_failed(azure: FakeAzure) -> None:
    azure.denied["arm"] = "AuthorizationFailed"
    [failure] = resolve({"C": conn("openai", "/target")}).failures
    assert isinstance(failure.error, AccessDenied) and failure.code == "AuthorizationFailed"


def test_connection_reference_without_workspace_is_a_configuration_error(
    azure: FakeAzure, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_INJECTOR_WORKSPACE_ID")
    [failure] = resolve({"C": conn("openai", "/target")}).failures
    assert isinstance(failure.error, ConfigurationError)
    assert "SECRET_INJECTOR_WORKSPACE_ID" in str(failure.error)
    assert azure.calls == {}


def test_invalid_references_are_reported_with_the_rest(azure: FakeAzure) -> None:
    azure.add_secret("kv-main", "a", "v", V1)
    resolution = resolve(
        {"BAD": "${{azureml://connections/openai/credential/key}}", "GOOD": kv("kv-main", "a")}
    )
    [failure] = resolution.failures
    assert failure.env_var == "BAD" and "unknown segment" in str(failure.error)
    assert resolution.resolved == ("GOOD",)


def test_optional_variables_are_left_out(azure: FakeAzure) -> None:
    azure.add_secret("kv-main", "a", "v", V1)
    env = {
        "SECRET_INJECTOR_OPTIONAL": "MAYBE, OTHER",
        "MAYBE": kv("kv-main", "missing"),
        "A": kv("kv-main", "a"),
    }
    resolution = resolve(env)
    assert resolution.ok
    assert [f.env_var for f in resolution.skipped] == ["MAYBE"]
    assert "MAYBE" not in resolution.environ and resolution.environ["A"] == "v"


def test_values_that_cannot_live_in_an_environment(azure: FakeAzure) -> None:
    azure.add_secret("kv-main", "nul", "a\0b", V1)
    azure.add_secret("kv-main", "big", "x" * 200_000, V1)
    failures = {
        f.env_var: f.error
        for f in resolve({"NUL": kv("kv-main", "nul"), "BIG": kv("kv-main", "big")}).failures
    }
    assert isinstance(failures["NUL"], InvalidValue) and "NUL byte" in str(failures["NUL"])
    assert isinstance(failures["BIG"], InvalidValue) and "131072" in str(failures["BIG"])


def test_resolve_one_text(azure: FakeAzure) -> None:
    azure.add_connection("openai", "ApiKey", {"key": "k"}, target="https://oai")
    assert injector.resolve(f"url={conn('openai', '/target')}") == "url=https://oai"
    assert injector.resolve("no reference") == "no reference"
    with pytest.raises(SecretNotFound):
        injector.resolve(conn("openai", "/credentials/nope"))


def test_inject_changes_os_environ_only_when_everything_resolves(
    azure: FakeAzure, monkeypatch: pytest.MonkeyPatch
) -> None:
    azure.add_secret("kv-main", "a", "va", V1)
    monkeypatch.setenv("A", kv("kv-main", "a"))
    monkeypatch.setenv("B", kv("kv-main", "missing"))
    with pytest.raises(ResolutionFailed) as info:
        injector.inject()
    assert [f.env_var for f in info.value.failures] == ["B"]
    assert os.environ["A"] == kv("kv-main", "a")  # untouched: all or nothing
    monkeypatch.setenv("SECRET_INJECTOR_OPTIONAL", "B")
    assert injector.inject() == ["A", "B"]
    assert os.environ["A"] == "va" and "B" not in os.environ


# -- secrets never leak ----------------------------------------------------------------------------------------


def test_canary_values_never_appear_in_errors_reports_or_reprs(azure: FakeAzure) -> None:
    from injector._report import render_report

    azure.add_connection(
        "openai", "CustomKeys", {"keys": {"good": CANARY + "-c"}}, metadata={"m": CANARY + "-m"}
    )
    azure.add_secret("kv-main", "a", CANARY + "-kv", V1)
    azure.add_secret("kv-main", "nul", CANARY + "\0", V1)
    env = {
        "GOOD": conn("openai", "/credentials/good"),
        "WHOLE": conn("openai"),
        "KV": kv("kv-main", "a"),
        "MISSING": conn("openai", "/credentials/bad"),
        "NUL": kv("kv-main", "nul"),
        "BROKEN": f"{CANARY}${{{{azureml://connections/openai/credential/x}}}}",
    }
    client = Client(environ={**os.environ, **env})
    resolution = client.resolve_detailed(env)
    assert resolution.environ["KV"] == CANARY + "-kv"  # it did resolve...
    texts = [
        repr(resolution),
        *(str(f.error) for f in resolution.failures),
        *(repr(f) for f in resolution.failures),
    ]
    for json_lines in (False, True):
        texts += list(render_report(resolution, client.settings, json_lines=json_lines))
    with pytest.raises(ResolutionFailed) as info:
        client.resolve_environ(env)
    texts += [str(info.value), repr(info.value)]
    for text in texts:  # ...and no trace of it anywhere a human or a log could see
        assert CANARY not in text, text


def test_report_lines_carry_the_fix(azure: FakeAzure) -> None:
    from injector._report import render_report

    azure.denied.update(
        {"kv-rbac": "ForbiddenByRbac", "kv-fw": "ForbiddenByFirewall", "arm": "AuthorizationFailed"}
    )
    env = {"RBAC": kv("kv-rbac", "a"), "FW": kv("kv-fw", "a"), "CONN": conn("openai", "/target")}
    client = Client(environ={**os.environ, **env})
    lines = list(render_report(client.resolve_detailed(env), client.settings, json_lines=False))
    by_var = {line.split(":", 1)[0]: line for line in lines}
    assert (
        f"az role assignment create --assignee-object-id {PRINCIPAL_ID} --assignee-principal-type ServicePrincipal "
        '--role "Key Vault Secrets User" --scope $(az keyvault show --name kv-rbac --query id -o tsv)'
    ) in by_var["RBAC"]
    assert "private-endpoint outbound rule for it to the workspace's managed network" in by_var["FW"]
    assert (
        '--role "Azure Machine Learning Workspace Connection Secrets Reader" --scope /subscriptions/'
        in by_var["CONN"]
    )
    assert lines[-1] == "error: 3 variables could not be resolved; the command was not started"


def test_token_is_never_sent_outside_the_cloud() -> None:
    import httpx
    import respx

    from injector._clouds import CLOUDS
    from injector._http import TokenLeakRefused, create_http_client

    with respx.mock() as router:
        route = router.get("https://evil.example/").respond(200)
        client = create_http_client(CLOUDS["AzureCloud"])
        with pytest.raises(TokenLeakRefused):
            client.get("https://evil.example/", headers={"Authorization": "Bearer t"})
        with pytest.raises(TokenLeakRefused):
            client.get("https://kv.vault.azure.cn/", headers={"Authorization": "Bearer t"})
        assert not route.called
        assert client.get("https://evil.example/").status_code == 200  # no token: no objection
        assert isinstance(client, httpx.Client)
