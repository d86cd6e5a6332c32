"""The endpoint identity, read through the real azure-ai-ml client (its HTTP mocked by respx)."""

from __future__ import annotations

import pytest

from injector._clouds import CLOUDS
from injector._exceptions import ConfigurationError, SecretNotFound
from injector._http import create_http_client
from injector.deploy.arm import WorkspaceId
from injector.deploy.identity import UserAssigned, get_endpoint_identity, select_identity
from tests.deploy.conftest import Cloud, DeployerCredential
from tests.deploy.fakearm import UAI_ID
from tests.injector.fakeazure import PRINCIPAL_ID, UAI_CLIENT_ID, UAI_PRINCIPAL_ID, WORKSPACE_ID

pytest.importorskip("azure.ai.ml")


def identity(cloud: Cloud, endpoint: str = "ep", client_id: str | None = None):  # type: ignore[no-untyped-def]
    with create_http_client(CLOUDS["AzureCloud"]) as http:
        return get_endpoint_identity(
            endpoint,
            WorkspaceId.parse(WORKSPACE_ID),
            DeployerCredential(),
            CLOUDS["AzureCloud"],
            http,
            client_id=client_id,
        )


def test_system_assigned_with_enforcement(cloud: Cloud) -> None:
    cloud.arm.add_endpoint("ep", "SystemAssigned", enforce=True)
    found = identity(cloud)
    assert (found.kind, found.principal_id, found.client_id) == ("system_assigned", PRINCIPAL_ID, None)
    assert found.platform_grants_connections
    paths = [p for _, p in cloud.arm.requests]
    assert paths == [f"{WORKSPACE_ID}/onlineEndpoints/ep", f"{WORKSPACE_ID}/onlineEndpoints/ep/deployments"]


def test_user_assigned(cloud: Cloud) -> None:
    cloud.arm.add_endpoint("ep", "UserAssigned", enforce=True)
    found = identity(cloud)
    assert (found.kind, found.principal_id, found.client_id, found.resource_id) == (
        "user_assigned",
        UAI_PRINCIPAL_ID,
        UAI_CLIENT_ID,
        UAI_ID,
    )
    assert not found.platform_grants_connections  # never for a user-assigned identity
    assert "uai-1" in found.describe()


def test_both_kinds_pick_by_client_id(cloud: Cloud) -> None:
    cloud.arm.add_endpoint("ep", "SystemAssigned,UserAssigned")
    assert identity(cloud).kind == "system_assigned"
    assert identity(cloud, client_id=UAI_CLIENT_ID.upper()).kind == "user_assigned"
    with pytest.raises(ConfigurationError, match="not one of"):
        identity(cloud, client_id="other")


def test_missing_endpoint(cloud: Cloud) -> None:
    with pytest.raises(SecretNotFound, match="online endpoint nope was not found"):
        identity(cloud, "nope")


def test_several_user_assigned_need_a_choice() -> None:
    users = [UserAssigned("/a", "p1", "c1"), UserAssigned("/b", "p2", "c2")]
    with pytest.raises(ConfigurationError, match="--client-id"):
        select_identity("ep", system_principal=None, user_assigned=users, client_id=None, enforce=False)
    assert (
        select_identity(
            "ep", system_principal=None, user_assigned=users, client_id="c2", enforce=False
        ).principal_id
        == "p2"
    )
    with pytest.raises(ConfigurationError, match="no managed identity"):
        select_identity("ep", system_principal=None, user_assigned=[], client_id=None, enforce=False)
