"""Transient trouble within the deadline is retried away; trouble that outlasts it fails closed, in time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from injector.emulator import Emulator
from sidecar import exitcodes

from .conftest import (
    DB_V1,
    KV_MAIN,
    KV_TEAM,
    Result,
    Wrapper,
    conn_ref,
    connection_value,
    fingerprint,
    kv_ref,
    probe,
    secret_value,
)

pytestmark = pytest.mark.e2e

REFS = {
    "OPENAI_KEY": conn_ref("openai", "credentials/key"),
    "OPENAI_BASE": conn_ref("openai", "target"),
    "DB_OLD": kv_ref(KV_MAIN, "db-password", DB_V1),
    "TEAM": kv_ref(KV_TEAM, "team-secret"),
}
EXPECTED = {
    "OPENAI_KEY": fingerprint(connection_value("openai", "credentials/key")),
    "OPENAI_BASE": fingerprint(connection_value("openai", "target")),
    "DB_OLD": fingerprint(secret_value(KV_MAIN, "db-password", DB_V1)),
    "TEAM": fingerprint(secret_value(KV_TEAM, "team-secret")),
}
# What a clean run costs: 2 tokens, 1 List Secrets, 2 challenges and 2 Get Secret (two vaults).
CLEAN = {"token": 2, "arm.listsecrets": 1, "keyvault.challenge": 2, "keyvault.get_secret": 2}


def resolve_under(
    wrapper: Wrapper, emu: Emulator, faults: list[dict[str, Any]], timeout: str = "20"
) -> Result:
    emu.set_faults(faults)
    result = wrapper.run(probe(show=list(REFS)), wrapper.env(REFS, SECRET_INJECTOR_TIMEOUT=timeout))
    assert result.code == 0, result.stderr
    assert {name: result.seen(name) for name in REFS} == EXPECTED
    return result


def extra_requests(emu: Emulator) -> dict[str, int]:
    """Requests beyond what a clean run makes, per route."""
    stats = emu.stats()
    return {
        route: stats.get(route, 0) - clean for route, clean in CLEAN.items() if stats.get(route, 0) != clean
    }


def test_latency_on_every_route_resolves(wrapper: Wrapper, emu: Emulator) -> None:
    result = resolve_under(wrapper, emu, [{"route": "*", "latency_ms": 300}])
    assert extra_requests(emu) == {}
    # At least a token then a store read, one after the other, each 300 ms late.
    assert result.summary_ms >= 600


def test_429_with_retry_after_is_honoured(wrapper: Wrapper, emu: Emulator) -> None:
    result = resolve_under(
        wrapper, emu, [{"route": "arm.listsecrets", "status": 429, "retry_after": 1, "times": 1}]
    )
    assert extra_requests(emu) == {"arm.listsecrets": 1}
    assert result.summary_ms >= 950  # it waited the second ARM asked for


def test_503_twice_on_get_secret_resolves(wrapper: Wrapper, emu: Emulator) -> None:
    resolve_under(
        wrapper, emu, [{"route": "keyvault.get_secret", "match": "kv-e2e-main", "status": 503, "times": 2}]
    )
    assert extra_requests(emu) == {"keyvault.get_secret": 2}


@pytest.mark.parametrize("route", ["token", "arm.listsecrets", "keyvault.get_secret"])
def test_a_connection_reset_is_retried(wrapper: Wrapper, emu: Emulator, route: str) -> None:
    resolve_under(wrapper, emu, [{"route": route, "reset": True, "times": 1}])
    assert extra_requests(emu) == {route: 1}


def test_an_identity_endpoint_that_is_not_ready_yet_is_asked_again(wrapper: Wrapper, emu: Emulator) -> None:
    result = resolve_under(wrapper, emu, [{"route": "token", "status": 503, "times": 2}])
    assert extra_requests(emu) == {"token": 2}  # each retry reached the endpoint (not a replayed failure)
    # Backoff for two failures is well under a second; MSAL's 5 s replay of a 503 must not be waited out.
    assert result.summary_ms < 4000


def test_identity_endpoint_throttling_honours_retry_after(wrapper: Wrapper, emu: Emulator) -> None:
    result = resolve_under(wrapper, emu, [{"route": "token", "status": 429, "retry_after": 1, "times": 1}])
    assert extra_requests(emu) == {"token": 1}
    assert result.summary_ms >= 950


def test_a_permanent_503_fails_with_unavailable_within_the_deadline(
    wrapper: Wrapper, emu: Emulator, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    emu.set_faults([{"route": "keyvault.get_secret", "match": "kv-e2e-team", "status": 503}])
    begin = time.monotonic()
    result = wrapper.run(probe(started=started), wrapper.env(REFS, SECRET_INJECTOR_TIMEOUT="3"))
    elapsed = time.monotonic() - begin

    assert result.code == exitcodes.UNAVAILABLE, result.stderr
    assert elapsed < 3 + 3, elapsed
    assert not started.exists()
    line = result.report_line("TEAM")
    assert line.startswith(f"TEAM: {REFS['TEAM']} [key vault kv-e2e-team] ")
    assert "-> fix: check the network path" in line and "SECRET_INJECTOR_TIMEOUT" in line
    assert emu.stats()["keyvault.get_secret"] > 2  # it kept trying while the deadline allowed
    assert result.stderr.splitlines()[-1].startswith("error: 1 variable could not be resolved")
