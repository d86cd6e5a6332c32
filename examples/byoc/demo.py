"""The BYOC example end to end on a laptop: `make demo` (or `python examples/byoc/demo.py`).

1. starts the local emulator of the Azure services with emulator.yml (MSI endpoint, ARM, Key Vault);
2. runs the image's ENTRYPOINT + CMD, read from the Dockerfile, with deployment.yml's environment variables:
   the wrapper resolves every reference, then execs the real Azure ML inference server (azmlinfsrv) on score.py;
3. scores a request and checks that each secret arrived (fingerprints, never values), that the server has the
   wrapper's pid and that no wrapper process is left behind, then stops the server with SIGTERM;
4. starts the same container as a user-assigned identity that lacks the Key Vault role: the wrapper prints its
   report, exits 4 and never starts the server.

Exit status 0 when every check holds, 1 otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from injector.emulator import Emulator

HERE = Path(__file__).resolve().parent
SERVER_START_TIMEOUT = 90.0  # azmlinfsrv imports Flask, gunicorn and OpenTelemetry: a few seconds on a laptop


class Demo:
    """Runs the steps, prints what each one shows, and remembers whether every check held."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.config = yaml.safe_load((HERE / "emulator.yml").read_text())
        self.deployment_env = {
            name: str(value)
            for name, value in yaml.safe_load((HERE / "deployment.yml").read_text())[
                "environment_variables"
            ].items()
        }
        self.failed_checks = 0

    # ------------------------------------------------------------------------------------------ output
    @staticmethod
    def step(title: str) -> None:
        print(f"\n==> {title}", flush=True)

    def check(self, holds: bool, what: str) -> None:
        print(f"    [{'ok' if holds else 'FAILED'}] {what}", flush=True)
        self.failed_checks += not holds

    # ------------------------------------------------------------------------------------------ the container
    def container_command(self, port: int) -> list[str]:
        """ENTRYPOINT + CMD exactly as the Dockerfile has them, plus --port so the demo needs no fixed port."""
        instructions = dict(
            line.split(maxsplit=1)
            for line in (HERE / "Dockerfile").read_text().splitlines()
            if line.startswith(("ENTRYPOINT ", "CMD "))
        )
        return [
            *json.loads(instructions["ENTRYPOINT"]),
            *json.loads(instructions["CMD"]),
            "--port",
            str(port),
        ]

    def container_env(self, identity: str) -> dict[str, str]:
        """What the container would see: deployment.yml's variables and, standing for Azure, the emulator's."""
        venv_bin = str(Path(sys.executable).parent)
        return {
            "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/bin:/bin")]),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONUNBUFFERED": "1",
            **self.deployment_env,
            **self.emu.env(identity),
        }

    # ------------------------------------------------------------------------------------------ expectations
    def expected_values(self) -> dict[str, str | None]:
        """Each variable's value, worked out from emulator.yml and List Secrets, independently of the wrapper."""
        workspace = self.config["workspaces"][0]
        connections = workspace["connections"]
        versions = self.config["vaults"][0]["secrets"]["db-password"]
        pinned = next(v["value"] for v in versions if v["version"] == "3f9a1c0e5b7d4e2a9c8b1d0f6e4a2c7b")
        return {
            "OPENAI_API_KEY": connections["openai-conn"]["credentials"]["key"],
            "OPENAI_ENDPOINT": connections["openai-conn"]["target"],
            "OPENAI_API_VERSION": connections["openai-conn"]["metadata"]["ApiVersion"],
            "SEARCH_CONNECTION": self.list_secrets(workspace["id"], "search-conn"),
            "STORAGE_ACCOUNT_KEY": connections["custom-keys"]["credentials"]["keys"]["STORAGE_KEY"],
            "DB_PASSWORD": pinned,
            "DATABASE_URL": f"postgresql://scoring:{versions[-1]['value']}@db.internal:5432/scoring",
            "FEATURE_FLAGS_TOKEN": None,  # optional, and the vault has no such secret
        }

    def list_secrets(self, workspace_id: str, connection: str) -> str:
        """A whole-connection reference holds the List Secrets response: ask for it with plain httpx."""
        token = self.emu.token("endpoint", "https://management.azure.com/")
        with httpx.Client(proxy=self.emu.proxy_url, verify=self.emu.ca_file, trust_env=False) as client:
            response = client.post(
                f"https://management.azure.com{workspace_id}/connections/{connection}/listsecrets",
                params={"api-version": "2024-04-01"},
                headers={"Authorization": f"Bearer {token}"},
            )
        response.raise_for_status()
        return json.dumps(response.json(), separators=(",", ":"))

    # ------------------------------------------------------------------------------------------ the steps
    def scored_request(self) -> None:
        self.step("Starting the container: " + " ".join(self.container_command(0)[:-2]) + " --port <free>")
        expected = self.expected_values()
        self.emu.reset()
        port = free_port()
        with running(self.container_command(port), self.container_env("endpoint")) as (server, log):
            ready = wait_until_ready(server, port)
            self.check(ready, f"azmlinfsrv answers on 127.0.0.1:{port}")
            if not ready:
                print(indent(log.read_text()))
                return
            for line in log.read_text().splitlines():
                if line.startswith(("resolved ", "warning: ")):
                    print(f"    wrapper: {line}")

            self.step("Scoring a request: POST /score")
            with httpx.Client(trust_env=False, timeout=30) as client:
                body = client.post(f"http://127.0.0.1:{port}/score", json={"input": "hello"}).json()
            self.show_secrets(body, expected)

            self.step("Processes")
            worker_parent = parent_pid(int(body["pid"]))
            self.check(
                "azmlinfsrv" in cmdline(server.pid),
                f"pid {server.pid}, started as `secret-injector exec`, is now azmlinfsrv (exec, not a child)",
            )
            self.check(
                worker_parent == server.pid,
                f"the scoring worker (pid {body['pid']}) is a child of that same pid ({worker_parent})",
            )
            tree = [server.pid, *descendants(server.pid)]
            leftovers = [pid for pid in tree if re.search(r"secret-injector\x00exec", cmdline(pid))]
            self.check(
                not leftovers,
                f"no secret-injector process among the container's {len(tree)} processes {leftovers or ''}".rstrip(),
            )

            self.step("Emulator requests (one token per audience, one request per secret)")
            stats = {k: v for k, v in self.emu.stats().items() if not k.startswith("proxy.")}
            for route, count in sorted(stats.items()):
                print(f"    {route:<22} {count}")

            self.step(f"Stopping: SIGTERM to pid {server.pid}")
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=30)
            self.check(code == 0, f"the server shut down cleanly (exit {code})")
            self.check_no_leak(log.read_text(), expected)

    def show_secrets(self, body: dict[str, Any], expected: dict[str, str | None]) -> None:
        print(f"    {'variable':<20} {'fingerprint':<13} {'length':>6}  as expected")
        for name, want in expected.items():
            got = body["secrets"].get(name)
            if got is None:
                print(f"    {name:<20} {'(not set)':<13} {'':>6}  {'yes' if want is None else 'NO'}")
                self.failed_checks += want is not None
                continue
            holds = (
                want is not None and got["fingerprint"] == fingerprint(want) and got["length"] == len(want)
            )
            print(f"    {name:<20} {got['fingerprint']:<13} {got['length']:>6}  {'yes' if holds else 'NO'}")
            self.failed_checks += not holds
        self.check(not body["unresolved"], "no variable still holds a reference")

    def missing_role(self) -> None:
        identity = "uai-scoring"
        self.step(
            f"The same container as user-assigned identity {identity} "
            "(SECRET_INJECTOR_CLIENT_ID), which has no Key Vault role"
        )
        port = free_port()
        with running(self.container_command(port), self.container_env(identity)) as (server, log):
            code = server.wait(timeout=120)
            output = log.read_text()
        print(indent(output.rstrip()))
        self.check(code == 4, f"the wrapper exited {code} (4: access denied)")
        self.check("azmlinfsrv" not in output and not port_open(port), "the server was never started")
        self.check("az role assignment create" in output, "the report gives the command that fixes it")
        self.check_no_leak(output, self.expected_values())

    def check_no_leak(self, output: str, expected: dict[str, str | None]) -> None:
        values = [v for v in expected.values() if v]
        lines = len(output.splitlines())
        self.check(not any(v in output for v in values), f"no secret value in the {lines} lines of output")


# ---------------------------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Start the container's command with its output in a file; never leave it running."""
    with tempfile.TemporaryDirectory(prefix="byoc-demo-") as tmp:
        log = Path(tmp) / "container.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(argv, env=env, cwd=HERE, stdout=sink, stderr=subprocess.STDOUT)
            try:
                yield server, log
            finally:
                if server.poll() is None:
                    server.kill()
                    server.wait()


def wait_until_ready(server: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline and server.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"http://127.0.0.1:{port}/").status_code == 200:
                    return True
            time.sleep(0.2)
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]  # the same as score.py's


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def parent_pid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


def descendants(root: int) -> list[int]:
    """Every process under ``root`` (the container's process tree, as `docker top` would show it)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, AttributeError):
                children.setdefault(parent_pid(int(entry.name)), []).append(int(entry.name))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def indent(text: str) -> str:
    return "\n".join("    | " + line for line in text.splitlines())


def main() -> int:
    print("secret-injector demo: the BYOC example (examples/byoc) on the local Azure emulator")
    with Emulator(HERE / "emulator.yml") as emu:
        print(f"    emulator on 127.0.0.1:{emu.port} (HTTPS proxy for Azure hosts, MSI endpoint)")
        demo = Demo(emu)
        demo.scored_request()
        demo.missing_role()
    verdict = "every check held" if not demo.failed_checks else f"{demo.failed_checks} check(s) FAILED"
    print(f"\n==> Done: {verdict}; the emulator is stopped.")
    return 1 if demo.failed_checks else 0


if __name__ == "__main__":
    sys.exit(main())
