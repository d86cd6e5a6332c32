"""The one-call API: build a default Client from the environment and delegate to it."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ._resolver import Client
from ._scan import looks_like_reference

__all__ = ["inject", "resolve", "resolve_environ"]


def resolve_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` (default ``os.environ``) with every secret reference resolved.

    Settings (``SECRET_INJECTOR_*``) are read from ``os.environ`` overlaid with ``environ``. Raises
    ``ResolutionFailed`` (with one ``Failure`` per variable) if a required variable fails; variables named in
    ``SECRET_INJECTOR_OPTIONAL`` are left out instead.
    """
    environ = os.environ if environ is None else environ
    return Client(environ={**os.environ, **environ}).resolve_environ(environ)


def resolve(text: str) -> str:
    """``text`` with its secret references resolved, e.g. ``resolve("${{azureml://connections/x/target}}")``."""
    return Client().resolve(text)


def inject() -> list[str]:
    """Resolve ``os.environ`` in place (for ``init()`` in score.py); returns the names it changed.

    Nothing is changed unless every required variable resolves: on failure ``ResolutionFailed`` is raised and
    ``os.environ`` is as it was.
    """
    current = dict(os.environ)
    if not any(looks_like_reference(v) for v in current.values()):
        return []  # the wrapper (or the platform) already did it: stay cheap
    new = Client(environ=current).resolve_environ(current)
    changed = [name for name, value in new.items() if current.get(name) != value]
    for name in set(current) - set(new):  # failed optional variables are left out
        del os.environ[name]
    for name in changed:
        os.environ[name] = new[name]
    return sorted(changed + [n for n in current if n not in new])
