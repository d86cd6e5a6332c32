"""The exec wrapper, as a real process: same pid, exit codes, fail closed, nothing printed that is a value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sidecar import exitcodes

WRAPPER = [sys.executable, "-m", "sidecar"]
CHILD_REPORTS = "import os, sys; print(os.getpid()); print(os.environ.get('PROBE', '<unset>')); sys.exit(int(os.environ.get('CODE', '0')))"
KV_REF = "${{keyvault:https://kv-main.vault.azure.net/secrets/db-pass}}"


def run(args: list[str], env: dict[str, str], **kwargs: object) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [*WRAPPER, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )
    out, err = proc.communicate(timeout=60)
    return proc, out, err


def base_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "PYTHONPATH": os.getcwd(), **extra}


def test_without_references_it_execs_in_place() -> None:
    proc, out, _ = run(["exec", "--", sys.executable, "-c", CHILD_REPORTS], base_env(PROBE="plain", CODE="7"))
    pid, probe = out.split()
    assert int(pid) == proc.pid  # the same process: exec, not fork
    assert probe == "plain"
    assert proc.returncode == 7  # the command's own exit code


def test_a_failed_resolution_never_starts_the_child(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    env = base_env(
        DB_PASSWORD=KV_REF,
        MSI_ENDPOINT="http://127.0.0.1:9/msi/token",  # discard port: nothing listens
        MSI_SECRET="s",
        SECRET_INJECTOR_TIMEOUT="2",
    )
    proc, _, err = run(["exec", "--", "touch", str(marker)], env)
    assert proc.returncode == exitcodes.UNAVAILABLE
    assert not marker.exists()
    first = err.splitlines()[0]
    assert first.startswith(f"DB_PASSWORD: {KV_REF} [key vault kv-main] IdentityUnavailable")
    assert "-> fix: " in first
    assert err.splitlines()[-1] == "error: 1 variable could not be resolved; the command was not started"


def test_an_invalid_reference_exits_3_without_echoing_literals(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    env = base_env(BAD="${{azureml://connections/openai/credential/key}}", OTHER="canary-5e1${{canary-9d")
    proc, _, err = run(["exec", "--", "touch", str(marker)], env)
    assert proc.returncode == exitcodes.INVALID
    assert not marker.exists()
    assert "BAD: azureml://connections/openai/credential/key InvalidReference" in err
    assert "unknown segment 'credential'" in err
    assert "OTHER: InvalidReference" in err
    assert "canary" not in err


def test_a_bad_setting_exits_3() -> None:
    proc, _, err = run(["exec", "--", "true"], base_env(A=KV_REF, SECRET_INJECTOR_TIMEOUT="never"))
    assert proc.returncode == exitcodes.INVALID
    assert "SECRET_INJECTOR_TIMEOUT" in err


def test_dry_run_lists_references_without_network() -> None:
    env = base_env(B=KV_REF, A="x ${{azureml://connections/openai/target}}", PLAIN="p")
    proc, _, err = run(["exec", "--dry-run", "--", "true"], env)
    assert proc.returncode == 0
    assert err.splitlines() == ["A -> x ${{azureml://connections/openai/target}}", f"B -> {KV_REF}"]


@pytest.mark.parametrize(
    ("command", "code"),
    [(["no-such-command-xyz"], exitcodes.COMMAND_NOT_FOUND), (["/etc/hostname"], exitcodes.CANNOT_EXECUTE)],
)
def test_commands_that_cannot_run(command: list[str], code: int) -> None:
    proc, _, err = run(["exec", "--", *command], base_env())
    assert proc.returncode == code
    assert command[0] in err


def test_usage_errors_exit_2() -> None:
    assert run(["exec"], base_env())[0].returncode == exitcodes.USAGE
    assert run(["frobnicate"], base_env())[0].returncode == exitcodes.USAGE


def test_console_script_is_the_same_command() -> None:
    script = Path(sys.executable).with_name("secret-injector")
    if not script.exists():
        pytest.skip("console script not installed next to this interpreter")
    out = subprocess.run(
        [str(script), "exec", "--", "echo", "ok"], capture_output=True, text=True, check=True
    )
    assert out.stdout == "ok\n"


def test_an_identity_endpoint_that_never_answers_cannot_hang_the_wrapper(tmp_path: Path) -> None:
    import socket
    import time

    with socket.socket() as silent:  # accepts connections (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        env = base_env(
            DB_PASSWORD=KV_REF,
            MSI_ENDPOINT=f"http://127.0.0.1:{port}/msi/token",
            MSI_SECRET="s",
            SECRET_INJECTOR_TIMEOUT="2",
        )
        started = time.monotonic()
        proc, _, err = run(["exec", "--", "touch", str(tmp_path / "started")], env)
        elapsed = time.monotonic() - started
    assert proc.returncode == exitcodes.UNAVAILABLE
    assert elapsed < 8, elapsed
    assert not (tmp_path / "started").exists()
    assert "DB_PASSWORD" in err
