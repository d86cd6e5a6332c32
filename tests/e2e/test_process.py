"""The wrapper execs in place: same pid, nothing left behind, signals and the exit code are the command's own.
Includes the real Azure ML inference server (azmlinfsrv) started through the console script."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from injector.emulator import Emulator

from .conftest import (
    CONSOLE_SCRIPT,
    KV_MAIN,
    VENV_BIN,
    Wrapper,
    conn_ref,
    connection_value,
    fingerprint,
    finish,
    kv_ref,
    probe,
    secret_value,
)

pytestmark = pytest.mark.e2e

REFS = {"OPENAI_KEY": conn_ref("openai", "credentials/key"), "DB_PASSWORD": kv_ref(KV_MAIN, "db-password")}
EXPECTED = {
    "OPENAI_KEY": fingerprint(connection_value("openai", "credentials/key")),
    "DB_PASSWORD": fingerprint(secret_value(KV_MAIN, "db-password")),
}


def descendants(root: int) -> dict[int, str]:
    """pid -> command line of every live process below ``root``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                try:
                    found[pid] = (
                        (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    )
                except OSError:
                    continue
                frontier.append(pid)
    return found


def read_report(proc: subprocess.Popen[str]) -> dict[str, object]:
    """The child's first stdout line (it prints it before staying up)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("{"), f"no report from the child (exit {proc.poll()})"
    report: dict[str, object] = json.loads(line)
    return report


def test_exec_keeps_the_pid_and_leaves_no_wrapper_process(wrapper: Wrapper) -> None:
    proc = wrapper.start(probe(show=list(REFS), stay=30), wrapper.env(REFS))
    try:
        report = read_report(proc)
        assert report["pid"] == proc.pid  # exec, not fork: the command runs under the wrapper's pid
        assert report["vars"] == {n: {"sha256": fp, "json_sha256": None} for n, fp in EXPECTED.items()}
        # While the child runs: no process below us is the wrapper, and the pid is the probe's now.
        below = descendants(os.getpid())
        assert list(below) == [proc.pid], below
        assert "probe.py" in below[proc.pid]
        assert not any("sidecar" in cmd or "secret-injector" in cmd for cmd in below.values()), below
    finally:
        proc.terminate()
        finish(proc)
    assert proc.returncode == -signal.SIGTERM


def test_the_exit_code_is_the_commands(wrapper: Wrapper) -> None:
    result = wrapper.run(probe(show=list(REFS), code=7), wrapper.env(REFS))
    assert result.code == 7, result.stderr
    assert result.child["pid"] == result.pid
    assert {name: result.seen(name) for name in REFS} == EXPECTED


def test_sigterm_to_the_wrapper_pid_reaches_the_command(wrapper: Wrapper, tmp_path: Path) -> None:
    marker = tmp_path / "terminated"
    proc = wrapper.start(probe(show=list(REFS), on_term=marker, stay=30, code=3), wrapper.env(REFS))
    try:
        read_report(proc)  # the handler is installed before the report is printed
        os.kill(proc.pid, signal.SIGTERM)
    finally:
        finish(proc, timeout=15)
    assert proc.returncode == 0  # the handler's exit, not the default SIGTERM death nor --code
    assert marker.read_text().startswith(f"SIGTERM in {proc.pid}")


def test_the_console_script_resolves_and_execs(wrapper: Wrapper, emu: Emulator) -> None:
    assert CONSOLE_SCRIPT.exists()
    result = wrapper.run(probe(show=list(REFS), code=42), wrapper.env(REFS), script=True)
    assert result.code == 42, result.stderr
    assert result.child["pid"] == result.pid
    assert {name: result.seen(name) for name in REFS} == EXPECTED
    assert emu.stats()["token"] == 2


SCORE_PY = """\
import hashlib
import os

NAMES = ("OPENAI_KEY", "DB_PASSWORD")


def init():
    pass


def run(raw_data):
    return {
        "ppid": os.getppid(),
        "fingerprints": {n: hashlib.sha256(os.environ[n].encode()).hexdigest() for n in NAMES if n in os.environ},
        "unresolved": [n for n in NAMES if "${{" in os.environ.get(n, "")],
    }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status), response.read()


def test_the_real_inference_server_gets_the_secrets_and_the_signal(wrapper: Wrapper, tmp_path: Path) -> None:
    (tmp_path / "score.py").write_text(SCORE_PY)
    port = free_port()
    env = wrapper.env(REFS, HOME=str(tmp_path))  # gunicorn keeps a control socket under $HOME
    command = [
        str(VENV_BIN / "azmlinfsrv"),
        "--entry_script",
        str(tmp_path / "score.py"),
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "exec", "--", *command],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the server exited with {proc.returncode}"
            try:
                if http("GET", f"http://127.0.0.1:{port}/")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, "azmlinfsrv did not answer within 60 s"
            time.sleep(0.25)
        status, body = http("POST", f"http://127.0.0.1:{port}/score", b'{"input": 1}')
        assert status == 200
        answer = json.loads(body)
        assert answer["fingerprints"] == EXPECTED
        assert answer["unresolved"] == []
        assert answer["ppid"] == proc.pid  # the worker's parent, gunicorn's master, is the wrapper's pid
        os.kill(proc.pid, signal.SIGTERM)
    finally:
        out, _ = finish(proc, timeout=30)
    assert proc.returncode == 0, out[-2000:]
    assert "Handling signal: term" in out
