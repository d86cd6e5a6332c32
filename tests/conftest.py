"""Shared fixtures: every test starts from an environment with no Azure, proxy or injector variables."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import respx

from tests.injector.fakeazure import MSI_ENDPOINT, MSI_SECRET, WORKSPACE_ID, FakeAzure

SCRUBBED_PREFIXES = ("SECRET_INJECTOR_", "AZUREML_ARM_", "MSI_", "IDENTITY_", "AZURE_", "IMDS_")
SCRUBBED = {
    "UAI_CLIENT_ID",
    "DEFAULT_IDENTITY_CLIENT_ID",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name in SCRUBBED or name.startswith(SCRUBBED_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzure]:
    """The fake services, wired with respx; the managed identity variables point at its MSI endpoint."""
    from azure.keyvault.secrets._shared import http_challenge_cache

    http_challenge_cache.clear()  # the SDK caches challenges per host for the whole process
    monkeypatch.setenv("MSI_ENDPOINT", MSI_ENDPOINT)
    monkeypatch.setenv("MSI_SECRET", MSI_SECRET)
    monkeypatch.setenv("SECRET_INJECTOR_WORKSPACE_ID", WORKSPACE_ID)
    fake = FakeAzure()
    with respx.mock(assert_all_called=False) as router:
        fake.install(router)
        yield fake
