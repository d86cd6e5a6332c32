"""The deployment YAML's ``environment_variables``: read them, find the references, write settings back.

Reading uses PyYAML (the ``deploy`` extra). Writing edits the text in place rather than re-dumping the document,
so the user's comments, ordering and quoting survive; the result is parsed again and checked before it is saved.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._clouds import CLOUDS, Cloud
from .._exceptions import ConfigurationError, InvalidReference
from .._references import Template, parse_value

__all__ = ["References", "find_references", "read_environment", "write_settings"]

KEY = "environment_variables"
_TOP_KEY = re.compile(rf"^{KEY}\s*:(?P<rest>.*)$")
_ENTRY = re.compile(r"^(?P<indent>[ \t]+)(?P<quote>['\"]?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P=quote)\s*:")


@dataclass
class References:
    """The references of one environment: parsed templates by variable, and the malformed ones."""

    templates: dict[str, Template] = field(default_factory=dict)
    invalid: dict[str, InvalidReference] = field(default_factory=dict)


def _load(path: Path) -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - the deploy extra brings it
        raise ConfigurationError(
            "reading a deployment YAML needs PyYAML: pip install 'secret-injector[deploy]'"
        ) from None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def read_environment(path: str | os.PathLike[str]) -> dict[str, str]:
    """The deployment's ``environment_variables`` as strings (an absent section is an empty mapping)."""
    document = _load(Path(path))
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path}: expected a deployment (a YAML mapping) at the top level")
    env = document.get(KEY)
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise ConfigurationError(f"{path}: {KEY} must be a mapping of NAME: value")
    return {str(name): _as_text(value) for name, value in env.items()}


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def find_references(environ: Mapping[str, str], cloud: Cloud = CLOUDS["AzureCloud"]) -> References:
    """Parse every value with the runtime grammar; a malformed one is kept, named, not raised."""
    found = References()
    for name, value in environ.items():
        try:
            template = parse_value(value, cloud)
        except InvalidReference as exc:
            found.invalid[name] = exc.with_env_var(name)
            continue
        if template is not None:
            found.templates[name] = template
    return found


def write_settings(path: str | os.PathLike[str], settings: Mapping[str, str]) -> list[str]:
    """Set ``settings`` in the YAML's ``environment_variables``; returns the names that changed.

    Existing entries are replaced in place, new ones appended to the section (created at the end of the file if
    absent). Comments and the rest of the document are left as they were.
    """
    target = Path(path)
    current = read_environment(target)
    changed = [name for name, value in settings.items() if current.get(name) != value]
    if not changed:
        return []
    text = target.read_bytes().decode("utf-8")  # not read_text: it would turn CRLF into LF
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    updated = _edit(lines, {name: settings[name] for name in changed}, str(target))
    new_text = newline.join(updated) + newline
    _verify(new_text, settings, str(target))
    target.write_bytes(new_text.encode("utf-8"))
    return changed


def _edit(lines: list[str], values: Mapping[str, str], where: str) -> list[str]:
    start = next((i for i, line in enumerate(lines) if _TOP_KEY.match(line)), None)
    if start is None:
        return [*lines, f"{KEY}:", *(f"  {name}: {_scalar(value)}" for name, value in values.items())]
    rest = _TOP_KEY.match(lines[start])["rest"].split("#", 1)[0].strip()  # type: ignore[index]
    if rest == "{}":
        lines = [*lines[:start], f"{KEY}:", *lines[start + 1 :]]
    elif rest:
        raise ConfigurationError(
            f"{where}: {KEY} is written inline; rewrite it as one NAME: value per line, or add "
            + ", ".join(f"{n}: {_scalar(v)}" for n, v in values.items())
            + " by hand"
        )
    # The section runs until the next line that is neither indented, blank, nor a comment.
    end = start + 1
    indent = None
    entries: dict[str, int] = {}
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line[0].isspace() and not line.lstrip().startswith("#"):
            break
        if (match := _ENTRY.match(line)) is not None and (indent is None or match["indent"] == indent):
            indent = match["indent"]
            entries[match["name"]] = end
        end += 1
    indent = indent or "  "
    last = max(entries.values(), default=start)
    result = list(lines)
    additions = []
    for name, value in values.items():
        if name in entries:
            row = entries[name]
            result[row] = f"{indent}{name}: {_scalar(value)}{_trailing_comment(result[row])}"
        else:
            additions.append(f"{name}: {_scalar(value)}")
    if additions and entries and _continues(result, last, indent):
        raise ConfigurationError(
            f"{where}: the last entry of {KEY} spans several lines; add {', '.join(additions)} by hand"
        )
    return result[: last + 1] + [indent + entry for entry in additions] + result[last + 1 :]


def _continues(lines: list[str], row: int, indent: str) -> bool:
    """Whether the entry on ``row`` continues on the next line (a block scalar or a nested mapping)."""
    following = lines[row + 1] if row + 1 < len(lines) else ""
    return bool(following.strip()) and len(following) - len(following.lstrip()) > len(indent)


def _trailing_comment(line: str) -> str:
    match = re.search(r"\s+#[^'\"]*$", line)
    return match.group(0) if match else ""


def _scalar(value: str) -> str:
    """A YAML double-quoted scalar: JSON strings are valid YAML, and quoting keeps ids and GUIDs strings."""
    return json.dumps(value)


def _verify(text: str, settings: Mapping[str, str], where: str) -> None:
    import yaml

    try:
        document = yaml.safe_load(text)
        env = document.get(KEY) if isinstance(document, dict) else None
    except yaml.YAMLError:
        env = None
    if not isinstance(env, dict) or any(_as_text(env.get(n)) != v for n, v in settings.items()):
        raise ConfigurationError(
            f"{where}: could not add the settings safely; add them to {KEY} by hand: "
            + ", ".join(f"{n}: {_scalar(v)}" for n, v in settings.items())
        )
