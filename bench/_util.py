"""Helpers shared by the benchmark scripts: timing, medians, tables."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wrapper_command() -> list[str]:
    """The console script as a user runs it (falls back to ``python -m sidecar``)."""
    script = BIN / "secret-injector"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sidecar"]


def time_command(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    """Wall seconds from spawn to exit; raises if the command fails."""
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, header))] + [
        [f"{c:.1f}" if isinstance(c, float) else str(c) for c in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [f"\n{title}", "-" * len(title)]
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def base_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, **extra}


@dataclass(frozen=True)
class Target:
    """One target of the issue, checked against a measurement: printed as PASS/MISS, summed up at the end."""

    table: str
    name: str
    passed: bool
    measured: str

    def line(self) -> str:
        return f"   [{'PASS' if self.passed else 'MISS'}] {self.name}: {self.measured}"


def print_targets(targets: Sequence[Target]) -> None:
    print("\n".join(t.line() for t in targets))


def cpu_summary() -> str:
    """The machine line printed at the top of `python -m bench` and of every table run alone."""
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), ""
            )
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} cores{f' ({model})' if model else ''}, Python {sys.version.split()[0]}, "
        f"load average at start {load}"
    )
