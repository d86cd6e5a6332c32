"""Settings: prefix, platform fallbacks, validation that names the variable."""

from __future__ import annotations

import pytest

from injector import ConfigurationError, Settings

WS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


def test_defaults() -> None:
    s = Settings.from_environ({})
    assert (s.workspace_id, s.client_id, s.cloud, s.timeout, s.concurrency) == (
        None,
        None,
        "AzureCloud",
        60.0,
        16,
    )
    assert (s.optional, s.log_format, s.credential) == (frozenset(), "text", "auto")


def test_prefixed_settings() -> None:
    s = Settings.from_environ(
        {
            "SECRET_INJECTOR_WORKSPACE_ID": WS,
            "SECRET_INJECTOR_CLOUD": "AzureUSGovernment",
            "SECRET_INJECTOR_TIMEOUT": "2.5",
            "SECRET_INJECTOR_CONCURRENCY": "4",
            "SECRET_INJECTOR_OPTIONAL": "A, B,,C",
            "SECRET_INJECTOR_LOG_FORMAT": "json",
            "SECRET_INJECTOR_CREDENTIAL": "developer",
        }
    )
    assert s.workspace_id == WS and s.cloud_info.keyvault_suffix == ".vault.usgovcloudapi.net"
    assert (s.timeout, s.concurrency, s.optional, s.log_format) == (2.5, 4, {"A", "B", "C"}, "json")


def test_workspace_falls_back_to_the_azureml_compute_variables() -> None:
    env = {
        "AZUREML_ARM_SUBSCRIPTION": "s",
        "AZUREML_ARM_RESOURCEGROUP": "rg",
        "AZUREML_ARM_WORKSPACE_NAME": "ws",
    }
    assert Settings.from_environ(env).workspace_id == WS
    assert Settings.from_environ(
        {**env, "SECRET_INJECTOR_WORKSPACE_ID": WS.replace("/ws", "/other")}
    ).workspace_id.endswith("/other")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DEFAULT_IDENTITY_CLIENT_ID": "c3"}, "c3"),
        ({"DEFAULT_IDENTITY_CLIENT_ID": "c3", "UAI_CLIENT_ID": "c2"}, "c2"),
        (
            {"DEFAULT_IDENTITY_CLIENT_ID": "c3", "UAI_CLIENT_ID": "c2", "SECRET_INJECTOR_CLIENT_ID": "c1"},
            "c1",
        ),
    ],
)
def test_client_id_fallbacks_in_order(env: dict[str, str], expected: str) -> None:
    assert Settings.from_environ(env).client_id == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_INJECTOR_TIMEOUT", "-1"),
        ("SECRET_INJECTOR_TIMEOUT", "soon"),
        ("SECRET_INJECTOR_CLOUD", "Mars"),
        ("SECRET_INJECTOR_CONCURRENCY", "0"),
        ("SECRET_INJECTOR_LOG_FORMAT", "xml"),
        ("SECRET_INJECTOR_WORKSPACE_ID", "ws-main"),
        ("SECRET_INJECTOR_CREDENTIAL", "password"),
    ],
)
def test_a_bad_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_environ({name: value})
    assert str(info.value).startswith(f"invalid setting: {name}: ")


def test_from_environ_reads_only_the_given_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_INJECTOR_TIMEOUT", "5")
    assert Settings.from_environ({}).timeout == 60.0
    assert Settings.from_environ().timeout == 5.0
