"""``python -m injector.emulator`` as a real process: exports, serving, clean stop on SIGTERM, config errors."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from .conftest import make_config

ROOT = Path(__file__).parents[2]


def test_runs_prints_env_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "emulator.yml"
    config.write_text(yaml.safe_dump(make_config()), encoding="utf-8")
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "injector.emulator",
            "--config",
            str(config),
            "--print-env",
            "--state-dir",
            str(state),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        while "MSI_SECRET" not in env:
            line = proc.stdout.readline()
            assert line.startswith("export "), line
            name, _, value = line[len("export ") :].strip().partition("=")
            env[name] = shlex.split(value)[0]
        assert env["SSL_CERT_FILE"] == str(state / "ca.pem") and (state / "ca.pem").exists()
        assert env["MSI_SECRET"] == "test-msi-secret"
        token = httpx.get(
            env["MSI_ENDPOINT"],
            params={"api-version": "2017-09-01", "resource": "https://vault.azure.net"},
            headers={"secret": env["MSI_SECRET"]},
        )
        assert token.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None and "listening on" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_config_error_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "emulator.yml"
    config.write_text("tenant_id: not-a-guid\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "injector.emulator", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ},
    )
    assert done.returncode == 2
    assert "tenant_id: expected a GUID" in done.stderr
