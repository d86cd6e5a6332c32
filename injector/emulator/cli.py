"""``secret-injector emulator`` / ``python -m injector.emulator``: run the emulator in the foreground.

Prints ``export NAME=value`` lines (``--print-env``, or ``--env-file``) once it is listening, a one-line banner
to stderr, and stops cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from .config import ConfigError
from .emulator import Emulator

__all__ = ["build_parser", "main"]


def build_parser(prog: str = "secret-injector emulator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a local fake of Azure's MSI endpoint, ARM and Key Vault behind an HTTPS proxy on 127.0.0.1.",
    )
    parser.add_argument("--config", required=True, type=Path, help="the emulator's YAML configuration")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument(
        "--state-dir", type=Path, help="where the CA and certificates live (default: a temp dir)"
    )
    parser.add_argument("--identity", help="the identity whose MSI variables --print-env/--env-file give")
    parser.add_argument("--print-env", action="store_true", help="print `export NAME=value` lines to stdout")
    parser.add_argument("--env-file", type=Path, help="write the `export` lines to this file once listening")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    return parser


def _exports(env: dict[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="emulator: %(message)s"
    )
    try:
        emulator = Emulator(args.config, host=args.host, port=args.port, state_dir=args.state_dir)
    except ConfigError as exc:
        print(f"emulator: config error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        emulator.start()
    except OSError as exc:
        print(f"emulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        try:
            env = emulator.env(args.identity)
        except KeyError as exc:
            print(f"emulator: {exc.args[0]}", file=sys.stderr)
            return 2
        exports = _exports(env)
        if args.env_file:
            tmp = args.env_file.with_name(args.env_file.name + ".tmp")
            tmp.write_text(exports, encoding="utf-8")
            os.replace(tmp, args.env_file)
        if args.print_env:
            sys.stdout.write(exports)
            sys.stdout.flush()
        print(
            f"emulator: listening on {emulator.proxy_url} (HTTPS proxy + MSI at {emulator.msi_endpoint}); "
            f"CA {emulator.ca_file}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        stop.wait()
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
