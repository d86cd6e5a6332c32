"""What the deploy-time helpers import: check must run in the runtime image (no azure-ai-ml, no PyYAML)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import injector.deploy
from tests.deploy.conftest import Cloud
from tests.injector.fakeazure import WORKSPACE_ID


def test_importing_the_package_and_check_loads_no_deploy_only_dependency() -> None:
    code = (
        "import sys, injector.deploy, injector.deploy.preflight, injector.deploy.render;"
        "from injector.deploy import check, CheckReport;"
        "heavy = [m for m in ('azure.ai.ml', 'yaml', 'azure.mgmt') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_check_works_without_azure_ai_ml_and_pyyaml(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("yaml", "azure.ai", "azure.ai.ml"):
        monkeypatch.setitem(sys.modules, name, None)  # an import of it now raises ImportError
    cloud.azure.add_secret("kv1", "db", "value", "0" * 32)
    report = injector.deploy.check(
        {
            "SECRET_INJECTOR_WORKSPACE_ID": WORKSPACE_ID,
            "A": "${{keyvault:https://kv1.vault.azure.net/secrets/db}}",
        },
        resolve_host=lambda host: ["10.1.2.3"],
    )
    assert report.ok


def test_exports() -> None:
    for name in injector.deploy.__all__:
        assert getattr(injector.deploy, name) is not None
    assert (
        callable(injector.deploy.plan) and callable(injector.deploy.grant) and callable(injector.deploy.check)
    )
    with pytest.raises(AttributeError):
        injector.deploy.nope  # noqa: B018
