"""What a run produced: per-variable failures and the overall resolution. No value appears in any repr."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._exceptions import InjectorError, ResolutionError

__all__ = ["Failure", "Resolution"]


@dataclass(frozen=True)
class Failure:
    """One variable that could not be resolved, and why."""

    env_var: str
    reference: str  # canonical reference text, or the recognisable fragment of a malformed one
    store: str  # "key vault kv1", "connection openai", or "" when no store was involved
    error: InjectorError

    @property
    def code(self) -> str:
        if isinstance(self.error, ResolutionError):
            return self.error.code
        return type(self.error).__name__


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one environment.

    ``environ`` is the complete new environment (untouched variables included, failed optional ones left out);
    it is kept out of ``repr`` because it holds the resolved values.
    """

    environ: dict[str, str] = field(repr=False)
    resolved: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()  # required variables that failed: the child must not start
    skipped: tuple[Failure, ...] = ()  # optional variables that failed: left out, with a warning
    stores: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    principal_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures
