"""A running emulator for the module's tests, and the environment that points real SDK clients at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from injector.emulator import Emulator

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "00000000-0000-0000-0000-00000000aaaa"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-ml"
WS = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/ws-main"
KV = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-main"
KV_FW = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-firewalled"
KV_AP = f"{RG}/providers/Microsoft.KeyVault/vaults/kv-policies"
V1 = "0123456789abcdef0123456789abcdef"
V2 = "fedcba9876543210fedcba9876543210"
V3 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

ENDPOINT_PID = "11111111-2222-3333-4444-555555555555"
UAI_CLIENT = "99999999-8888-7777-6666-555555555555"
UAI_PID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

CONNECTIONS: dict[str, dict[str, Any]] = {
    "c-apikey": {
        "auth_type": "ApiKey",
        "category": "AzureOpenAI",
        "target": "https://oai.example/",
        "metadata": {"ApiVersion": "2024-02-01", "ApiType": "azure"},
        "credentials": {"key": "k-api"},
    },
    "c-custom": {
        "auth_type": "CustomKeys",
        "category": "CustomKeys",
        "target": "_",
        "credentials": {"keys": {"OPENAI_API_KEY": "sk-1", "OTHER": "o-2"}},
    },
    "c-access": {
        "auth_type": "AccessKey",
        "category": "S3",
        "target": "s3://b",
        "credentials": {"accessKeyId": "AKIA", "secretAccessKey": "s3cr3t"},
    },
    "c-account": {
        "auth_type": "AccountKey",
        "category": "AzureBlob",
        "target": "https://acct.blob.core.windows.net",
        "credentials": {"key": "acct-key"},
    },
    "c-sp": {
        "auth_type": "ServicePrincipal",
        "category": "ADLSGen2",
        "target": "https://x.dfs.core.windows.net",
        "credentials": {"clientId": "cid", "clientSecret": "csecret", "tenantId": TENANT},
    },
    "c-userpass": {
        "auth_type": "UsernamePassword",
        "category": "Snowflake",
        "target": "jdbc:x",
        "credentials": {"username": "u", "password": "p", "securityToken": "t"},
    },
    "c-sas": {
        "auth_type": "SAS",
        "category": "AzureBlob",
        "target": "https://a.blob.core.windows.net",
        "credentials": {"sas": "sv=2020&sig=abc"},
    },
    "c-pat": {
        "auth_type": "PAT",
        "category": "Git",
        "target": "https://github.com/x/y",
        "credentials": {"pat": "ghp"},
    },
    "c-mi": {
        "auth_type": "ManagedIdentity",
        "category": "AzureBlob",
        "target": "https://a.blob.core.windows.net",
        "credentials": {"resourceId": "/subscriptions/x/uai", "clientId": UAI_CLIENT},
    },
    "c-oauth": {
        "auth_type": "OAuth2",
        "category": "Salesforce",
        "target": "https://sf.example",
        "credentials": {
            "authUrl": "https://sf.example/auth",
            "clientId": "c",
            "clientSecret": "s",
            "refreshToken": "r",
            "tenantId": "t",
            "username": "u",
            "password": "p",
            "developerToken": "d",
        },
    },
    "c-aad": {"auth_type": "AAD", "category": "AzureOpenAI", "target": "https://oai.example/"},
    "c-none": {"auth_type": "None", "category": "CustomKeys", "target": "https://public.example/"},
}


def make_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "tenant_id": TENANT,
        "msi_secret": "test-msi-secret",
        "identities": {
            "endpoint": {"type": "system_assigned", "principal_id": ENDPOINT_PID, "default": True},
            "uai": {"type": "user_assigned", "principal_id": UAI_PID, "client_id": UAI_CLIENT},
            "deployer": {"type": "user_assigned"},
            "admin": {"type": "user_assigned"},
            "stranger": {"type": "user_assigned"},
            "other-deployment": {"type": "system_assigned"},
        },
        "workspaces": [
            {
                "id": WS,
                "location": "westeurope",
                "key_vault": KV,
                "managed_network": {
                    "isolation_mode": "allow_only_approved_outbound",
                    "status": "Active",
                    "outbound_rules": {
                        "pe-kv-main": {
                            "type": "PrivateEndpoint",
                            "destination": {
                                "serviceResourceId": KV,
                                "subresourceTarget": "vault",
                                "sparkEnabled": False,
                            },
                        },
                    },
                },
                "connections": CONNECTIONS,
                "online_endpoints": {
                    "ep-system": {
                        "identity": {"type": "system_assigned", "principal_id": "endpoint"},
                        "properties": {"enforce_access_to_default_secret_stores": "enabled"},
                    },
                    "ep-user": {"identity": {"type": "user_assigned", "user_assigned_identities": ["uai"]}},
                },
            }
        ],
        "vaults": [
            {
                "id": KV,
                "location": "westeurope",
                "secrets": {
                    "db-password": [
                        {"version": V1, "value": "old-pass"},
                        {"version": V2, "value": "new-pass", "content_type": "text/plain"},
                    ],
                    "disabled-one": [{"version": V3, "value": "nope", "enabled": False}],
                    "uai-only": [{"value": "for-the-uai"}],
                },
            },
            {"id": KV_FW, "firewall": True, "secrets": {"s": [{"value": "v"}]}},
            {
                "id": KV_AP,
                "enable_rbac_authorization": False,
                "access_policies": [{"principal": "endpoint", "secrets": ["get", "list"]}],
                "secrets": {"s": [{"value": "policy-value"}]},
            },
        ],
        "role_assignments": [
            {"principal": "endpoint", "role": "Key Vault Secrets User", "scope": KV},
            {"principal": "endpoint", "role": "Key Vault Secrets User", "scope": KV_FW},
            {
                "principal": "uai",
                "role": "4633458b-17de-408a-b874-0445c86b69e6",
                "scope": f"{KV}/secrets/uai-only",
            },
            {"principal": "deployer", "role": "Owner", "scope": f"/subscriptions/{SUB}"},
            {"principal": "admin", "role": "Role Based Access Control Administrator", "scope": RG},
            {"principal": "stranger", "role": "Reader", "scope": WS},
        ],
        "rate_limits": {"arm_writes": None, "arm_reads": None, "keyvault": None},
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(make_config()) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    """The module's emulator with fresh counters and no faults for each test."""
    emulator.reset()
    emulator.set_faults([])
    yield emulator
    emulator.set_faults([])


@pytest.fixture
def client_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Point this process's Azure SDK and httpx clients at the emulator (default identity)."""
    from azure.keyvault.secrets._shared import http_challenge_cache

    http_challenge_cache.clear()
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    return emu
