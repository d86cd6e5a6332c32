"""The exec wrapper: resolve the environment, then replace this process with the command.

With no reference in the environment it execs at once, before pydantic or any Azure SDK is imported. It never
forks: on success the command runs under this process id, so signals and the exit code are the command's own.
"""

from __future__ import annotations

import os

from injector._scan import looks_like_reference

from . import exitcodes

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~7 ms on every container start
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import NoReturn


class ExecFailed(Exception):
    """The command could not be started; ``code`` is 126 or 127."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def run_exec(
    command: Sequence[str],
    *,
    emit: Callable[[str], None],
    dry_run: bool = False,
    timeout: float | None = None,
) -> int:
    """Resolve ``os.environ`` and exec ``command``; returns an exit code only when it must not exec."""
    environ = dict(os.environ)
    if not dry_run and not any(looks_like_reference(v) for v in environ.values()):
        execvpe(command, environ)

    from injector._config import Settings
    from injector._report import render_report
    from injector._resolver import Client, plan

    if timeout is not None:
        environ["SECRET_INJECTOR_TIMEOUT"] = str(timeout)
    _quiet_sdk_logs()
    settings = Settings.from_environ(environ)
    json_lines = settings.log_format == "json"
    if dry_run:
        the_plan = plan(environ, settings)
        for name, template in sorted(the_plan.templates.items()):
            emit(f"{name} -> {template}")
        for failure in the_plan.invalid:
            emit(str(failure.error))
        return exitcodes.for_errors(f.error for f in the_plan.invalid)

    resolution = Client(settings, environ=environ).resolve_detailed(environ)
    for line in render_report(resolution, settings, json_lines=json_lines):
        emit(line)
    if resolution.failures:
        return exitcodes.for_errors(f.error for f in resolution.failures)
    execvpe(command, resolution.environ)


def execvpe(command: Sequence[str], environ: dict[str, str]) -> NoReturn:
    """``os.execve`` after a PATH lookup in the environment the command will get."""
    path = which(command[0], environ.get("PATH", os.defpath))
    if path is None and os.sep in command[0] and os.path.exists(command[0]):
        raise ExecFailed(f"{command[0]}: cannot execute: not an executable file", exitcodes.CANNOT_EXECUTE)
    if path is None:
        raise ExecFailed(
            f"{command[0]}: command not found (PATH={environ.get('PATH', '')})", exitcodes.COMMAND_NOT_FOUND
        )
    try:
        os.execve(path, list(command), environ)
    except OSError as exc:
        raise ExecFailed(f"{command[0]}: cannot execute: {exc.strerror}", exitcodes.CANNOT_EXECUTE) from None


def which(name: str, search_path: str) -> str | None:
    """The executable ``name`` resolves to, as execvp would find it.

    Not shutil.which: importing shutil (fnmatch, re, ...) costs ~5 ms, paid on every container start.
    """
    candidates = (
        [name] if os.sep in name else [os.path.join(d or ".", name) for d in search_path.split(os.pathsep)]
    )
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _quiet_sdk_logs() -> None:
    """The report says what failed and how to fix it; the SDKs' own warnings would only say it again, worse."""
    import logging

    sdk = logging.getLogger("azure")
    sdk.addHandler(logging.NullHandler())
    sdk.propagate = False
