"""The managed network assessment: pure function of the workspace JSON, the vaults and the outbound rules."""

from __future__ import annotations

from typing import Any

from injector.deploy.network import VaultTarget, assess, outbound_rule, rule_command

WS = "/subscriptions/s/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/ws"
OWN = "/subscriptions/s/resourceGroups/rg-ml/providers/Microsoft.KeyVault/vaults/kv-ws"
OTHER = VaultTarget("kv1", "/subscriptions/s/resourceGroups/rg-data/providers/Microsoft.KeyVault/vaults/kv1")


def workspace(
    mode: str | None = None, status: str = "Active", legacy: bool = False, rules: Any = None
) -> dict[str, Any]:
    props: dict[str, Any] = {"keyVault": OWN, "v1LegacyMode": legacy}
    if mode is not None:
        props["managedNetwork"] = {
            "isolationMode": mode,
            "status": {"status": status},
            "outboundRules": rules or {},
        }
    return {"id": WS, "properties": props}


def codes(report: Any) -> list[str]:
    return [f.code for f in report.findings]


def test_no_managed_network_needs_nothing() -> None:
    report = assess(workspace(), [OTHER])
    assert report.isolation_mode == "Disabled" and report.findings == [] and report.missing_rules == []


def test_internet_outbound_needs_no_rule() -> None:
    assert codes(assess(workspace("AllowInternetOutbound"), [OTHER])) == []


def test_approved_outbound_without_rule_is_reported_with_the_fix() -> None:
    report = assess(workspace("AllowOnlyApprovedOutbound"), [OTHER, VaultTarget("kv-ws", OWN.upper())])
    assert codes(report) == ["OutboundRuleMissing", "WorkspaceVault"]
    assert report.missing_rules == [OTHER]
    assert report.findings[0].fix == rule_command(WS, OTHER)
    assert "--rule pe-kv1 --type private_endpoint" in report.findings[0].fix
    assert "--resource-group rg-ml --workspace-name ws" in report.findings[0].fix
    assert report.errors == []  # fixable by grant --apply-network: an action, not an error


def test_a_matching_rule_satisfies_it() -> None:
    rules = {"pe-anything": outbound_rule(OTHER)}
    assert codes(assess(workspace("AllowOnlyApprovedOutbound"), [OTHER], rules)) == ["OutboundRulePresent"]
    # embedded rules are used when the list was not read
    assert codes(assess(workspace("AllowOnlyApprovedOutbound", rules=rules), [OTHER])) == [
        "OutboundRulePresent"
    ]


def test_a_rule_to_another_resource_does_not() -> None:
    rules = {
        "x": {
            "type": "PrivateEndpoint",
            "destination": {"serviceResourceId": OWN, "subresourceTarget": "vault"},
        }
    }
    rules["fqdn"] = {"type": "FQDN", "destination": "kv1.vault.azure.net"}
    assert codes(assess(workspace("AllowOnlyApprovedOutbound"), [OTHER], rules)) == ["OutboundRuleMissing"]


def test_v1_legacy_mode_and_unprovisioned_network_are_errors() -> None:
    report = assess(workspace("AllowOnlyApprovedOutbound", status="Inactive", legacy=True), [])
    assert codes(report) == ["V1LegacyMode", "NetworkNotProvisioned"]
    assert [f.severity for f in report.errors] == ["error", "error"]
    assert report.provisioned is False
    assert "provision-network --resource-group rg-ml --name ws" in report.findings[1].fix
    assert "properties.v1LegacyMode=false" in report.findings[0].fix


def test_outbound_rule_body() -> None:
    assert outbound_rule(OTHER) == {
        "type": "PrivateEndpoint",
        "category": "UserDefined",
        "destination": {"serviceResourceId": OTHER.id, "subresourceTarget": "vault", "sparkEnabled": False},
    }
