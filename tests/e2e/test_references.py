"""Every reference form through the real wrapper: the child sees exactly the stored value, and each unique store
item costs one request, each audience one token."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from injector.emulator import Emulator

from .conftest import (
    DB_V1,
    DB_V2,
    KV_MAIN,
    KV_TEAM,
    WS,
    Wrapper,
    assert_no_canary,
    canonical_json_fingerprint,
    conn_ref,
    connection_value,
    fingerprint,
    kv_ref,
    probe,
    secret_value,
    store_counts,
)

pytestmark = pytest.mark.e2e

# variable -> (reference, expected value); the whole-connection form is checked separately.
FORMS: dict[str, tuple[str, str]] = {
    # connection credential key, on several auth types (CustomKeys reads credentials.keys)
    "OPENAI_KEY": (conn_ref("openai", "credentials/key"), connection_value("openai", "credentials/key")),
    "SERP_KEY": (
        conn_ref("custom", "credentials/SERPAPI_KEY"),
        connection_value("custom", "credentials/SERPAPI_KEY"),
    ),
    "S3_SECRET": (
        conn_ref("s3-bucket", "credentials/secretAccessKey"),
        connection_value("s3-bucket", "credentials/secretAccessKey"),
    ),
    "WH_PASSWORD": (
        conn_ref("warehouse", "credentials/password"),
        connection_value("warehouse", "credentials/password"),
    ),
    "SP_SECRET": (
        conn_ref("adls", "credentials/clientSecret"),
        connection_value("adls", "credentials/clientSecret"),
    ),
    # target and metadata, on the connection OPENAI_KEY already reads: no extra List Secrets
    "OPENAI_BASE": (conn_ref("openai", "target"), connection_value("openai", "target")),
    "OPENAI_VERSION": (
        conn_ref("openai", "metadata/ApiVersion"),
        connection_value("openai", "metadata/ApiVersion"),
    ),
    # Key Vault: a pinned old version, the latest, the same latest again (deduped), and a second vault
    "DB_OLD": (kv_ref(KV_MAIN, "db-password", DB_V1), secret_value(KV_MAIN, "db-password", DB_V1)),
    "DB_NOW": (kv_ref(KV_MAIN, "db-password"), secret_value(KV_MAIN, "db-password")),
    "DB_NOW_AGAIN": (kv_ref(KV_MAIN, "db-password"), secret_value(KV_MAIN, "db-password")),
    "TEAM": (kv_ref(KV_TEAM, "team-secret"), secret_value(KV_TEAM, "team-secret")),
    # interpolation: two references from two stores inside one longer value
    "DATABASE_URL": (
        f"postgresql://{conn_ref('warehouse', 'credentials/username')}:"
        f"{kv_ref(KV_MAIN, 'db-password', DB_V2)}@db.internal:5432/app?sslmode=require",
        f"postgresql://{connection_value('warehouse', 'credentials/username')}:"
        f"{secret_value(KV_MAIN, 'db-password', DB_V2)}@db.internal:5432/app?sslmode=require",
    ),
}


def list_secrets_directly(emu: Emulator, connection: str) -> dict[str, object]:
    """The List Secrets response, fetched by the test itself through the emulator's proxy and TLS."""
    url = f"https://management.azure.com{WS}/connections/{connection}/listsecrets?api-version=2024-04-01"
    with httpx.Client(proxy=emu.proxy_url, verify=ssl.create_default_context(cafile=emu.ca_file)) as http:
        response = http.post(url, headers={"Authorization": f"Bearer {emu.token('endpoint')}"})
    response.raise_for_status()
    document: dict[str, object] = response.json()
    return document


def test_every_reference_form_resolves_to_the_stored_value_with_one_request_per_item(
    wrapper: Wrapper, emu: Emulator
) -> None:
    refs = {name: ref for name, (ref, _) in FORMS.items()}
    refs["OPENAI_CONNECTION"] = conn_ref("openai")  # the whole List Secrets response, as JSON
    refs["PLAIN"] = "no reference here"
    result = wrapper.run(probe(show=[*refs, "UNSET_ONE"]), wrapper.env(refs))

    assert result.code == 0, result.stderr
    for name, (_, expected) in FORMS.items():
        assert result.seen(name) == fingerprint(expected), name
    assert result.seen("PLAIN") == fingerprint("no reference here")
    assert result.seen("UNSET_ONE") is None

    assert store_counts(emu) == {
        "token": 2,  # one per audience: ARM and Key Vault
        "arm.listsecrets": 5,  # openai, custom, s3-bucket, warehouse, adls: once each, whatever reads them
        "keyvault.challenge": 2,  # one per vault (the SDK's challenge round trip)
        "keyvault.get_secret": 4,  # db-password@V1, @V2, @latest; team-secret@latest
        "total": 13,
    }

    whole = result.child["vars"]["OPENAI_CONNECTION"]
    assert whole["json_sha256"] == canonical_json_fingerprint(list_secrets_directly(emu, "openai"))
    assert "resolved 13 variables from 7 stores" in result.stderr


def test_two_variables_on_one_connection_cost_one_list_secrets(wrapper: Wrapper, emu: Emulator) -> None:
    refs = {
        "A_ID": conn_ref("s3-bucket", "credentials/accessKeyId"),
        "A_SECRET": conn_ref("s3-bucket", "credentials/secretAccessKey"),
    }
    result = wrapper.run(probe(show=list(refs)), wrapper.env(refs))
    assert result.code == 0, result.stderr
    assert result.seen("A_ID") == fingerprint(connection_value("s3-bucket", "credentials/accessKeyId"))
    assert result.seen("A_SECRET") == fingerprint(
        connection_value("s3-bucket", "credentials/secretAccessKey")
    )
    assert store_counts(emu) == {"token": 1, "arm.listsecrets": 1, "total": 2}


def test_optional_variable_that_fails_is_left_out_with_a_warning(wrapper: Wrapper, emu: Emulator) -> None:
    refs = {
        "NICE_TO_HAVE": kv_ref(KV_MAIN, "no-such-secret"),
        "ALSO_OPTIONAL": conn_ref("openai", "credentials/key"),  # optional, and fine: resolved as usual
        "NEEDED": kv_ref(KV_MAIN, "api-token"),
    }
    env = wrapper.env(refs, SECRET_INJECTOR_OPTIONAL="NICE_TO_HAVE, ALSO_OPTIONAL")
    result = wrapper.run(probe(show=list(refs)), env)

    assert result.code == 0, result.stderr
    assert result.seen("NICE_TO_HAVE") is None  # left out, not passed on as the raw reference
    assert result.seen("ALSO_OPTIONAL") == fingerprint(connection_value("openai", "credentials/key"))
    assert result.seen("NEEDED") == fingerprint(secret_value(KV_MAIN, "api-token"))
    warning = result.report_line("NICE_TO_HAVE")
    assert "SecretNotFound" in warning
    assert "error:" not in result.stderr


def test_an_optional_failure_does_not_excuse_a_required_one(
    wrapper: Wrapper, emu: Emulator, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    refs = {"NICE_TO_HAVE": kv_ref(KV_MAIN, "no-such-secret"), "NEEDED": kv_ref(KV_MAIN, "also-missing")}
    env = wrapper.env(refs, SECRET_INJECTOR_OPTIONAL="NICE_TO_HAVE")
    result = wrapper.run(probe(started=started), env)
    assert result.code == 5
    assert not started.exists()
    assert result.report_line("NEEDED").startswith(f"NEEDED: {refs['NEEDED']} ")
    assert "warning: optional NICE_TO_HAVE left out" in result.stderr


def test_dry_run_lists_references_without_network_or_values(
    wrapper: Wrapper, emu: Emulator, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    refs = {name: ref for name, (ref, _) in FORMS.items()}
    env = wrapper.env(refs, LITERAL=f"{FORMS['OPENAI_KEY'][1]} is a literal value, not a reference")
    result = wrapper.run(probe(started=started), env, flags=["--dry-run"])

    assert result.code == 0, result.stderr
    assert not started.exists()
    assert emu.stats()["total"] == 0
    assert result.stderr.splitlines() == [f"{name} -> {refs[name]}" for name in sorted(refs)]
    assert_no_canary(result.stdout, result.stderr)
