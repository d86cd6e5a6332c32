"""The three Azure clouds the emulator can stand in for: ARM host, Key Vault DNS suffix and token audiences.

Kept apart from ``injector._clouds`` on purpose: the emulator plays the services, so it must not share the
client's idea of them (a bug there would otherwise be mirrored here and go unnoticed).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLOUDS", "Cloud", "cloud_for_arm_host", "cloud_for_keyvault_audience", "cloud_for_vault_host"]


@dataclass(frozen=True)
class Cloud:
    name: str
    arm_host: str
    arm_audiences: tuple[str, ...]  # without trailing slash; compared case-insensitively, as ARM does
    keyvault_suffix: str  # leading dot
    keyvault_audience: str  # without trailing slash; compared case-sensitively ("lower case matters")
    login_host: str

    def vault_host(self, vault_name: str) -> str:
        return f"{vault_name.lower()}{self.keyvault_suffix}"

    def accepts_arm_audience(self, aud: str) -> bool:
        return aud.rstrip("/").lower() in self.arm_audiences

    def accepts_keyvault_audience(self, aud: str) -> bool:
        return aud.rstrip("/") == self.keyvault_audience


CLOUDS: dict[str, Cloud] = {
    c.name: c
    for c in (
        Cloud(
            "AzureCloud",
            "management.azure.com",
            ("https://management.azure.com", "https://management.core.windows.net"),
            ".vault.azure.net",
            "https://vault.azure.net",
            "login.microsoftonline.com",
        ),
        Cloud(
            "AzureChinaCloud",
            "management.chinacloudapi.cn",
            ("https://management.chinacloudapi.cn", "https://management.core.chinacloudapi.cn"),
            ".vault.azure.cn",
            "https://vault.azure.cn",
            "login.chinacloudapi.cn",
        ),
        Cloud(
            "AzureUSGovernment",
            "management.usgovcloudapi.net",
            ("https://management.usgovcloudapi.net", "https://management.core.usgovcloudapi.net"),
            ".vault.usgovcloudapi.net",
            "https://vault.usgovcloudapi.net",
            "login.microsoftonline.us",
        ),
    )
}


def cloud_for_arm_host(host: str) -> Cloud | None:
    host = host.lower()
    return next((c for c in CLOUDS.values() if c.arm_host == host), None)


def cloud_for_vault_host(host: str) -> Cloud | None:
    """The cloud whose Key Vault DNS suffix ``host`` ends with (``host`` must have a vault label before it)."""
    host = host.lower()
    for cloud in CLOUDS.values():
        if host.endswith(cloud.keyvault_suffix) and "." not in host[: -len(cloud.keyvault_suffix)]:
            return cloud if host[: -len(cloud.keyvault_suffix)] else None
    return None


def cloud_for_keyvault_audience(resource: str) -> Cloud | None:
    resource = resource.rstrip("/").lower()
    return next((c for c in CLOUDS.values() if c.keyvault_audience == resource), None)
