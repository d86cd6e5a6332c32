"""The deploy-time subcommands ``plan``, ``grant`` and ``check``: their arguments, output and exit codes.

Imported only when the parser is built (never on the ``exec --`` fast path); the helpers themselves
(``injector.deploy``) are imported when a subcommand runs.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from . import exitcodes

if TYPE_CHECKING:
    import argparse

__all__ = ["add_parsers", "run"]

COMMANDS = ("plan", "grant", "check")

_EXIT = """\
exit codes: 0 ok, 3 invalid reference/setting or a workspace/vault set up wrong, 4 access denied, 5 not found,
6 identity or service unavailable."""

PLAN_HELP = f"""\
Read the deployment YAML's environment_variables, find every secret reference, read the endpoint's identity
(azure-ai-ml) and print the role assignments the references need at the narrowest scope, the managed network
changes, and the settings the deployment must carry. Reads only; --write adds the settings to the YAML.
{_EXIT}"""

GRANT_HELP = f"""\
Apply the plan idempotently: create the missing role assignments (deterministic names, principal type
ServicePrincipal), report those already present, change nothing on a rerun. --dry-run prints the equivalent
'az role assignment create' commands instead; --apply-network also adds the private-endpoint outbound rules.
{_EXIT}"""

CHECK_HELP = f"""\
Preflight inside the container, with the deployment's own identity and SECRET_INJECTOR_* settings: for every
reference check the syntax, a token per audience, the DNS answer for each vault, the identity's effective
permissions, and a real read (the value is never shown). Exits non-zero on any problem.
{_EXIT}"""


def add_parsers(sub: Any) -> None:
    """Register the three subcommands on ``sub`` (the main parser's subparsers)."""
    import argparse

    raw = argparse.RawDescriptionHelpFormatter
    for name, help_text, description in (
        ("plan", "print the role assignments and settings a deployment needs", PLAN_HELP),
        ("grant", "create the role assignments a deployment needs (idempotent)", GRANT_HELP),
    ):
        parser = sub.add_parser(name, help=help_text, description=description, formatter_class=raw)
        parser.add_argument("--deployment", required=True, metavar="YAML", help="the deployment YAML")
        parser.add_argument("--endpoint", required=True, metavar="NAME", help="the online endpoint's name")
        parser.add_argument(
            "--workspace-id",
            metavar="ID",
            help="the workspace's ARM id (default: SECRET_INJECTOR_WORKSPACE_ID in the deployment)",
        )
        parser.add_argument(
            "--scope",
            choices=("vault", "secret"),
            default="vault",
            help="grant Key Vault Secrets User per vault (default) or per secret",
        )
        parser.add_argument(
            "--credential",
            choices=("developer", "managed"),
            default="developer",
            help="who you are: developer = Azure CLI and friends (default), managed = this machine's identity",
        )
        parser.add_argument(
            "--client-id", metavar="ID", help="the user-assigned identity the container uses, if several"
        )
        parser.add_argument(
            "--cloud", choices=("AzureCloud", "AzureChinaCloud", "AzureUSGovernment"), default="AzureCloud"
        )
        parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS")
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        if name == "plan":
            parser.add_argument(
                "--write", action="store_true", help="add the missing settings to the deployment YAML"
            )
        else:
            parser.add_argument("--dry-run", action="store_true", help="print az commands; change nothing")
            parser.add_argument(
                "--apply-network",
                action="store_true",
                help="add the private-endpoint outbound rules the managed network needs",
            )
    check = sub.add_parser(
        "check",
        help="preflight the references with this container's identity",
        description=CHECK_HELP,
        formatter_class=raw,
    )
    check.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    """Run one deploy-time subcommand; the return value is the exit code."""
    from injector._exceptions import InjectorError

    try:
        if args.command == "check":
            return _check(args)
        return _plan_or_grant(args)
    except InjectorError as exc:
        _err(f"secret-injector {args.command}: {exc}")
        return exitcodes.for_error(exc)


def _plan_or_grant(args: argparse.Namespace) -> int:
    from injector.deploy.deployer import Deployer
    from injector.deploy.render import render_commands, render_grant, render_plan

    with Deployer(args.credential, cloud=args.cloud, timeout=args.timeout) as deployer:
        plan = deployer.plan(
            args.deployment,
            endpoint=args.endpoint,
            workspace_id=args.workspace_id,
            scope=args.scope,
            client_id=args.client_id,
        )
        if args.command == "plan":
            written: list[str] = []
            if args.write and plan.settings_to_write:
                from injector.deploy.yaml_env import write_settings

                written = write_settings(args.deployment, plan.settings_to_write)
            if args.json:
                _out(json.dumps({**plan.to_dict(), "written": written}, indent=2))
            else:
                _lines(render_plan(plan))
                if written:
                    _out(f"wrote {', '.join(written)} to {args.deployment}")
            return exitcodes.for_errors(plan.errors)
        report = deployer.grant(plan, dry_run=args.dry_run, apply_network=args.apply_network)
    if args.json:
        _out(json.dumps(report.to_dict(), indent=2))
    elif args.dry_run:
        _lines(render_commands(report))
    else:
        _lines(render_grant(report))
    return exitcodes.for_errors(report.errors)


def _check(args: argparse.Namespace) -> int:
    from injector.deploy.preflight import check
    from injector.deploy.render import render_check

    report = check()
    if args.json:
        _out(json.dumps(report.to_dict(), indent=2))
    else:
        _lines(render_check(report))
    return exitcodes.for_errors(report.errors)


def _lines(lines: Any) -> None:
    for line in lines:
        _out(line)


def _out(text: str) -> None:
    print(text.rstrip(), flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
