"""The proxy itself: who may tunnel, keep-alive, counters and control routes, and many clients at once."""

from __future__ import annotations

import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from injector.emulator import Emulator

from .conftest import WS


def raw_connect(emu: Emulator, target: str) -> str:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("example.com:443", "403"),
        ("login.microsoftonline.com:443", "403"),
        ("127.0.0.1:80", "403"),
        ("management.azure.com:80", "403"),
        ("nosuchvault.vault.azure.net:443", "502"),
        ("management.azure.com:443", "200"),
        ("management.chinacloudapi.cn:443", "200"),
        ("management.usgovcloudapi.net:443", "200"),
        ("kv-main.vault.azure.net:443", "200"),
    ],
)
def test_only_emulated_hosts_are_tunnelled(emu: Emulator, target: str, status: str) -> None:
    assert raw_connect(emu, target).split()[1] == status


def test_httpx_sees_a_refused_tunnel_as_a_proxy_error(client_env: Emulator) -> None:
    with pytest.raises(httpx.ProxyError):
        httpx.get("https://example.com/")
    assert client_env.stats()["proxy.refused"] == 1


def test_tls_certificate_names_the_host(emu: Emulator) -> None:
    context = ssl.create_default_context(cafile=emu.ca_file)
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(
            b"CONNECT kv-main.vault.azure.net:443 HTTP/1.1\r\nHost: kv-main.vault.azure.net:443\r\n\r\n"
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        with context.wrap_socket(sock, server_hostname="kv-main.vault.azure.net") as tls:
            cert = tls.getpeercert()
            assert ("DNS", "kv-main.vault.azure.net") in cert["subjectAltName"]
            for _ in range(3):  # keep-alive: several requests in one tunnel
                tls.sendall(
                    b"GET /secrets/x?api-version=7.4 HTTP/1.1\r\nHost: kv-main.vault.azure.net\r\n\r\n"
                )
                head = tls.recv(65536).decode()
                assert head.startswith("HTTP/1.1 401")
    assert emu.stats()["keyvault.challenge"] == 3


def test_stats_and_reset_routes(client_env: Emulator) -> None:
    token = client_env.token("endpoint")
    with httpx.Client() as http:
        for _ in range(2):
            http.post(
                f"https://management.azure.com{WS}/connections/c-pat/listsecrets",
                params={"api-version": "2024-04-01"},
                headers={"Authorization": f"Bearer {token}"},
            )
    stats = httpx.get(f"{client_env.base_url}/_emulator/stats").json()
    assert stats["arm.listsecrets"] == 2 and stats["total"] == 2 and stats["proxy.connect"] == 1
    assert httpx.post(f"{client_env.base_url}/_emulator/reset").status_code == 200
    assert client_env.stats() == {"total": 0}


def test_many_concurrent_tunnels(client_env: Emulator) -> None:
    token = client_env.token("endpoint", "https://vault.azure.net")

    def fetch(_: int) -> str:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
            answer = http.get("https://kv-main.vault.azure.net/secrets/db-password?api-version=7.4")
            return str(answer.json()["value"])

    with ThreadPoolExecutor(max_workers=64) as pool:
        values = list(pool.map(fetch, range(128)))
    assert values == ["new-pass"] * 128
    assert client_env.stats()["proxy.connect"] == 128


def test_other_clouds(client_env: Emulator) -> None:
    token = client_env.token("deployer", "https://management.usgovcloudapi.net/")
    with httpx.Client() as http:
        gov = http.get(
            f"https://management.usgovcloudapi.net{WS}",
            params={"api-version": "2024-04-01"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert gov.status_code == 200
        public = http.get(
            f"https://management.azure.com{WS}",
            params={"api-version": "2024-04-01"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert public.status_code == 401  # a token for another cloud's ARM is refused


def test_unknown_routes_and_methods(client_env: Emulator) -> None:
    token = client_env.token("deployer")
    with httpx.Client(
        base_url="https://management.azure.com", headers={"Authorization": f"Bearer {token}"}
    ) as arm:
        unknown = arm.get(
            "/subscriptions/x/providers/Microsoft.Compute/virtualMachines", params={"api-version": "1"}
        )
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NotSupportedByEmulator"
        wrong_method = arm.delete(WS, params={"api-version": "2024-04-01"})
        assert wrong_method.status_code == 405
    assert httpx.get(f"{client_env.base_url}/nothing-here").status_code == 404
    stats = client_env.stats()
    assert stats["arm.unknown"] == 1 and stats["arm.workspace"] == 1 and stats["unknown"] == 1


def test_the_ca_is_reused_from_the_state_dir(tmp_path: Path) -> None:
    from .conftest import make_config

    with Emulator(make_config(), state_dir=tmp_path) as first:
        ca = Path(first.ca_file).read_bytes()
    with Emulator(make_config(), state_dir=tmp_path) as second:
        assert Path(second.ca_file).read_bytes() == ca
        assert second.ca_file == str(tmp_path / "ca.pem")
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o077 == 0
