"""Role constants, deterministic assignment names, and permission matching with wildcards."""

from __future__ import annotations

import pytest

from injector.deploy.roles import (
    CONNECTIONS_ROLE,
    GET_SECRET_DATA_ACTION,
    KEYVAULT_ROLE,
    LIST_SECRETS_ACTION,
    allows,
    assignment_name,
    role_definition_id,
    same_scope_or_parent,
)


def test_role_ids_are_the_built_in_ones() -> None:
    assert CONNECTIONS_ROLE.id == "ea01e6af-a1c1-4350-9563-ad00f8c72ec5"
    assert KEYVAULT_ROLE.id == "4633458b-17de-408a-b874-0445c86b69e6"
    assert role_definition_id("sub", KEYVAULT_ROLE.id) == (
        "/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
    )


def test_assignment_name_is_deterministic_and_case_insensitive() -> None:
    one = assignment_name("/subscriptions/S/resourceGroups/RG", KEYVAULT_ROLE.id, "P")
    assert one == assignment_name("/subscriptions/s/resourcegroups/rg/", KEYVAULT_ROLE.id.upper(), "p")
    assert one != assignment_name("/subscriptions/s/resourcegroups/rg2", KEYVAULT_ROLE.id, "p")
    assert one != assignment_name("/subscriptions/s/resourcegroups/rg", CONNECTIONS_ROLE.id, "p")
    assert len(one) == 36 and one.count("-") == 4


@pytest.mark.parametrize(
    ("candidate", "scope", "expected"),
    [
        ("/subscriptions/s", "/subscriptions/s/resourceGroups/rg", True),
        ("/subscriptions/S/resourceGroups/RG", "/subscriptions/s/resourcegroups/rg", True),
        ("/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rg2", False),
        ("/subscriptions/s/resourceGroups/rg/x", "/subscriptions/s/resourceGroups/rg", False),
        ("/", "/subscriptions/s", True),
    ],
)
def test_same_scope_or_parent(candidate: str, scope: str, expected: bool) -> None:
    assert same_scope_or_parent(candidate, scope) is expected


@pytest.mark.parametrize(
    ("permissions", "operation", "data", "expected"),
    [
        ([{"actions": ["*"]}], LIST_SECRETS_ACTION, False, True),
        ([{"actions": ["*"]}], GET_SECRET_DATA_ACTION, True, False),  # Owner cannot read secret values
        ([{"dataActions": ["Microsoft.KeyVault/vaults/secrets/*"]}], GET_SECRET_DATA_ACTION, True, True),
        (
            [{"dataActions": ["microsoft.keyvault/vaults/SECRETS/getsecret/action"]}],
            GET_SECRET_DATA_ACTION,
            True,
            True,
        ),
        ([{"dataActions": ["Microsoft.KeyVault/vaults/keys/*"]}], GET_SECRET_DATA_ACTION, True, False),
        (
            [{"actions": ["Microsoft.MachineLearningServices/*"], "notActions": ["*/listsecrets/action"]}],
            LIST_SECRETS_ACTION,
            False,
            False,
        ),
        (
            [
                {"actions": ["Microsoft.MachineLearningServices/*"], "notActions": ["*/listsecrets/action"]},
                {"actions": [LIST_SECRETS_ACTION]},
            ],
            LIST_SECRETS_ACTION,
            False,
            True,
        ),
        (
            [{"actions": ["Microsoft.MachineLearningServices/workspaces/*/read"]}],
            LIST_SECRETS_ACTION,
            False,
            False,
        ),
        ([], LIST_SECRETS_ACTION, False, False),
        ([{"actions": None, "dataActions": None}], LIST_SECRETS_ACTION, False, False),
    ],
)
def test_allows(permissions: list[dict[str, object]], operation: str, data: bool, expected: bool) -> None:
    assert allows(permissions, operation, data_action=data) is expected  # type: ignore[arg-type]


def test_wildcard_does_not_match_regex_syntax() -> None:
    assert not allows(
        [{"actions": ["Microsoft.MachineLearningServices.workspaces"]}],
        "MicrosoftXMachineLearningServicesXworkspaces",
        data_action=False,
    )
