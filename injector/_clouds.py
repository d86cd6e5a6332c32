"""The Azure clouds we know: ARM endpoint, Key Vault DNS suffix and the token audiences of each.

A token is only ever sent to the hosts of the configured cloud (see ``Cloud.allows_host``), which is what keeps
a reference such as ``keyvault:https://attacker.example/...`` from harvesting the identity's token.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLOUDS", "Cloud", "get_cloud"]


@dataclass(frozen=True)
class Cloud:
    name: str
    arm_endpoint: str  # no trailing slash
    keyvault_suffix: str  # leading dot, lower case
    keyvault_audience: str  # token resource; lower case matters to Key Vault

    @property
    def arm_host(self) -> str:
        return self.arm_endpoint.removeprefix("https://")

    @property
    def arm_scope(self) -> str:
        return f"{self.arm_endpoint}/.default"

    @property
    def keyvault_scope(self) -> str:
        return f"{self.keyvault_audience}/.default"

    def is_keyvault_host(self, host: str) -> bool:
        host = host.lower()
        return host.endswith(self.keyvault_suffix) and host != self.keyvault_suffix.lstrip(".")

    def allows_host(self, host: str) -> bool:
        """True for the hosts a bearer token of this cloud may be sent to."""
        return host.lower() == self.arm_host or self.is_keyvault_host(host)


CLOUDS: dict[str, Cloud] = {
    c.name: c
    for c in (
        Cloud("AzureCloud", "https://management.azure.com", ".vault.azure.net", "https://vault.azure.net"),
        Cloud(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            ".vault.azure.cn",
            "https://vault.azure.cn",
        ),
        Cloud(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            ".vault.usgovcloudapi.net",
            "https://vault.usgovcloudapi.net",
        ),
    )
}


def get_cloud(name: str) -> Cloud:
    try:
        return CLOUDS[name]
    except KeyError:
        raise ValueError(f"unknown cloud {name!r}; expected one of {', '.join(CLOUDS)}") from None
