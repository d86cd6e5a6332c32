"""Table 3: how the time to resolve grows with the number of variables (5, 50, 500) and stores (2, 8, 50).

Same contenders and method as table 2 (spawn -> exec'd ``true``, 20 ms on every emulator request, counters and
throttle buckets zeroed before each run). The wrapper is measured ``runs`` times per size; the by-hand script,
which makes one request per variable on a new connection, is repeated only while a run stays short.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from injector.emulator import Emulator

from . import _harness
from ._scenario import build
from ._util import Target, cpu_summary, print_targets, table

TABLE = "3"
# (variables, connections, vaults): stores grow with the variables, up to 50.
SIZES = ((5, 1, 1), (50, 5, 3), (500, 20, 30))
MAX_GROWTH = 1.5  # time at 500 variables over time at 5
LONG_RUN_S = 10.0  # by hand is repeated only while its runs add up to less than this
HEADER = ("mix", "wrapper ms", "vs 5 vars", "wrapper CPU ms", "requests (min)", "tunnels", "by hand ms", "runs",
          "by hand / wrapper")  # fmt: skip
NOTES = """\
   requests (min): the wrapper's requests (the unique reads it needs); tunnels: new TLS connections it opened.
   runs: by-hand runs, repeated only while they add up to under {long_run:g} s. At 5 variables by hand makes 6
   requests one after the other and loads no pydantic: the wrapper's fixed cost is not yet paid back there."""


@dataclass(frozen=True)
class SizeResult:
    label: str
    wrapper_ms: float
    wrapper_cpu_ms: float
    byhand_ms: float
    byhand_runs: int
    requests: int
    minimum: int
    tunnels: int


def measure_size(variables: int, connections: int, vaults: int, runs: int) -> SizeResult:
    scenario = build(variables, connections, vaults)
    with Emulator(scenario.emulator_config()) as emu, tempfile.TemporaryDirectory() as workdir:
        wrapper = _harness.wrapper(emu, scenario)
        byhand = _harness.byhand(emu, scenario, Path(workdir))
        _harness.measure(emu, wrapper)  # warm-up: page cache, the emulator's per-host certificates
        wrapper_ms: list[float] = []
        wrapper_cpu_ms: list[float] = []
        byhand_ms: list[float] = []
        stats: dict[str, int] = {}
        for _ in range(runs):
            run, stats = _harness.measure(emu, wrapper)
            wrapper_ms.append(run.seconds * 1000)
            wrapper_cpu_ms.append(run.cpu_seconds * 1000)
            if sum(byhand_ms) < LONG_RUN_S * 1000:
                run, _ = _harness.measure(emu, byhand)
                byhand_ms.append(run.seconds * 1000)
    return SizeResult(
        label=f"{variables} vars / {scenario.stores} stores",
        wrapper_ms=statistics.median(wrapper_ms),
        wrapper_cpu_ms=statistics.median(wrapper_cpu_ms),
        byhand_ms=statistics.median(byhand_ms),
        byhand_runs=len(byhand_ms),
        requests=stats.get("total", 0),
        minimum=scenario.minimum_requests()["total"],
        tunnels=stats.get("proxy.connect", 0),
    )


def main(runs: int = 5) -> list[Target]:
    results = [measure_size(*size, runs=runs) for size in SIZES]
    base = results[0].wrapper_ms
    rows = [
        [r.label, r.wrapper_ms, f"{r.wrapper_ms / base:.2f}x", r.wrapper_cpu_ms, f"{r.requests} ({r.minimum})",
         r.tunnels, r.byhand_ms, r.byhand_runs, f"{r.byhand_ms / r.wrapper_ms:.1f}x"]
        for r in results
    ]  # fmt: skip
    print(table(f"{TABLE}. Growth: 5, 50, 500 variables, 20 ms per request (wrapper: median of {runs} runs)",
                HEADER, rows))  # fmt: skip
    print(NOTES.format(long_run=LONG_RUN_S))
    largest = results[-1]
    growth = largest.wrapper_ms / base
    targets = [
        Target(TABLE, f"time at 500 at most {MAX_GROWTH}x time at 5", growth <= MAX_GROWTH,
               f"{growth:.2f}x ({largest.wrapper_ms:.0f} vs {base:.0f} ms)"),
        Target(TABLE, "by hand at 500 takes 10x the wrapper's time or more (expected)",
               largest.byhand_ms >= 10 * largest.wrapper_ms, f"{largest.byhand_ms / largest.wrapper_ms:.1f}x"),
    ]  # fmt: skip
    print_targets(targets)
    return targets


if __name__ == "__main__":
    print(cpu_summary())
    main()
