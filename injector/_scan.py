"""The cheapest possible question, asked of every variable on the exec fast path: could this be a reference?

Kept apart from the grammar so that answering it imports nothing (not even ``re``) when the answer is no.
"""

from __future__ import annotations

OPEN = "${{"


TYPE_CHECKING = False  # importing typing is not free on the exec fast path
if TYPE_CHECKING:
    import re

_NEAR_MISS: list[re.Pattern[str]] = []


def _near_miss() -> re.Pattern[str]:
    if not _NEAR_MISS:
        import re

        # `${keyvault:...}` or `{{azureml:...}}`: a reference with a missing `$` or brace.
        _NEAR_MISS.append(
            re.compile(r"\$\{\s*(?:azureml|keyvault):|(?<!\$)\{\{\s*(?:azureml|keyvault):", re.I)
        )
    return _NEAR_MISS[0]


def looks_like_reference(value: str) -> bool:
    """True when ``value`` contains, or nearly contains, a secret reference."""
    if OPEN in value:
        return True
    if "${" not in value and "{{" not in value:
        return False
    return _near_miss().search(value) is not None


def near_miss(value: str) -> int | None:
    """Where a malformed reference opening starts in ``value``, or None."""
    match = _near_miss().search(value)
    return match.start() if match else None
