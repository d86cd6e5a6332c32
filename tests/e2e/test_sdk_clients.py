"""The emulator is faithful to what unmodified clients expect: azure-identity's ManagedIdentityCredential and
azure-keyvault-secrets' SecretClient on their default (requests) transport, and a plain requests/httpx POST to
List Secrets. Each runs in its own process with only the emulator's variables, as a container would."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from injector.emulator import Emulator

from .conftest import (
    DB_V1,
    KV_MAIN,
    KV_TEAM,
    UAI_CLIENT,
    WS,
    Wrapper,
    assert_no_canary,
    connection_value,
    fingerprint,
    secret_value,
)

pytestmark = pytest.mark.e2e

SDK_CLIENT = """
import hashlib, json, sys
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

vault, name, version, client_id = sys.argv[1:5]
credential = ManagedIdentityCredential(client_id=client_id or None)
client = SecretClient(f"https://{vault}.vault.azure.net", credential)
secret = client.get_secret(name, version or None)
print(json.dumps({
    "sha256": hashlib.sha256(secret.value.encode()).hexdigest(),
    "version": secret.properties.version,
    "enabled": secret.properties.enabled,
    # azure-core's default transport, nothing of ours: requests loaded, the httpx transport never imported
    "requests": "requests" in sys.modules,
    "ours": [m for m in sys.modules if m.startswith(("injector", "azure.core.experimental", "httpx"))],
}))
"""

PLAIN_POST = """
import hashlib, json, sys
import httpx, requests
from azure.identity import ManagedIdentityCredential

url = sys.argv[1]
token = ManagedIdentityCredential().get_token("https://management.azure.com/.default").token
headers = {"Authorization": f"Bearer {token}"}
by_requests = requests.post(url, headers=headers, timeout=30)  # proxy and CA from the environment
with httpx.Client(trust_env=True) as http:  # HTTPS_PROXY and SSL_CERT_FILE from the environment
    by_httpx = http.post(url, headers=headers, timeout=30)
anonymous = requests.post(url, timeout=30)

def credential_fingerprints(response):
    credentials = response.json()["properties"]["credentials"]
    return {k: hashlib.sha256(v.encode()).hexdigest() for k, v in credentials.items()}

print(json.dumps({
    "requests": [by_requests.status_code, credential_fingerprints(by_requests)],
    "httpx": [by_httpx.status_code, credential_fingerprints(by_httpx)],
    "anonymous": [anonymous.status_code, anonymous.json()["error"]["code"]],
}))
"""


def run_client(wrapper: Wrapper, source: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", source, *args], env=wrapper.env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_no_canary(proc.stdout, proc.stderr)
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


@pytest.mark.parametrize(
    ("vault_id", "name", "version", "client_id"),
    [
        (KV_MAIN, "db-password", "", ""),  # latest, default identity
        (KV_MAIN, "db-password", DB_V1, ""),  # a pinned version
        (KV_TEAM, "uai-only", "", UAI_CLIENT),  # a user-assigned identity by client id
    ],
    ids=["latest", "pinned-version", "user-assigned"],
)
def test_unmodified_sdk_clients_read_a_secret(
    wrapper: Wrapper, emu: Emulator, vault_id: str, name: str, version: str, client_id: str
) -> None:
    vault = vault_id.rsplit("/", 1)[1]
    report = run_client(wrapper, SDK_CLIENT, vault, name, version, client_id)
    assert report["sha256"] == fingerprint(secret_value(vault_id, name, version or None))
    assert report["enabled"] is True
    assert report["requests"] is True
    assert report["ours"] == []
    if version:
        assert report["version"] == version
    stats = emu.stats()
    assert stats["token"] == 1
    assert stats["keyvault.challenge"] == 1  # the SDK's unauthenticated first request, then the real one
    assert stats["keyvault.get_secret"] == 1


def test_plain_http_clients_post_list_secrets_with_a_token(wrapper: Wrapper, emu: Emulator) -> None:
    url = f"https://management.azure.com{WS}/connections/s3-bucket/listsecrets?api-version=2024-04-01"
    report = run_client(wrapper, PLAIN_POST, url)
    expected = {
        key: fingerprint(connection_value("s3-bucket", f"credentials/{key}"))
        for key in ("accessKeyId", "secretAccessKey")
    }
    assert report["requests"] == [200, expected]
    assert report["httpx"] == [200, expected]
    assert report["anonymous"] == [401, "AuthenticationFailed"]
    assert emu.stats()["arm.listsecrets"] == 3
