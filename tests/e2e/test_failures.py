"""Each way resolution fails: its exit code, one report line naming the variable and the fix, and the command
is never started (fail closed), even though the other variable resolved."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from injector.emulator import Emulator
from sidecar import exitcodes

from .conftest import (
    CANARY,
    CONNECTIONS_ROLE,
    DB_V1,
    ENDPOINT_PID,
    KEYVAULT_ROLE,
    KV_MAIN,
    KV_TEAM,
    KV_WALLED,
    OFF_V,
    WS_LOCKED,
    Result,
    Wrapper,
    conn_ref,
    kv_ref,
    probe,
)

pytestmark = pytest.mark.e2e

VERDICT = "error: 1 variable could not be resolved; the command was not started"
ASSIGNEE = f"--assignee-object-id {ENDPOINT_PID} --assignee-principal-type ServicePrincipal"


@dataclass
class Case:
    reference: str
    code: int
    store: str  # as the report names it
    error_code: str
    fix: list[str]  # fragments the fix must contain
    message: list[str] = field(default_factory=list)  # fragments of the error text
    env: dict[str, str] = field(default_factory=dict)
    # a variable that resolves fine alongside (none when the identity itself fails: every variable does)
    good: str | None = conn_ref("openai", "credentials/key")


CASES: dict[str, Case] = {
    "keyvault-role-missing": Case(
        kv_ref(KV_TEAM, "uai-only"),
        exitcodes.ACCESS_DENIED,
        "key vault kv-e2e-team",
        "ForbiddenByRbac",
        [
            f'az role assignment create {ASSIGNEE} --role "{KEYVAULT_ROLE}" '
            "--scope $(az keyvault show --name kv-e2e-team --query id -o tsv)"
        ],
    ),
    "connections-role-missing": Case(
        conn_ref("locked", "credentials/key"),
        exitcodes.ACCESS_DENIED,
        "connection locked",
        "AuthorizationFailed",
        [f'az role assignment create {ASSIGNEE} --role "{CONNECTIONS_ROLE}" --scope {WS_LOCKED}'],
        env={"SECRET_INJECTOR_WORKSPACE_ID": WS_LOCKED},
        good=kv_ref(KV_MAIN, "api-token"),
    ),
    "firewall": Case(
        kv_ref(KV_WALLED, "behind-wall"),
        exitcodes.ACCESS_DENIED,
        "key vault kv-e2e-walled",
        "ForbiddenByFirewall",
        ["outbound rule", "az ml workspace outbound-rule set", "kv-e2e-walled"],
    ),
    "secret-not-found": Case(
        kv_ref(KV_MAIN, "no-such-secret"),
        exitcodes.NOT_FOUND,
        "key vault kv-e2e-main",
        "SecretNotFound",
        ["az keyvault secret list-versions --vault-name kv-e2e-main --name no-such-secret"],
    ),
    "version-not-found": Case(
        kv_ref(KV_MAIN, "db-password", DB_V1.replace("0", "7")),
        exitcodes.NOT_FOUND,
        "key vault kv-e2e-main",
        "SecretNotFound",
        ["az keyvault secret list-versions --vault-name kv-e2e-main --name db-password"],
    ),
    "secret-disabled": Case(
        kv_ref(KV_MAIN, "switched-off"),
        exitcodes.NOT_FOUND,
        "key vault kv-e2e-main",
        "SecretDisabled",
        ["az keyvault secret set-attributes --vault-name kv-e2e-main --name switched-off --enabled true"],
    ),
    "secret-version-disabled": Case(
        kv_ref(KV_MAIN, "switched-off", OFF_V),
        exitcodes.NOT_FOUND,
        "key vault kv-e2e-main",
        "SecretDisabled",
        [f"set-attributes --vault-name kv-e2e-main --name switched-off --version {OFF_V} --enabled true"],
    ),
    "connection-not-found": Case(
        conn_ref("no-such-conn", "credentials/key"),
        exitcodes.NOT_FOUND,
        "connection no-such-conn",
        "ConnectionNotFound",
        ["az ml connection list", "SECRET_INJECTOR_WORKSPACE_ID"],
    ),
    "credential-key-not-in-connection": Case(
        conn_ref("openai", "credentials/apiKey"),
        exitcodes.NOT_FOUND,
        "connection openai",
        "KeyNotInConnection",
        ["use one of the keys the connection has"],
        message=["its credentials keys are: key"],  # names only, never values
    ),
    "metadata-key-not-in-connection": Case(
        conn_ref("openai", "metadata/Region"),
        exitcodes.NOT_FOUND,
        "connection openai",
        "KeyNotInConnection",
        ["use one of the keys the connection has"],
        message=["its metadata keys are: ApiType, ApiVersion"],
    ),
    "custom-key-not-in-connection": Case(
        conn_ref("custom", "credentials/key"),
        exitcodes.NOT_FOUND,
        "connection custom",
        "KeyNotInConnection",
        ["use one of the keys the connection has"],
        message=["its credentials keys are: OPENAI_API_KEY, SERPAPI_KEY"],
    ),
    "wrong-msi-secret": Case(
        kv_ref(KV_MAIN, "api-token"),
        exitcodes.UNAVAILABLE,
        "key vault kv-e2e-main",
        "IdentityUnavailable",
        ["the identity endpoint refused the request", "MSI_SECRET"],
        message=["(HTTP 401)", "MSI_SECRET"],  # the endpoint's own description, not azure-identity's words
        env={"MSI_SECRET": "not-the-secret"},
        good=None,
    ),
    "unknown-client-id": Case(
        kv_ref(KV_MAIN, "api-token"),
        exitcodes.UNAVAILABLE,
        "key vault kv-e2e-main",
        "IdentityUnavailable",
        ["no identity with client id e2e00000-dead-4000-8000-00000000beef", "SECRET_INJECTOR_CLIENT_ID"],
        message=["(HTTP 400)", "Identity not found"],
        env={"SECRET_INJECTOR_CLIENT_ID": "e2e00000-dead-4000-8000-00000000beef"},
        good=None,
    ),
}


def check_report(result: Result, variable: str, case: Case) -> str:
    """The variable's report line has the reference, store, code and fix; only it failed; the verdict ends it."""
    line = result.report_line(variable)
    head = f"{variable}: {case.reference} [{case.store}] {case.error_code}: "
    assert line.startswith(head), line
    message, fix = line[len(head) :].split(" -> fix: ", 1)
    for fragment in case.message:
        assert fragment in message
    for fragment in case.fix:
        assert fragment in fix
    assert result.stderr.splitlines()[-1] == VERDICT
    assert "GOOD" not in result.stderr
    return line


def case_refs(case: Case) -> dict[str, str]:
    return {"FAILING": case.reference} | ({"GOOD": case.good} if case.good else {})


@dataclass
class Outcomes:
    results: dict[str, tuple[Result, Path]]  # case -> (the run, the file the child would have created)
    stats: dict[str, int]  # the emulator's counters over all the runs


@pytest.fixture(scope="module")
def outcomes(emulator: Emulator, home: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    """Every case, run at once (they are independent and the emulator is stateless between requests)."""
    wrapper = Wrapper(emulator, home)
    emulator.reset()
    emulator.set_faults([])

    def run(name: str) -> tuple[str, tuple[Result, Path]]:
        case = CASES[name]
        started = tmp_path_factory.mktemp(name) / "started"
        return name, (wrapper.run(probe(started=started), wrapper.env(case_refs(case), **case.env)), started)

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(pool.map(run, CASES))
    return Outcomes(results, emulator.stats())


@pytest.mark.parametrize("name", list(CASES))
def test_failure_is_reported_and_the_command_never_starts(outcomes: Outcomes, name: str) -> None:
    case = CASES[name]
    result, started = outcomes.results[name]
    assert result.code == case.code, result.stderr
    assert not started.exists()
    assert result.stdout == ""
    check_report(result, "FAILING", case)


def test_permanent_failures_are_not_retried(outcomes: Outcomes) -> None:
    """Over all the cases: one token per audience and one request per store item, per run; no retries."""
    expected = {"token": 0, "arm.listsecrets": 0, "keyvault.challenge": 0, "keyvault.get_secret": 0}
    for case in CASES.values():
        refs = list(case_refs(case).values())
        connections = {ref.split("connections/")[1].split("/")[0] for ref in refs if "azureml://" in ref}
        secrets = {ref for ref in refs if "keyvault:" in ref}
        vaults = {ref.split("/secrets/")[0] for ref in secrets}
        expected["token"] += bool(connections) + bool(secrets)
        if case.error_code == "IdentityUnavailable":
            continue  # no token: no store was asked
        expected["arm.listsecrets"] += len(connections)
        expected["keyvault.challenge"] += len(vaults)
        expected["keyvault.get_secret"] += len(secrets)
    assert {route: outcomes.stats.get(route, 0) for route in expected} == expected


def test_invalid_references_exit_3_without_any_network_traffic(
    wrapper: Wrapper, emu: Emulator, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    bad = {
        "PLAIN_HTTP": "${{keyvault:http://kv-e2e-main.vault.azure.net/secrets/api-token}}",
        "FOREIGN_HOST": "${{keyvault:https://kv-e2e-main.evil.example/secrets/api-token}}",
        "TYPO": "${{azureml://connections/openai/credential/key}}",
        "UNCLOSED": "${{azureml://connections/openai/target",
        "ONE_BRACE": "${keyvault:https://kv-e2e-main.vault.azure.net/secrets/api-token}",
        "LITERAL_TOO": f"{CANARY}-literal ${{{{broken",  # a literal value next to a broken reference
    }
    result = wrapper.run(probe(started=started), wrapper.env(bad, SOMETHING_ELSE="plain value"))

    assert result.code == exitcodes.INVALID, result.stderr
    assert not started.exists()
    assert emu.stats()["total"] == 0
    for variable in bad:
        line = result.report_line(variable)
        assert " InvalidReference: " in line
        assert "-> fix: correct the reference" in line
    assert result.stderr.splitlines()[-1] == (
        f"error: {len(bad)} variables could not be resolved; the command was not started"
    )


@pytest.mark.parametrize("route", ["token", "arm.listsecrets", "keyvault.get_secret"])
def test_the_deadline_bounds_a_store_that_does_not_answer(
    wrapper: Wrapper, emu: Emulator, tmp_path: Path, route: str
) -> None:
    started = tmp_path / "started"
    emu.set_faults([{"route": route, "latency_ms": 8000}])
    refs = {"KEY": conn_ref("openai", "credentials/key"), "DB": kv_ref(KV_MAIN, "api-token")}
    begin = time.monotonic()
    result = wrapper.run(probe(started=started), wrapper.env(refs, SECRET_INJECTOR_TIMEOUT="2"))
    elapsed = time.monotonic() - begin

    assert result.code == exitcodes.UNAVAILABLE, result.stderr
    assert elapsed < 2 + 3, elapsed
    assert not started.exists()
    delayed = {"token": ["KEY", "DB"], "arm.listsecrets": ["KEY"], "keyvault.get_secret": ["DB"]}[route]
    for variable in delayed:
        line = result.report_line(variable)
        assert "-> fix: " in line
        assert "SECRET_INJECTOR_TIMEOUT" in line or "managed identity" in line
    assert len([line for line in result.stderr.splitlines() if ": ${{" in line]) == len(delayed)
