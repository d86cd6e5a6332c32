"""Fault injection (latency, status with Retry-After, first-N failures, connection reset) and throttling."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from injector.emulator import Emulator

from .conftest import WS, make_config

ARM = "https://management.azure.com"
LIST = f"{WS}/connections/c-apikey/listsecrets"
API = {"api-version": "2024-04-01"}


@pytest.fixture
def http(client_env: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ARM) as client:
        yield client


def bearer(emu: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.token('endpoint')}"}


def test_latency_is_added(http: httpx.Client, client_env: Emulator) -> None:
    http.post(LIST, params=API, headers=bearer(client_env))  # open the tunnel first
    client_env.set_faults([{"route": "arm.listsecrets", "latency_ms": 300}])
    started = time.perf_counter()
    assert http.post(LIST, params=API, headers=bearer(client_env)).status_code == 200
    assert 0.3 <= time.perf_counter() - started < 1.5


def test_status_with_retry_after_for_first_n_requests(http: httpx.Client, client_env: Emulator) -> None:
    client_env.set_faults(
        [
            {"route": "arm.listsecrets", "status": 503, "times": 2},
            {"route": "keyvault.*", "status": 429, "retry_after": 7},
        ]
    )
    codes = [http.post(LIST, params=API, headers=bearer(client_env)).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    throttled = httpx.get("https://kv-main.vault.azure.net/secrets/x?api-version=7.4")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert client_env.stats()["arm.listsecrets"] == 3  # faulted requests count too


def test_match_narrows_a_rule(http: httpx.Client, client_env: Emulator) -> None:
    client_env.set_faults([{"route": "*", "match": "c-custom", "status": 500}])
    assert http.post(LIST, params=API, headers=bearer(client_env)).status_code == 200
    other = http.post(LIST.replace("c-apikey", "c-custom"), params=API, headers=bearer(client_env))
    assert other.status_code == 500 and other.json()["error"]["code"] == "InternalServerError"


def test_reset_closes_the_connection(client_env: Emulator) -> None:
    client_env.set_faults([{"route": "token", "reset": True, "times": 1}])
    params = {"api-version": "2017-09-01", "resource": "https://vault.azure.net"}
    with pytest.raises(httpx.TransportError):
        httpx.get(client_env.msi_endpoint, params=params, headers={"secret": client_env.msi_secret})
    ok = httpx.get(client_env.msi_endpoint, params=params, headers={"secret": client_env.msi_secret})
    assert ok.status_code == 200
    client_env.set_faults([{"route": "arm.*", "reset": True}])
    with httpx.Client(base_url=ARM) as http, pytest.raises(httpx.TransportError):
        http.post(LIST, params=API, headers=bearer(client_env))


def test_faults_can_be_set_over_http(emu: Emulator) -> None:
    rules = [{"route": "token", "status": 503, "times": 1, "retry_after": 2}]
    assert httpx.put(f"{emu.base_url}/_emulator/faults", json=rules).json() == rules
    bad = httpx.put(f"{emu.base_url}/_emulator/faults", json=[{"route": "token", "status": 200}])
    assert bad.status_code == 400 and "faults[0].status" in bad.json()["error"]
    params = {"api-version": "2017-09-01", "resource": "https://vault.azure.net"}
    first = httpx.get(emu.msi_endpoint, params=params, headers={"secret": emu.msi_secret})
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert httpx.get(emu.msi_endpoint, params=params, headers={"secret": emu.msi_secret}).status_code == 200


def test_arm_write_token_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(rate_limits={"arm_writes": {"burst": 3, "refill_per_second": 0.5}})
    with Emulator(config) as emu:
        for name, value in emu.env().items():
            monkeypatch.setenv(name, value)
        with httpx.Client(base_url=ARM) as http:
            answers = [http.post(LIST, params=API, headers=bearer(emu)) for _ in range(4)]
            assert [a.status_code for a in answers] == [200, 200, 200, 429]
            assert answers[0].headers["x-ms-ratelimit-remaining-subscription-writes"] == "2"
            assert answers[3].json()["error"]["code"] == "TooManyRequests"
            assert answers[3].headers["Retry-After"] == "2"  # (1 - 0 tokens) / 0.5 per second, rounded up
            # Reads have their own bucket; another principal has its own writes bucket.
            assert (
                http.get(
                    WS, params=API, headers={"Authorization": f"Bearer {emu.token('deployer')}"}
                ).status_code
                == 200
            )
            emu.reset()
            assert http.post(LIST, params=API, headers=bearer(emu)).status_code == 200


def test_keyvault_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(make_config(rate_limits={"keyvault": {"per_10s": 2}})) as emu:
        token = emu.token("endpoint", "https://vault.azure.net")
        for name, value in emu.env().items():
            monkeypatch.setenv(name, value)
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
            url = "https://kv-main.vault.azure.net/secrets/db-password?api-version=7.4"
            codes = [http.get(url).status_code for _ in range(3)]
            assert codes == [200, 200, 429]
            third = http.get(url)
            assert (
                third.json()["error"]["code"] == "Throttled" and 1 <= int(third.headers["Retry-After"]) <= 10
            )
