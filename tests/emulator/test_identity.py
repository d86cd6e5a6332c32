"""The MSI endpoint, driven by the unmodified azure-identity ManagedIdentityCredential and by hand."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CredentialUnavailableError, ManagedIdentityCredential

from injector.emulator import Emulator

from .conftest import ENDPOINT_PID, TENANT, UAI_CLIENT, UAI_PID


def claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_system_assigned_identity_gets_tokens_for_arm_and_key_vault(client_env: Emulator) -> None:
    credential = ManagedIdentityCredential()
    arm = credential.get_token("https://management.azure.com/.default")
    kv = credential.get_token("https://vault.azure.net/.default")
    assert arm.expires_on > time.time() + 3000
    assert claims(arm.token)["oid"] == ENDPOINT_PID
    assert claims(arm.token)["aud"] == "https://management.azure.com"
    assert claims(kv.token)["aud"] == "https://vault.azure.net"
    assert claims(kv.token)["tid"] == TENANT
    assert client_env.stats()["token"] == 2


def test_user_assigned_identity_is_chosen_by_client_id(client_env: Emulator) -> None:
    token = ManagedIdentityCredential(client_id=UAI_CLIENT).get_token("https://vault.azure.net/.default")
    assert claims(token.token)["oid"] == UAI_PID
    assert claims(token.token)["appid"] == UAI_CLIENT
    assert "userAssignedIdentities/uai" in str(claims(token.token)["xms_mirid"])


def test_unknown_client_id_is_refused(client_env: Emulator) -> None:
    credential = ManagedIdentityCredential(client_id="12345678-1234-1234-1234-123456789012")
    with pytest.raises((CredentialUnavailableError, ClientAuthenticationError)):
        credential.get_token("https://vault.azure.net/.default")


def test_each_system_identity_has_its_own_secret(emu: Emulator) -> None:
    env = emu.env("other-deployment")
    assert env["MSI_SECRET"] != emu.msi_secret
    answer = httpx.get(
        env["MSI_ENDPOINT"],
        params={"api-version": "2017-09-01", "resource": "https://vault.azure.net"},
        headers={"secret": env["MSI_SECRET"]},
    )
    assert (
        claims(answer.json()["access_token"])["oid"] == emu.config.identities["other-deployment"].principal_id
    )
    assert emu.env("uai")["UAI_CLIENT_ID"] == UAI_CLIENT


def test_wire_shape_and_errors(emu: Emulator) -> None:
    params = {"api-version": "2017-09-01", "resource": "https://management.core.windows.net/"}
    ok = httpx.get(emu.msi_endpoint, params=params, headers={"secret": emu.msi_secret})
    body = ok.json()
    assert ok.status_code == 200
    assert set(body) >= {"access_token", "expires_on", "expires_in", "resource", "token_type"}
    assert body["token_type"] == "Bearer" and body["resource"] == params["resource"]
    assert int(body["expires_on"]) - int(body["expires_in"]) <= time.time() + 1

    missing = httpx.get(emu.msi_endpoint, params=params)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = httpx.get(emu.msi_endpoint, params=params, headers={"secret": "nope"})
    assert wrong.status_code == 401
    unknown = httpx.get(
        emu.msi_endpoint, params={**params, "clientid": "nope"}, headers={"secret": emu.msi_secret}
    )
    assert unknown.status_code == 400 and "not found" in unknown.json()["error_description"].lower()
    bad_resource = httpx.get(
        emu.msi_endpoint,
        params={**params, "resource": "https://graph.microsoft.com"},
        headers={"secret": emu.msi_secret},
    )
    assert bad_resource.status_code == 400 and bad_resource.json()["error"] == "invalid_resource"
    old_api = httpx.get(
        emu.msi_endpoint, params={**params, "api-version": "2019-08-01"}, headers={"secret": emu.msi_secret}
    )
    assert old_api.status_code == 400
    assert emu.stats()["token"] == 6


def test_integer_expires_on_also_works_with_azure_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from .conftest import make_config

    with Emulator(make_config(msi_expires_on="integer")) as emu:
        raw = httpx.get(
            emu.msi_endpoint,
            params={"api-version": "2017-09-01", "resource": "https://vault.azure.net"},
            headers={"secret": emu.msi_secret},
        ).json()
        assert isinstance(raw["expires_on"], int)
        for name, value in emu.env().items():
            monkeypatch.setenv(name, value)
        assert (
            ManagedIdentityCredential().get_token("https://vault.azure.net/.default").expires_on
            == raw["expires_on"]
        )
