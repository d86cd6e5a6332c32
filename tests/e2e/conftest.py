"""End-to-end harness: one emulator for the session, and the wrapper run as a real process against it.

The emulator's world: a workspace with connections of several auth types, a second workspace nobody may read,
two vaults with versioned secrets (one disabled), a firewalled vault, the default system-assigned identity
``endpoint`` and a user-assigned ``uai``, with role assignments that allow some reads and deny others. Every
injectable value (credential, target, metadata, secret) carries the session's canary, which no output of the
wrapper may ever contain.

The wrapper runs as ``python -m sidecar exec -- python probe.py ...`` with a clean environment: PATH, HOME, the
emulator's variables (proxy, CA bundle, MSI endpoint and secret), the workspace id and the references.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from injector.emulator import Emulator

CANARY_ID = str(uuid.uuid4())
CANARY = f"CANARY-{CANARY_ID}"

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "e2e00000-0000-4000-8000-000000000001"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-e2e"
WS = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws-e2e"
WS_LOCKED = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws-locked"
KV_MAIN = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-e2e-main"
KV_TEAM = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-e2e-team"
KV_WALLED = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-e2e-walled"

ENDPOINT_PID = "e2e11111-2222-4333-8444-555555555555"
UAI_PID = "e2eaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
UAI_CLIENT = "e2e99999-8888-4777-8666-555555555555"

DB_V1 = "0123456789abcdef0123456789abcdef"
DB_V2 = "fedcba9876543210fedcba9876543210"
OFF_V = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

CONNECTIONS_ROLE = "Azure Machine Learning Workspace Connection Secrets Reader"
KEYVAULT_ROLE = "Key Vault Secrets User"


def canary(label: str) -> str:
    return f"{CANARY}-{label}"


CONNECTIONS: dict[str, dict[str, Any]] = {
    "openai": {
        "auth_type": "ApiKey",
        "category": "AzureOpenAI",
        "target": f"https://oai.example/{canary('target')}/",
        "metadata": {"ApiVersion": canary("api-version"), "ApiType": canary("api-type")},
        "credentials": {"key": canary("openai-key")},
    },
    "custom": {
        "auth_type": "CustomKeys",
        "category": "CustomKeys",
        "target": canary("custom-target"),
        "credentials": {"keys": {"OPENAI_API_KEY": canary("custom-openai"), "SERPAPI_KEY": canary("serp")}},
    },
    "s3-bucket": {
        "auth_type": "AccessKey",
        "category": "S3",
        "target": f"s3://{canary('bucket')}",
        "credentials": {"accessKeyId": canary("akid"), "secretAccessKey": canary("s3-secret")},
    },
    "warehouse": {
        "auth_type": "UsernamePassword",
        "category": "Snowflake",
        "target": f"jdbc:snowflake://{canary('warehouse')}",
        "credentials": {
            "username": canary("wh-user"),
            "password": canary("wh-pass"),
            "securityToken": canary("wh-token"),
        },
    },
    "adls": {
        "auth_type": "ServicePrincipal",
        "category": "ADLSGen2",
        "target": f"https://{canary('adls')}.dfs.core.windows.net",
        "credentials": {"clientId": canary("sp-id"), "clientSecret": canary("sp-secret"), "tenantId": TENANT},
    },
}

VAULT_SECRETS: dict[str, dict[str, list[dict[str, Any]]]] = {
    KV_MAIN: {
        "db-password": [
            {"version": DB_V1, "value": canary("db-v1")},
            {"version": DB_V2, "value": canary("db-v2"), "content_type": "text/plain"},
        ],
        "api-token": [{"value": canary("api-token")}],
        "switched-off": [{"version": OFF_V, "value": canary("disabled"), "enabled": False}],
    },
    KV_TEAM: {
        "team-secret": [{"value": canary("team-old")}, {"value": canary("team-latest")}],
        "uai-only": [{"value": canary("uai-only")}],
    },
    KV_WALLED: {"behind-wall": [{"value": canary("walled")}]},
}


def world() -> dict[str, Any]:
    """The emulator configuration of the session."""
    return {
        "tenant_id": TENANT,
        "msi_secret": "e2e-msi-secret",
        "identities": {
            "endpoint": {"type": "system_assigned", "principal_id": ENDPOINT_PID, "default": True},
            "uai": {"type": "user_assigned", "principal_id": UAI_PID, "client_id": UAI_CLIENT},
        },
        "workspaces": [
            {"id": WS, "key_vault": KV_MAIN, "connections": CONNECTIONS},
            {
                "id": WS_LOCKED,
                "connections": {"locked": {"auth_type": "ApiKey", "credentials": {"key": canary("locked")}}},
            },
        ],
        "vaults": [
            {"id": KV_MAIN, "secrets": VAULT_SECRETS[KV_MAIN]},
            {"id": KV_TEAM, "secrets": VAULT_SECRETS[KV_TEAM]},
            {"id": KV_WALLED, "firewall": True, "secrets": VAULT_SECRETS[KV_WALLED]},
        ],
        "role_assignments": [
            {"principal": "endpoint", "role": CONNECTIONS_ROLE, "scope": WS},
            {"principal": "endpoint", "role": KEYVAULT_ROLE, "scope": KV_MAIN},
            {"principal": "endpoint", "role": KEYVAULT_ROLE, "scope": f"{KV_TEAM}/secrets/team-secret"},
            {"principal": "endpoint", "role": KEYVAULT_ROLE, "scope": KV_WALLED},
            {"principal": "uai", "role": CONNECTIONS_ROLE, "scope": WS},
            {"principal": "uai", "role": KEYVAULT_ROLE, "scope": f"{KV_TEAM}/secrets/uai-only"},
        ],
        # Nothing throttles unless a test asks for it with a fault.
        "rate_limits": {"arm_writes": None, "arm_reads": None, "keyvault": None},
    }


# ---------------------------------------------------------------------------------------------- references
def vault_name(vault_id: str) -> str:
    return vault_id.rsplit("/", 1)[1]


def kv_ref(vault_id: str, name: str, version: str | None = None) -> str:
    tail = f"/{version}" if version else ""
    return f"${{{{keyvault:https://{vault_name(vault_id)}.vault.azure.net/secrets/{name}{tail}}}}}"


def conn_ref(connection: str, path: str = "") -> str:
    """``path`` is ``""`` (the whole connection), ``target``, ``credentials/<key>`` or ``metadata/<key>``."""
    tail = f"/{path}" if path else ""
    return f"${{{{azureml://connections/{connection}{tail}}}}}"


def secret_value(vault_id: str, name: str, version: str | None = None) -> str:
    """What Key Vault holds for that reference, read from the configuration (latest = the last listed)."""
    versions = VAULT_SECRETS[vault_id][name]
    if version is None:
        return str(versions[-1]["value"])
    return next(str(v["value"]) for v in versions if v.get("version") == version)


def connection_value(connection: str, path: str) -> str:
    """What the platform injects for ``conn_ref(connection, path)`` (not the whole-connection form)."""
    spec = CONNECTIONS[connection]
    if path == "target":
        return str(spec["target"])
    kind, key = path.split("/", 1)
    if kind == "metadata":
        return str(spec["metadata"][key])
    credentials = spec["credentials"]
    pool = credentials["keys"] if spec["auth_type"] == "CustomKeys" else credentials
    return str(pool[key])


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def canonical_json_fingerprint(document: Any) -> str:
    return fingerprint(json.dumps(document, sort_keys=True, separators=(",", ":")))


# ---------------------------------------------------------------------------------------------- processes
VENV_BIN = Path(sys.executable).parent
PROBE = Path(__file__).with_name("probe.py")
WRAPPER = [sys.executable, "-m", "sidecar", "exec"]
CONSOLE_SCRIPT = VENV_BIN / "secret-injector"


def assert_no_canary(*texts: str) -> None:
    """No secret value, nor a piece of one that carries the canary's id, was ever printed."""
    for text in texts:
        assert "CANARY" not in text, "a secret value leaked into the output"
        assert CANARY_ID not in text and CANARY_ID[:8] not in text, "part of a secret value leaked"


def probe(
    *,
    show: Sequence[str] = (),
    code: int = 0,
    started: Path | None = None,
    on_term: Path | None = None,
    stay: float = 0.0,
) -> list[str]:
    """The command line of the probe child (see probe.py)."""
    argv = [sys.executable, str(PROBE), "--show", ",".join(show), "--code", str(code), "--stay", str(stay)]
    if started is not None:
        argv += ["--started", str(started)]
    if on_term is not None:
        argv += ["--on-term", str(on_term)]
    return argv


@dataclass
class Result:
    """A finished wrapper run (its output was checked for canaries already)."""

    pid: int
    code: int
    stdout: str
    stderr: str
    elapsed: float

    @property
    def child(self) -> dict[str, Any]:
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        assert lines, f"the child did not report (exit {self.code}); stderr:\n{self.stderr}"
        report: dict[str, Any] = json.loads(lines[0])
        return report

    def seen(self, name: str) -> str | None:
        """The fingerprint of ``name`` in the child's environment (None: not set)."""
        entry = self.child["vars"][name]
        return None if entry is None else str(entry["sha256"])

    def report_line(self, variable: str) -> str:
        """The one failure (or warning) line of the report about ``variable``."""
        lines = [
            line
            for line in self.stderr.splitlines()
            if line.startswith(f"{variable}: ") or line.startswith(f"warning: optional {variable} ")
        ]
        assert len(lines) == 1, f"expected one report line for {variable}, got:\n{self.stderr}"
        return lines[0]

    @property
    def summary_ms(self) -> int:
        """The resolution time the success line reports ('resolved N variables from M stores in X ms')."""
        match = re.search(r"^resolved \d+ variables? from \d+ stores? in (\d+) ms", self.stderr, re.MULTILINE)
        assert match, self.stderr
        return int(match.group(1))


class Wrapper:
    """Runs the wrapper as a real process with a clean environment pointed at the emulator."""

    def __init__(self, emu: Emulator, home: Path) -> None:
        self.emu = emu
        self.home = home

    def env(
        self, refs: Mapping[str, str] = {}, *, identity: str | None = None, **extra: str
    ) -> dict[str, str]:
        return {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(self.home),
            **self.emu.env(identity),
            "SECRET_INJECTOR_WORKSPACE_ID": WS,
            **refs,
            **extra,
        }

    def start(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        flags: Sequence[str] = (),
        script: bool = False,
    ) -> subprocess.Popen[str]:
        head = [str(CONSOLE_SCRIPT), "exec"] if script else WRAPPER
        return subprocess.Popen(
            [*head, *flags, "--", *command],
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        flags: Sequence[str] = (),
        script: bool = False,
        timeout: float = 60,
    ) -> Result:
        started = time.monotonic()
        proc = self.start(command, env, flags=flags, script=script)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the wrapper did not finish in {timeout} s; stderr:\n{err}")
        result = Result(proc.pid, proc.returncode, out, err, time.monotonic() - started)
        assert_no_canary(out, err)
        return result


def finish(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    """Wait for a process started with Wrapper.start, kill it if it overstays; its output, canary-checked."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"process {proc.pid} did not exit within {timeout} s; stderr:\n{err}")
    out, err = out or "", err or ""  # stderr is None when it was merged into stdout
    assert_no_canary(out, err)
    return out, err


def store_counts(emu: Emulator) -> dict[str, int]:
    """The emulator's request counters, without the proxy's tunnel counts (which are not requests)."""
    return {k: v for k, v in emu.stats().items() if not k.startswith("proxy.") and v}


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(world()) as emu:
        yield emu


@pytest.fixture(autouse=True)
def emu(emulator: Emulator) -> Iterator[Emulator]:
    """The session's emulator with zeroed counters and no faults, for every test of the package."""
    emulator.reset()
    emulator.set_faults([])
    yield emulator
    emulator.set_faults([])


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def wrapper(emu: Emulator, home: Path) -> Wrapper:
    return Wrapper(emu, home)
