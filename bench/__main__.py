"""`python -m bench` (what `make bench` runs): the four tables in order, then every target, PASS or MISS."""

from __future__ import annotations

import time

from . import cold, fleet, growth, passthrough
from ._util import Target, cpu_summary

PASSTHROUGH_MAX_MS = 50


def passthrough_targets(result: dict[str, float]) -> list[Target]:
    """Table 1 prints its own figures; its targets, as the other tables return theirs."""
    added, heavy = result["added_ms"], int(result["heavy_modules"])
    return [
        Target("1", f"at most {PASSTHROUGH_MAX_MS} ms added", added <= PASSTHROUGH_MAX_MS, f"{added:.1f} ms"),
        Target("1", "no Azure SDK, pydantic or httpx import", heavy == 0, f"{heavy} heavy modules imported"),
    ]


def main() -> None:
    print(cpu_summary())
    started = time.perf_counter()
    targets = passthrough_targets(passthrough.main())
    targets += cold.main()
    targets += growth.main()
    targets += fleet.main()
    met = sum(t.passed for t in targets)
    print(f"\nSummary: {met} of {len(targets)} targets met ({time.perf_counter() - started:.0f} s)")
    for target in targets:
        print(
            f"   [{'PASS' if target.passed else 'MISS'}] table {target.table}: {target.name}: {target.measured}"
        )


if __name__ == "__main__":
    main()
