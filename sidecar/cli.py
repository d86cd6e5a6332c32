"""``secret-injector``: argv -> the subcommand. The only place that prints errors and picks exit codes."""

from __future__ import annotations

import sys

from . import exitcodes

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~7 ms on every container start
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

PROG = "secret-injector"

EXEC_HELP = """\
Resolve every secret reference in the environment with the managed identity, then replace this process with
COMMAND (same pid: signals and the exit code are the command's). If any required variable fails, print one line
per variable with the fix and exit without starting COMMAND.

exit codes: 3 invalid reference/setting/value, 4 access denied, 5 not found, 6 identity or store unavailable
(deadline), 126 cannot execute, 127 command not found; otherwise COMMAND's own.
settings: SECRET_INJECTOR_WORKSPACE_ID, _CLIENT_ID, _CREDENTIAL, _CLOUD, _TIMEOUT, _CONCURRENCY, _OPTIONAL,
_LOG_FORMAT (see the README)."""


def _parser() -> argparse.ArgumentParser:
    import argparse  # here: the ENTRYPOINT fast path never builds a parser

    parser = argparse.ArgumentParser(
        prog=PROG, description="Azure ML secret references, resolved with the managed identity."
    )
    parser.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "exec",
        help="resolve the environment, then exec COMMAND",
        description=EXEC_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage=f"{PROG} exec [--dry-run] [--timeout SECONDS] -- COMMAND [ARGS...]",
    )
    run.add_argument("--dry-run", action="store_true", help="list variable -> reference; no network, no exec")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="overrides SECRET_INJECTOR_TIMEOUT")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND [ARGS...]")

    sub.add_parser("emulator", help="run the local Azure emulator (see 'emulator --help')", add_help=False)
    from ._deploy_cli import add_parsers  # plan, grant, check

    add_parsers(sub)
    return parser


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:2] == ["exec", "--"] and len(args_list) > 2:
        # The ENTRYPOINT form, on every container start: skip building the argparse parser (~20 ms).
        return _exec(args_list[2:])
    if args_list and args_list[0] == "emulator":
        from injector.emulator.cli import main as emulator_main

        return int(emulator_main(args_list[1:]))
    args = _parser().parse_args(args_list)
    if args.command == "exec":
        command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        return _exec(command, dry_run=args.dry_run, timeout=args.timeout)
    if args.command in ("plan", "grant", "check"):
        from ._deploy_cli import run

        return run(args)
    return exitcodes.USAGE  # pragma: no cover - argparse rejects unknown commands


def _exec(command: list[str], *, dry_run: bool = False, timeout: float | None = None) -> int:
    from injector._exceptions import InjectorError

    from ._exec import ExecFailed, run_exec

    if not command and not dry_run:
        _stderr(f"{PROG} exec: no command given; usage: {PROG} exec [--dry-run] -- COMMAND [ARGS...]")
        return exitcodes.USAGE
    try:
        return run_exec(command, emit=_stderr, dry_run=dry_run, timeout=timeout)
    except ExecFailed as exc:
        _stderr(f"{PROG}: {exc}")
        return exc.code
    except InjectorError as exc:  # a bad setting: nothing was resolved, nothing started
        _stderr(f"{PROG}: {exc}")
        return exitcodes.for_error(exc)
