"""The public surface: what __all__ lists is exactly what the package exports, and importing it is cheap."""

from __future__ import annotations

import subprocess
import sys

import injector


def test_all_names_resolve_and_nothing_private_is_listed() -> None:
    for name in injector.__all__:
        assert getattr(injector, name) is not None
        assert not name.startswith("_")
    assert sorted(injector.__all__) == injector.__all__


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        injector.nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_injector_loads_neither_pydantic_nor_azure_nor_httpx() -> None:
    code = (
        "import sys, injector, sidecar.cli, sidecar._exec; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'azure', 'pydantic', 'pydantic_settings', 'httpx', 'tenacity', 'argparse'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
