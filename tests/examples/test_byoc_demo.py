"""The README's main command: the BYOC demo, run as a user runs it, must pass all its own checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DEMO = Path(__file__).resolve().parents[2] / "examples" / "byoc" / "demo.py"


def test_the_demo_scores_a_request_then_shows_a_missing_role() -> None:
    pytest.importorskip("azureml_inference_server_http")
    result = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=300, check=False
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "FAILED" not in out and "every check held" in out
    # the table of fingerprints: seven secrets arrived, the optional one is left out
    assert out.count("  yes") == 8
    assert "FEATURE_FLAGS_TOKEN  (not set)" in out
    # one token per audience and one request per unique secret, as the emulator counted them
    assert (
        "arm.listsecrets        3" in out
        and "keyvault.get_secret    3" in out
        and "token                  2" in out
    )
    assert "the wrapper exited 4 (4: access denied)" in out
    assert "demo-" not in out  # the demo's secret values all start with "demo-"


def test_the_example_secrets_are_recognisable_as_demo_values() -> None:
    """The leak assertion above relies on every secret in emulator.yml starting with 'demo-'."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((DEMO.parent / "emulator.yml").read_text())
    workspace = config["workspaces"][0]
    values = [
        workspace["connections"]["openai-conn"]["credentials"]["key"],
        workspace["connections"]["search-conn"]["credentials"]["key"],
        *workspace["connections"]["custom-keys"]["credentials"]["keys"].values(),
        *(v["value"] for v in config["vaults"][0]["secrets"]["db-password"]),
    ]
    assert values and all(v.startswith("demo-") for v in values)
