"""A user-assigned identity chosen by client id: its roles decide, not the default identity's."""

from __future__ import annotations

from pathlib import Path

import pytest

from injector.emulator import Emulator
from sidecar import exitcodes

from .conftest import (
    KEYVAULT_ROLE,
    KV_MAIN,
    KV_TEAM,
    UAI_CLIENT,
    UAI_PID,
    Wrapper,
    conn_ref,
    connection_value,
    fingerprint,
    kv_ref,
    probe,
    secret_value,
)

pytestmark = pytest.mark.e2e

# Only the user-assigned identity may read uai-only; both may list the workspace's connections.
UAI_REFS = {"UAI_SECRET": kv_ref(KV_TEAM, "uai-only"), "OPENAI_KEY": conn_ref("openai", "credentials/key")}
# Only the default identity may read kv-e2e-main.
DEFAULT_ONLY = {"DB_PASSWORD": kv_ref(KV_MAIN, "db-password")}


@pytest.mark.parametrize("variable", ["SECRET_INJECTOR_CLIENT_ID", "UAI_CLIENT_ID"])
def test_the_identity_named_by_client_id_is_used(wrapper: Wrapper, emu: Emulator, variable: str) -> None:
    result = wrapper.run(probe(show=list(UAI_REFS)), wrapper.env(UAI_REFS, **{variable: UAI_CLIENT}))
    assert result.code == 0, result.stderr
    assert result.seen("UAI_SECRET") == fingerprint(secret_value(KV_TEAM, "uai-only"))
    assert result.seen("OPENAI_KEY") == fingerprint(connection_value("openai", "credentials/key"))
    assert emu.stats()["token"] == 2


def test_the_default_identity_cannot_read_what_only_the_uai_may(wrapper: Wrapper, tmp_path: Path) -> None:
    started = tmp_path / "started"
    result = wrapper.run(probe(started=started), wrapper.env(UAI_REFS))
    assert result.code == exitcodes.ACCESS_DENIED
    assert not started.exists()
    assert "ForbiddenByRbac" in result.report_line("UAI_SECRET")


def test_secret_injector_client_id_wins_over_uai_client_id(wrapper: Wrapper) -> None:
    env = wrapper.env(
        UAI_REFS, SECRET_INJECTOR_CLIENT_ID=UAI_CLIENT, UAI_CLIENT_ID="00000000-0000-4000-8000-00000000dead"
    )
    result = wrapper.run(probe(show=list(UAI_REFS)), env)
    assert result.code == 0, result.stderr
    assert result.seen("UAI_SECRET") == fingerprint(secret_value(KV_TEAM, "uai-only"))


def test_the_uai_is_denied_what_only_the_default_identity_may_read(wrapper: Wrapper, tmp_path: Path) -> None:
    # The default identity reads it ...
    assert wrapper.run(probe(), wrapper.env(DEFAULT_ONLY)).code == 0
    # ... the user-assigned one, chosen by client id, may not: the fix names the uai's own principal id.
    started = tmp_path / "started"
    result = wrapper.run(probe(started=started), wrapper.env(DEFAULT_ONLY, UAI_CLIENT_ID=UAI_CLIENT))
    assert result.code == exitcodes.ACCESS_DENIED
    assert not started.exists()
    line = result.report_line("DB_PASSWORD")
    assert "ForbiddenByRbac" in line
    fix = line.split(" -> fix: ", 1)[1]
    assert fix.startswith(f"az role assignment create --assignee-object-id {UAI_PID} ")
    assert f'--role "{KEYVAULT_ROLE}"' in fix
