"""Running the contenders as real processes against an in-process emulator, and measuring each run.

A run is timed from spawn to the exit of the exec'd child, which is ``true``: the wrapper (or script) replaces
itself with it, so the time is spawn -> resolve -> exec plus ``true``'s ~1 ms. Peak RSS comes from ``wait4`` on
that one child: ``ru_maxrss`` is the maximum over the process's whole life, and since ``true`` is tiny that is
the wrapper's peak before exec.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from injector.emulator import Emulator

from ._scenario import PREFIX, WORKSPACE_ID, Scenario, SecretSource
from ._util import base_env, wrapper_command

BENCH_DIR = Path(__file__).resolve().parent

# The child used to check a contender once per table: prints how many variables arrived, how many still hold
# a reference, and a fingerprint of all values together (never a value).
CHECKER = (
    "import hashlib,os;"
    f"v=sorted((k,x) for k,x in os.environ.items() if k.startswith('{PREFIX}'));"
    "print(len(v), sum('${{' in x for _,x in v), hashlib.sha256(repr(v).encode()).hexdigest()[:12])"
)


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    cpu_seconds: float  # user + system, the child's own (the emulator's is not in it)
    max_rss_mb: float
    returncode: int
    stderr: str


@dataclass(frozen=True)
class Contender:
    """One way to resolve a mix: its command (to which the child command is appended) and environment."""

    name: str
    argv: list[str]
    env: dict[str, str]

    def command(self, child: Sequence[str] = ("true",)) -> list[str]:
        return [*self.argv, *child]


def run_child(argv: Sequence[str], env: Mapping[str, str]) -> ChildRun:
    """Spawn ``argv``, wait for it with ``wait4``: wall and CPU seconds, peak RSS (MB), exit code, stderr."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=dict(env), stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    return ChildRun(elapsed, cpu, usage.ru_maxrss / 1024, proc.returncode, stderr)


def check(contender: Contender) -> str:
    """Run once with the checker child; return its one line (count, unresolved count, fingerprint)."""
    result = subprocess.run(
        contender.command([sys.executable, "-c", CHECKER]),
        env=contender.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{contender.name} failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout.strip()


def wrapper(emu: Emulator, scenario: Scenario, **extra: str) -> Contender:
    env = base_env(**emu.env(), SECRET_INJECTOR_WORKSPACE_ID=WORKSPACE_ID, **scenario.env(), **extra)
    return Contender("secret-injector", [*wrapper_command(), "exec", "--"], env)


def byhand(emu: Emulator, scenario: Scenario, workdir: Path) -> Contender:
    manifest = workdir / f"secrets-{len(scenario.variables)}.json"
    manifest.write_text(json.dumps(scenario.manifest()))
    env = base_env(**emu.env(), WORKSPACE_ID=WORKSPACE_ID)
    return Contender("by hand", [sys.executable, str(BENCH_DIR / "byhand.py"), str(manifest), "--"], env)


def floor(emu: Emulator, scenario: Scenario) -> Contender:
    secret = next(s for s in scenario.sources() if isinstance(s, SecretSource))
    argv = [sys.executable, str(BENCH_DIR / "floor.py"), secret.vault_url, secret.name, "--"]
    return Contender("floor", argv, base_env(**emu.env()))


def measure(emu: Emulator, contender: Contender) -> tuple[ChildRun, dict[str, int]]:
    """One timed run from a clean emulator (counters and throttle buckets zeroed): the run and its requests."""
    emu.reset()
    run = run_child(contender.command(), contender.env)
    if run.returncode != 0:
        raise RuntimeError(f"{contender.name} failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    return run, emu.stats()


def imported_packages(contender: Contender) -> set[str]:
    """Top-level third-party packages the contender imports (PYTHONPROFILEIMPORTTIME, stdlib left out)."""
    result = subprocess.run(
        contender.command(),
        env={**contender.env, "PYTHONPROFILEIMPORTTIME": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    names = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.split("|")[0].split(":")[1].strip().isdigit()
    }
    return {n for n in names if n not in sys.stdlib_module_names and not n.startswith("_")} - OURS


OURS = {"injector", "sidecar", "sitecustomize"}
