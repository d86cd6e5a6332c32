"""ARM through the proxy with httpx (trust_env): List Secrets, reads, RBAC, permissions, role assignments."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from injector.emulator import Emulator

from .conftest import CONNECTIONS, ENDPOINT_PID, KV, RG, SUB, UAI_CLIENT, UAI_PID, WS

ARM = "https://management.azure.com"
API = {"api-version": "2024-04-01"}
RBAC_API = {"api-version": "2022-04-01"}
KV_USER = "4633458b-17de-408a-b874-0445c86b69e6"
CONN_READER = "ea01e6af-a1c1-4350-9563-ad00f8c72ec5"


@pytest.fixture
def arm(client_env: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ARM) as http:
        yield http


def auth(
    emu: Emulator, identity: str = "endpoint", resource: str = "https://management.azure.com/"
) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.token(identity, resource)}"}


def wire_credentials(spec: dict[str, Any]) -> Any:
    return spec.get("credentials")


@pytest.mark.parametrize("name", sorted(CONNECTIONS))
def test_list_secrets_for_every_auth_type(arm: httpx.Client, client_env: Emulator, name: str) -> None:
    answer = arm.post(f"{WS}/connections/{name}/listsecrets", params=API, headers=auth(client_env))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    spec = CONNECTIONS[name]
    assert body["id"] == f"{WS}/connections/{name}" and body["name"] == name
    assert body["type"] == "Microsoft.MachineLearningServices/workspaces/connections"
    props = body["properties"]
    assert props["authType"] == spec["auth_type"]
    assert props["category"] == spec["category"] and props["target"] == spec["target"]
    assert props["metadata"] == spec.get("metadata", {})
    assert props["isSharedToAll"] is False and "expiryTime" in props
    assert props.get("credentials") == wire_credentials(spec)
    assert "systemData" in body


def test_list_secrets_needs_a_role(arm: httpx.Client, client_env: Emulator) -> None:
    answer = arm.post(f"{WS}/connections/c-apikey/listsecrets", params=API, headers=auth(client_env, "uai"))
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert error["message"] == (
        f"The client '{UAI_CLIENT}' with object id '{UAI_PID}' does not have authorization to perform action "
        "'Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action' over scope "
        f"'{WS}/connections/c-apikey' or the scope is invalid. If access was recently granted, please refresh your "
        "credentials."
    )


def test_list_secrets_errors(arm: httpx.Client, client_env: Emulator) -> None:
    headers = auth(client_env)
    missing = arm.post(f"{WS}/connections/nope-conn/listsecrets", params=API, headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "UserError"
    assert missing.json()["error"]["innerError"]["code"] == "NotFoundError"
    other_ws = WS.replace("ws-main", "ws-other")
    assert (
        arm.post(f"{other_ws}/connections/c-apikey/listsecrets", params=API, headers=headers).status_code
        == 403
    )
    old = arm.post(
        f"{WS}/connections/c-apikey/listsecrets", params={"api-version": "2023-10-01"}, headers=headers
    )
    assert old.status_code == 400
    newer = arm.post(
        f"{WS}/connections/c-apikey/listsecrets", params={"api-version": "2025-04-01"}, headers=headers
    )
    assert newer.status_code == 200
    no_version = arm.post(f"{WS}/connections/c-apikey/listsecrets", headers=headers)
    assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    no_token = arm.post(f"{WS}/connections/c-apikey/listsecrets", params=API)
    assert no_token.status_code == 401
    kv_token = arm.post(
        f"{WS}/connections/c-apikey/listsecrets",
        params=API,
        headers=auth(client_env, resource="https://vault.azure.net"),
    )
    assert kv_token.status_code == 401
    assert kv_token.json()["error"]["code"].startswith("InvalidAuthenticationToken")


def test_workspace_endpoint_and_outbound_rules(arm: httpx.Client, client_env: Emulator) -> None:
    headers = auth(client_env, "deployer")
    ws = arm.get(WS, params={"api-version": "2024-10-01"}, headers=headers).json()
    net = ws["properties"]["managedNetwork"]
    assert net["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert net["status"]["status"] == "Active"
    assert net["outboundRules"]["pe-kv-main"]["destination"]["serviceResourceId"] == KV
    assert ws["properties"]["keyVault"] == KV and ws["properties"]["v1LegacyMode"] is False

    ep = arm.get(f"{WS}/onlineEndpoints/ep-system", params=API, headers=headers).json()
    assert ep["identity"]["type"] == "SystemAssigned" and ep["identity"]["principalId"] == ENDPOINT_PID
    assert ep["properties"]["properties"]["enforce_access_to_default_secret_stores"] == "enabled"
    user = arm.get(f"{WS}/onlineEndpoints/ep-user", params=API, headers=headers).json()
    (uai,) = user["identity"]["userAssignedIdentities"].values()
    assert uai == {"principalId": UAI_PID, "clientId": UAI_CLIENT}

    rule = {
        "properties": {
            "type": "PrivateEndpoint",
            "category": "UserDefined",
            "destination": {
                "serviceResourceId": f"{RG}/providers/Microsoft.KeyVault/vaults/kv-other",
                "subresourceTarget": "vault",
                "sparkEnabled": False,
            },
        }
    }
    created = arm.put(f"{WS}/outboundRules/pe-kv-other", params=API, headers=headers, json=rule)
    assert created.status_code in (200, 201) and created.json()["properties"]["status"] == "Active"
    listed = arm.get(f"{WS}/outboundRules", params=API, headers=headers).json()["value"]
    assert {r["name"] for r in listed} >= {"pe-kv-main", "pe-kv-other"}
    one = arm.get(f"{WS}/outboundRules/pe-kv-other", params=API, headers=headers)
    assert one.json()["properties"]["destination"]["subresourceTarget"] == "vault"
    assert arm.delete(f"{WS}/outboundRules/pe-kv-other", params=API, headers=headers).status_code == 200
    assert arm.get(f"{WS}/outboundRules/pe-kv-other", params=API, headers=headers).status_code == 404
    # Reads need a role too: the endpoint identity only has the connections role on the workspace.
    assert arm.get(WS, params=API, headers=auth(client_env, "uai")).status_code == 403


def test_vault_lookups(arm: httpx.Client, client_env: Emulator) -> None:
    headers = auth(client_env, "deployer")
    vault = arm.get(KV, params={"api-version": "2023-07-01"}, headers=headers).json()
    assert vault["properties"]["enableRbacAuthorization"] is True
    assert vault["properties"]["vaultUri"] == "https://kv-main.vault.azure.net/"
    assert vault["properties"]["networkAcls"]["defaultAction"] == "Allow"
    listed = arm.get(
        f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults",
        params={"api-version": "2023-07-01"},
        headers=headers,
    ).json()["value"]
    assert {v["name"] for v in listed} == {"kv-main", "kv-firewalled", "kv-policies"}
    found = arm.get(
        f"/subscriptions/{SUB}/resources",
        headers=headers,
        params={
            "api-version": "2021-04-01",
            "$filter": "resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'kv-main'",
        },
    )
    assert [r["id"] for r in found.json()["value"]] == [KV]
    # Collections are filtered by what the caller may read, as ARM does.
    none = arm.get(
        f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults",
        params={"api-version": "2023-07-01"},
        headers=auth(client_env, "uai"),
    )
    assert none.json() == {"value": []}
    missing = arm.get(KV.replace("kv-main", "kv-nope"), params={"api-version": "2023-07-01"}, headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ResourceNotFound"


def test_role_assignments_create_list_conflict_and_effect(arm: httpx.Client, client_env: Emulator) -> None:
    scope = f"{WS}/connections/c-apikey"
    url = f"{WS}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    body = {
        "properties": {
            "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{CONN_READER}",
            "principalId": UAI_PID,
            "principalType": "ServicePrincipal",
        }
    }
    # Without Microsoft.Authorization/roleAssignments/write (the stranger is a Reader): 403.
    denied = arm.put(url, params=RBAC_API, json=body, headers=auth(client_env, "stranger"))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/write" in denied.json()["error"]["message"]
    # Contributor-like principals cannot either; the RBAC administrator (on the resource group) can.
    created = arm.put(url, params=RBAC_API, json=body, headers=auth(client_env, "admin"))
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["scope"] == WS
    assert created.json()["properties"]["principalId"] == UAI_PID
    # It takes effect at once, for the workspace and everything under it.
    secrets = arm.post(f"{scope}/listsecrets", params=API, headers=auth(client_env, "uai"))
    assert secrets.status_code == 200
    # The same grant under another name: 409 RoleAssignmentExists.
    again = arm.put(
        f"{WS}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
        params=RBAC_API,
        json=body,
        headers=auth(client_env, "deployer"),
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "RoleAssignmentExists"
    assert created.json()["name"].replace("-", "") in again.json()["error"]["message"]
    listed = arm.get(
        f"{WS}/providers/Microsoft.Authorization/roleAssignments",
        headers=auth(client_env, "deployer"),
        params={**RBAC_API, "$filter": f"principalId eq '{UAI_PID}'"},
    ).json()["value"]
    assert [a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1] for a in listed] == [CONN_READER]
    at_scope = arm.get(
        f"{scope}/providers/Microsoft.Authorization/roleAssignments",
        headers=auth(client_env, "deployer"),
        params={**RBAC_API, "$filter": "atScope()"},
    ).json()
    principals = {a["properties"]["principalId"] for a in at_scope["value"]}
    assert {
        UAI_PID,
        ENDPOINT_PID,
    } <= principals  # the endpoint's implicit grant on the workspace is inherited
    assert arm.delete(url, params=RBAC_API, headers=auth(client_env, "admin")).status_code == 200
    assert arm.post(f"{scope}/listsecrets", params=API, headers=auth(client_env, "uai")).status_code == 403


def test_role_assignment_validation(arm: httpx.Client, client_env: Emulator) -> None:
    headers = auth(client_env, "deployer")
    base = f"{KV}/providers/Microsoft.Authorization/roleAssignments"
    definition = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{KV_USER}"
    bad_name = arm.put(
        f"{base}/not-a-guid",
        params=RBAC_API,
        headers=headers,
        json={"properties": {"roleDefinitionId": definition, "principalId": UAI_PID}},
    )
    assert bad_name.json()["error"]["code"] == "InvalidRoleAssignmentId"
    bad_role = arm.put(
        f"{base}/{uuid.uuid4()}",
        params=RBAC_API,
        headers=headers,
        json={"properties": {"roleDefinitionId": definition[:-4] + "0000", "principalId": UAI_PID}},
    )
    assert bad_role.json()["error"]["code"] == "RoleDefinitionDoesNotExist"
    new_principal = str(uuid.uuid4())
    race = arm.put(
        f"{base}/{uuid.uuid4()}",
        params=RBAC_API,
        headers=headers,
        json={"properties": {"roleDefinitionId": definition, "principalId": new_principal}},
    )
    assert race.status_code == 400 and race.json()["error"]["code"] == "PrincipalNotFound"
    typed = arm.put(
        f"{base}/{uuid.uuid4()}",
        params=RBAC_API,
        headers=headers,
        json={
            "properties": {
                "roleDefinitionId": definition,
                "principalId": new_principal,
                "principalType": "ServicePrincipal",
            }
        },
    )
    assert typed.status_code == 201


def test_permissions_api(arm: httpx.Client, client_env: Emulator) -> None:
    endpoint = arm.get(
        f"{KV}/providers/Microsoft.Authorization/permissions", params=RBAC_API, headers=auth(client_env)
    ).json()["value"]
    assert endpoint == [
        {
            "actions": [],
            "notActions": [],
            "dataActions": [
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
            "notDataActions": [],
        }
    ]
    ws = arm.get(
        f"{WS}/providers/Microsoft.Authorization/permissions", params=RBAC_API, headers=auth(client_env)
    ).json()["value"]
    assert any(
        "Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action" in p["actions"]
        for p in ws
    )
    owner = arm.get(
        f"{WS}/providers/Microsoft.Authorization/permissions",
        params=RBAC_API,
        headers=auth(client_env, "deployer"),
    ).json()["value"]
    assert owner == [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]
    assert arm.get(
        f"{WS}/providers/Microsoft.Authorization/permissions",
        params=RBAC_API,
        headers=auth(client_env, "other-deployment"),
    ).json() == {"value": []}


def test_azure_ai_ml_reads_the_endpoint_identity(client_env: Emulator) -> None:
    ml = pytest.importorskip("azure.ai.ml")
    from azure.identity import ManagedIdentityCredential

    deployer = client_env.config.identities["deployer"]
    client = ml.MLClient(ManagedIdentityCredential(client_id=deployer.client_id), SUB, "rg-ml", "ws-main")
    endpoint = client.online_endpoints.get("ep-system")
    assert endpoint.identity.type == "system_assigned"
    assert endpoint.identity.principal_id == ENDPOINT_PID
    user = client.online_endpoints.get("ep-user")
    assert user.identity.type == "user_assigned"
    (uai,) = user.identity.user_assigned_identities
    # azure-ai-ml 1.35 copies the REST model's camelCase keys onto the entity (principal_id stays None): a client
    # quirk, not the wire shape, which is ARM's {"principalId", "clientId"} (see test_workspace_endpoint_...).
    principal = uai.principal_id or getattr(uai, "principalId", None)
    client_id = uai.client_id or getattr(uai, "clientId", None)
    assert (principal, client_id) == (UAI_PID, UAI_CLIENT)
    assert uai.resource_id.endswith("/userAssignedIdentities/uai")
