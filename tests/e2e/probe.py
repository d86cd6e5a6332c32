"""The scoring server's stand-in for the end-to-end tests: reports what it was given, never a value.

It prints one JSON line, ``{"pid", "vars": {NAME: {"sha256", "json_sha256"} | null}}``, where ``json_sha256`` is
the fingerprint of the value re-serialized canonically when the value is JSON. Then it optionally stays up (for
pid, process and signal checks) and exits with the code it was asked for.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def describe(value: str | None) -> dict[str, str | None] | None:
    if value is None:
        return None
    try:
        canonical: str | None = json.dumps(json.loads(value), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = None
    return {"sha256": fingerprint(value), "json_sha256": fingerprint(canonical) if canonical else None}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", default="", help="comma-separated variable names to fingerprint")
    parser.add_argument("--code", type=int, default=0, help="exit code")
    parser.add_argument("--started", type=Path, help="a file to create first thing (proof the child ran)")
    parser.add_argument("--on-term", type=Path, help="on SIGTERM, write this file and exit 0")
    parser.add_argument("--stay", type=float, default=0.0, help="seconds to stay up after reporting")
    args = parser.parse_args()

    if args.started:
        args.started.write_text(str(os.getpid()))
    if args.on_term:

        def on_term(signum: int, frame: FrameType | None) -> None:
            args.on_term.write_text(f"SIGTERM in {os.getpid()}")
            sys.exit(0)

        signal.signal(signal.SIGTERM, on_term)
    names = [n for n in args.show.split(",") if n]
    report = {"pid": os.getpid(), "vars": {n: describe(os.environ.get(n)) for n in names}}
    print(json.dumps(report), flush=True)
    end = time.monotonic() + args.stay
    while time.monotonic() < end:
        time.sleep(0.05)
    return int(args.code)


if __name__ == "__main__":
    sys.exit(main())
