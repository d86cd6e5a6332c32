"""Table 1: the cost of the wrapper when there is nothing to resolve (every container start pays it).

Runs `secret-injector exec -- true` and `true` alternately, N times each, and proves from `-X importtime` that
no Azure SDK, pydantic or httpx module is imported on this path.
"""

from __future__ import annotations

import subprocess
import sys

from ._util import base_env, median_ms, table, time_command, wrapper_command

HEAVY = ("azure", "pydantic", "pydantic_settings", "httpx", "tenacity", "msal")


def imported_modules() -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sidecar", "exec", "--", "true"],
        env=base_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }


def main(runs: int = 40) -> dict[str, float]:
    env = base_env(APP_SETTING="plain value", OTHER="x" * 100)
    wrapper = [*wrapper_command(), "exec", "--", "true"]
    module = [sys.executable, "-m", "sidecar", "exec", "--", "true"]
    samples: dict[str, list[float]] = {"true": [], "wrapper": [], "module": []}
    for _ in range(3):  # warm the page cache
        time_command(wrapper, env)
    for _ in range(runs):
        samples["true"].append(time_command(["true"], env))
        samples["wrapper"].append(time_command(wrapper, env))
        samples["module"].append(time_command(module, env))
    heavy = sorted(m for m in imported_modules() if m.split(".")[0] in HEAVY)
    base = median_ms(samples["true"])
    rows = [
        ["true (direct)", base, 0.0],
        ["secret-injector exec -- true", median_ms(samples["wrapper"]), median_ms(samples["wrapper"]) - base],
        ["python -m sidecar exec -- true", median_ms(samples["module"]), median_ms(samples["module"]) - base],
    ]
    print(
        table(f"1. Passthrough, no references (median of {runs} runs)", ["command", "ms", "added ms"], rows)
    )
    print(f"   target: at most 50 ms added; Azure SDK/pydantic/httpx modules imported: {heavy or 'none'}")
    return {"added_ms": median_ms(samples["wrapper"]) - base, "heavy_modules": float(len(heavy))}


if __name__ == "__main__":
    main()
