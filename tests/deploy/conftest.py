"""Fixtures for the deploy-time helpers: the respx fakes of ARM and of the runtime's three services."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import respx
from azure.core.credentials import AccessToken

from tests.deploy.fakearm import DEPLOYER_ID, FakeArm
from tests.injector.fakeazure import MSI_ENDPOINT, MSI_SECRET, FakeAzure, make_token


class DeployerCredential:
    """The deployer's credential (Owner on the subscription in FakeArm), without any token endpoint."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(
            make_token(scopes[0].removesuffix("/.default"), DEPLOYER_ID), int(time.time()) + 3600
        )


@dataclass
class Cloud:
    arm: FakeArm
    azure: FakeAzure


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    from azure.keyvault.secrets._shared import http_challenge_cache

    http_challenge_cache.clear()
    monkeypatch.setenv("MSI_ENDPOINT", MSI_ENDPOINT)
    monkeypatch.setenv("MSI_SECRET", MSI_SECRET)
    fakes = Cloud(FakeArm(), FakeAzure())
    with respx.mock(assert_all_called=False) as router:
        fakes.azure.install(router)
        fakes.arm.install(router)
        yield fakes


@pytest.fixture
def deployer_credential() -> DeployerCredential:
    return DeployerCredential()


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may ask the system resolver about an Azure host name (that would leave 127.0.0.1)."""

    def refuse(host: str) -> list[str]:
        raise AssertionError(f"a test tried a real DNS lookup of {host}")

    monkeypatch.setattr("injector.deploy.preflight._system_resolver", refuse)
