"""Table 4: a fleet of replicas starting at once, against ARM's write throttle and Key Vault's limit.

100 wrappers (real processes, one deployment: one identity, so one ARM bucket) are spawned back to back against
an emulator with ARM's write bucket (200 burst, 10 per second refill; List Secrets is a POST action, so a write)
and Key Vault's 4000 Get Secret per 10 s per vault, plus 20 ms on every request. Each replica resolves the
cold-resolve mix of table 2. Every wrapper must succeed within its own deadline (SECRET_INJECTOR_TIMEOUT,
60 s), with at most 1.2x the requests the fleet needs; a 429 is counted as a request beyond the needed one
(no other fault is injected, and every wrapper succeeding means each needed read succeeded once).

On 2 cores, 100 Python processes mostly wait for CPU: the table also gives the fleet's total CPU time, and the
same 100 wrappers with no reference (the exec fast path) for comparison.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from injector.emulator import Emulator

from . import _harness
from ._scenario import build
from ._util import Target, base_env, cpu_summary, print_targets, table, wrapper_command

TABLE = "4"
REPLICAS = 100
ARM_WRITES = {"burst": 200, "refill_per_second": 10}
KEYVAULT_PER_10S = 4000
DEADLINE_S = 60  # SECRET_INJECTOR_TIMEOUT's default
MAX_OVERHEAD = 1.2
RESOLVED = re.compile(r"^resolved .* in (\d+) ms")  # the wrapper's one success line
HEADER = ("fleet", "ok", "median exit s", "last exit s", "longest resolve s", "CPU s", "requests", "minimum", "ratio",
          "429 ARM", "429 KV")  # fmt: skip
NOTES = """\
   exit s: from the first spawn; longest resolve s: the slowest wrapper's own resolution (its success line),
   which is what SECRET_INJECTOR_TIMEOUT bounds: the imports before it wait for CPU here, not for Azure.
   minimum per replica: {per[total]} requests ({per[token]} tokens, {per[arm.listsecrets]} List Secrets, \
{per[keyvault.challenge]} Key Vault challenges, {per[keyvault.get_secret]} Get Secret);
   the fleet's List Secrets: {writes} ARM writes, {beyond} beyond the burst. 429s: requests beyond the needed ones.
   CPU: {cpu:.0f} s of it on {cores} cores, so no fleet of these finishes in less than {cpu_bound:.0f} s here."""


@dataclass(frozen=True)
class FleetRun:
    exits: list[float]  # seconds from the first spawn to each wrapper's exit, in exit order
    codes: list[int]
    cpu_s: float  # user + system seconds of all wrappers together
    resolve_s: list[
        float
    ]  # each successful wrapper's own resolution time (its success line): what the deadline bounds
    failures: list[str]  # the last report lines of each failed wrapper

    @property
    def succeeded(self) -> int:
        return self.codes.count(0)


def run_fleet(argv: Sequence[str], env: Mapping[str, str], replicas: int) -> FleetRun:
    """Spawn ``replicas`` copies of ``argv`` back to back, then reap them all with ``wait4``."""
    with tempfile.TemporaryDirectory() as logs:
        started = time.perf_counter()
        procs: dict[int, tuple[subprocess.Popen[bytes], str]] = {}
        for i in range(replicas):
            path = os.path.join(logs, f"{i}.err")
            with open(path, "wb") as err:
                proc = subprocess.Popen(list(argv), env=dict(env), stdout=subprocess.DEVNULL, stderr=err)
            procs[proc.pid] = (proc, path)
        exits: list[float] = []
        cpu = 0.0
        stderr: dict[str, int] = {}
        while procs:
            pid, status, usage = os.wait4(-1, 0)
            proc, path = procs.pop(pid)
            proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
            exits.append(time.perf_counter() - started)
            cpu += usage.ru_utime + usage.ru_stime
            stderr[path] = proc.returncode
        resolve_s: list[float] = []
        failures: list[str] = []
        for path, code in stderr.items():
            with open(path, errors="replace") as err:
                lines = err.read().strip().splitlines()
            if code != 0:  # the report's code and error per variable (a report never holds a value)
                failures += [f"exit {code}: {line[:160]}" for line in lines[-3:]]
            elif lines and (match := RESOLVED.search(lines[-1])):
                resolve_s.append(int(match.group(1)) / 1000)
    return FleetRun(exits, list(stderr.values()), cpu, resolve_s, failures)


def main(replicas: int = REPLICAS) -> list[Target]:
    scenario = build(variables=50, connections=5, vaults=3)
    per_replica = scenario.minimum_requests()
    minimum = {route: count * replicas for route, count in per_replica.items()}
    limits = {"arm_writes": ARM_WRITES, "keyvault": {"per_10s": KEYVAULT_PER_10S}}
    with Emulator(scenario.emulator_config(rate_limits=limits)) as emu:
        wrapper = _harness.wrapper(emu, scenario)
        _harness.measure(emu, wrapper)  # warm-up: page cache, the emulator's per-host certificates
        emu.reset()
        fleet = run_fleet(wrapper.command(), wrapper.env, replicas)
        stats = emu.stats()
    idle = run_fleet([*wrapper_command(), "exec", "--", "true"], base_env(), replicas)

    # Every wrapper succeeding means each needed read succeeded exactly once; with no other fault injected,
    # every request beyond that on a throttled route was answered 429.
    throttled_arm = stats.get("arm.listsecrets", 0) - minimum["arm.listsecrets"]
    throttled_kv = stats.get("keyvault.get_secret", 0) - minimum["keyvault.get_secret"]
    ratio = stats["total"] / minimum["total"]
    longest = max(fleet.resolve_s, default=float("nan"))
    rows = [
        ["wrappers, 50 references each", f"{fleet.succeeded}/{replicas}", statistics.median(fleet.exits),
         max(fleet.exits), longest, fleet.cpu_s, stats["total"], minimum["total"], f"{ratio:.2f}x", throttled_arm,
         throttled_kv],
        ["wrappers, no reference", f"{idle.succeeded}/{replicas}", statistics.median(idle.exits), max(idle.exits),
         "", idle.cpu_s, "", "", "", "", ""],
    ]  # fmt: skip
    title = (f"{TABLE}. Fleet: {replicas} replicas at once, ARM writes 200 burst + 10/s, Key Vault "
             f"{KEYVAULT_PER_10S}/10 s/vault, 20 ms per request")  # fmt: skip
    print(table(title, HEADER, rows))
    writes = minimum["arm.listsecrets"]
    cores = os.cpu_count() or 1
    print(NOTES.format(per=per_replica, writes=writes, beyond=max(0, writes - ARM_WRITES["burst"]), cpu=fleet.cpu_s,
                       cores=cores, cpu_bound=fleet.cpu_s / cores))  # fmt: skip
    for failure in sorted(set(fleet.failures))[:5]:
        print(f"   failed: {failure}")
    print_advice(per_replica["arm.listsecrets"], replicas)
    targets = [
        Target(TABLE, f"every wrapper succeeds within its deadline ({DEADLINE_S} s)", fleet.succeeded == replicas,
               f"{fleet.succeeded}/{replicas}; longest resolution {longest:.1f} s, last exit {max(fleet.exits):.1f} s "
               "after the first spawn"),
        Target(TABLE, f"total requests at most {MAX_OVERHEAD}x the minimum", ratio <= MAX_OVERHEAD,
               f"{ratio:.2f}x ({stats['total']} of {minimum['total']}; 429s: {throttled_arm} ARM, "
               f"{throttled_kv} Key Vault)"),
    ]  # fmt: skip
    print_targets(targets)
    return targets


def print_advice(connections: int, replicas: int) -> None:
    """What to do when List Secrets is the bottleneck, with this fleet's numbers."""
    burst, refill = ARM_WRITES["burst"], ARM_WRITES["refill_per_second"]
    at_once = burst // connections
    in_deadline = (burst + refill * DEADLINE_S) // connections
    print(
        f"   advice: each replica start costs one ARM write per connection it references ({connections} here);"
    )
    print(
        f"     ARM allows {burst} at once, then {refill}/s per subscription and identity, so {at_once} replicas start"
    )
    print(
        f"     unthrottled and about {in_deadline} fit in one {DEADLINE_S} s deadline ({replicas} asked). When a fleet"
    )
    print(
        "     outgrows that: move hot secrets to Key Vault (4000 Get Secret per 10 s per vault, no ARM write);"
    )
    print("     reference fewer connections per replica (one connection can hold many keys: CustomKeys);")
    print(
        f"     roll out in batches (max_surge) of at most {at_once} replicas; or raise SECRET_INJECTOR_TIMEOUT."
    )


if __name__ == "__main__":
    print(cpu_summary())
    main()
