"""Key Vault through the proxy with the unmodified SecretClient (challenge flow, real TLS) and by hand."""

from __future__ import annotations

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from injector.emulator import Emulator

from .conftest import UAI_CLIENT, V1, V2

KV_URL = "https://kv-main.vault.azure.net"


def inner_code(exc: HttpResponseError) -> str:
    assert exc.error is not None
    return str((exc.error.innererror or {}).get("code"))


@pytest.fixture
def client(client_env: Emulator) -> SecretClient:
    return SecretClient(KV_URL, ManagedIdentityCredential(), retry_total=0)


def test_reads_latest_and_versioned_secret(client: SecretClient, client_env: Emulator) -> None:
    latest = client.get_secret("db-password")
    assert latest.value == "new-pass"
    assert latest.properties.version == V2
    assert latest.properties.content_type == "text/plain"
    assert latest.id == f"{KV_URL}/secrets/db-password/{V2}"
    old = client.get_secret("db-password", V1)
    assert old.value == "old-pass"
    stats = client_env.stats()
    assert stats["keyvault.challenge"] == 1  # the SDK caches the challenge for the host
    assert stats["keyvault.get_secret"] == 2
    assert stats["token"] == 1
    assert stats["proxy.connect"] == 1  # one tunnel, kept alive


def test_missing_and_disabled_secrets(client: SecretClient) -> None:
    with pytest.raises(ResourceNotFoundError) as missing:
        client.get_secret("no-such-secret")
    assert missing.value.error is not None and missing.value.error.code == "SecretNotFound"
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("db-password", "ffffffffffffffffffffffffffffffff")
    with pytest.raises(HttpResponseError) as disabled:
        client.get_secret("disabled-one")
    assert disabled.value.status_code == 403 and inner_code(disabled.value) == "SecretDisabled"
    assert "Operation get is not allowed on a disabled secret." in str(disabled.value)


def test_rbac_denial_for_a_principal_without_the_role(client_env: Emulator) -> None:
    uai = SecretClient(KV_URL, ManagedIdentityCredential(client_id=UAI_CLIENT), retry_total=0)
    with pytest.raises(HttpResponseError) as denied:
        uai.get_secret("db-password")
    assert denied.value.status_code == 403 and inner_code(denied.value) == "ForbiddenByRbac"
    assert "Microsoft.KeyVault/vaults/secrets/getSecret/action" in str(denied.value)
    # The uai's role is scoped to one secret only.
    assert uai.get_secret("uai-only").value == "for-the-uai"


def test_firewall_denies_everything(client_env: Emulator) -> None:
    client = SecretClient("https://kv-firewalled.vault.azure.net", ManagedIdentityCredential(), retry_total=0)
    with pytest.raises(HttpResponseError) as blocked:
        client.get_secret("s")
    assert blocked.value.status_code == 403 and inner_code(blocked.value) == "ForbiddenByFirewall"


def test_access_policy_vault(client_env: Emulator) -> None:
    client = SecretClient("https://kv-policies.vault.azure.net", ManagedIdentityCredential(), retry_total=0)
    assert client.get_secret("s").value == "policy-value"
    uai = SecretClient(
        "https://kv-policies.vault.azure.net", ManagedIdentityCredential(client_id=UAI_CLIENT), retry_total=0
    )
    with pytest.raises(HttpResponseError) as denied:
        uai.get_secret("s")
    assert inner_code(denied.value) == "AccessDenied"


def test_unknown_vault_is_a_connection_error(client_env: Emulator) -> None:
    client = SecretClient("https://nosuchvault.vault.azure.net", ManagedIdentityCredential(), retry_total=0)
    with pytest.raises(ServiceRequestError):
        client.get_secret("s")


def test_challenge_and_token_checks_by_hand(client_env: Emulator) -> None:
    with httpx.Client() as http:
        url = f"{KV_URL}/secrets/db-password?api-version=7.4"
        challenge = http.get(url)
        assert challenge.status_code == 401
        assert challenge.headers["WWW-Authenticate"] == (
            f'Bearer authorization="https://login.microsoftonline.com/{client_env.config.tenant_id}", '
            'resource="https://vault.azure.net"'
        )
        arm_token = client_env.token("endpoint", "https://management.azure.com/")
        wrong_audience = http.get(url, headers={"Authorization": f"Bearer {arm_token}"})
        assert wrong_audience.status_code == 401 and "audience" in wrong_audience.text.lower()
        forged = http.get(url, headers={"Authorization": "Bearer a.b.c"})
        assert forged.status_code == 401
        kv_token = client_env.token("endpoint", "https://vault.azure.net")
        no_version = http.get(
            f"{KV_URL}/secrets/db-password", headers={"Authorization": f"Bearer {kv_token}"}
        )
        assert no_version.status_code == 400
        ok = http.get(url, headers={"Authorization": f"Bearer {kv_token}"})
        body = ok.json()
        assert body["value"] == "new-pass"
        assert body["attributes"]["enabled"] is True
        assert body["attributes"]["recoveryLevel"] == "Recoverable+Purgeable"
        assert body["tags"] == {}
        case_insensitive = http.get(
            f"{KV_URL}/secrets/DB-Password/{V1.upper()}?api-version=2025-07-01",
            headers={"Authorization": f"Bearer {kv_token}"},
        )
        assert case_insensitive.json()["value"] == "old-pass"


def test_other_cloud_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.keyvault.secrets._shared import http_challenge_cache

    from .conftest import RG, make_config

    vault_id = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-cn"
    config = make_config(
        vaults=[{"id": vault_id, "cloud": "AzureChinaCloud", "secrets": {"s": "china-value"}}],
        role_assignments=[{"principal": "endpoint", "role": "Key Vault Secrets User", "scope": vault_id}],
    )
    http_challenge_cache.clear()
    with Emulator(config) as emu:
        for name, value in emu.env().items():
            monkeypatch.setenv(name, value)
        with httpx.Client() as http:
            challenge = http.get("https://kv-cn.vault.azure.cn/secrets/s?api-version=7.4")
        assert 'resource="https://vault.azure.cn"' in challenge.headers["WWW-Authenticate"]
        assert "login.chinacloudapi.cn" in challenge.headers["WWW-Authenticate"]
        client = SecretClient("https://kv-cn.vault.azure.cn", ManagedIdentityCredential(), retry_total=0)
        assert client.get_secret("s").value == "china-value"
