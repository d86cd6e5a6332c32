"""The grammar: exactly the platform's five forms plus version-less Key Vault, and a clear error otherwise."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from injector import ConnectionReference, InvalidReference, KeyVaultReference, parse_reference, parse_value
from injector._clouds import CLOUDS

VERSION = "0123456789abcdef0123456789abcdef"
KV = "https://kv-main.vault.azure.net"

VALID = [
    ("${{azureml://connections/openai}}", ConnectionReference("openai")),
    ("${{azureml://connections/openai/target}}", ConnectionReference("openai", "target")),
    (
        "${{azureml://connections/multi_connection_langchain/credentials/OPENAI_API_KEY}}",
        ConnectionReference("multi_connection_langchain", "credentials", "OPENAI_API_KEY"),
    ),
    (
        "${{azureml://connections/my-conn/metadata/ApiVersion}}",
        ConnectionReference("my-conn", "metadata", "ApiVersion"),
    ),
    (f"${{{{keyvault:{KV}/secrets/db-pass/{VERSION}}}}}", KeyVaultReference(KV, "db-pass", VERSION)),
    (f"${{{{keyvault:{KV}/secrets/db-pass}}}}", KeyVaultReference(KV, "db-pass")),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_each_form_parses_and_formats_back(text: str, expected: object) -> None:
    assert parse_reference(text) == expected
    assert str(expected) == text
    template = parse_value(text)
    assert template is not None and template.is_whole and template.references == (expected,)


def test_host_case_is_canonicalised() -> None:
    ref = parse_reference(f"keyvault:https://KV-Main.Vault.Azure.NET/secrets/a/{VERSION.upper()}")
    assert str(ref) == f"${{{{keyvault:{KV}/secrets/a/{VERSION}}}}}"


def test_embedded_references_are_interpolated() -> None:
    value = f"postgresql://app:${{{{keyvault:{KV}/secrets/db-pass}}}}@db/${{{{azureml://connections/pg-main/metadata/db}}}}"
    template = parse_value(value)
    assert template is not None and not template.is_whole
    refs = template.references
    assert refs == (KeyVaultReference(KV, "db-pass"), ConnectionReference("pg-main", "metadata", "db"))
    assert template.render({refs[0]: "s3cr3t", refs[1]: "app"}) == "postgresql://app:s3cr3t@db/app"
    assert str(template) == value


@pytest.mark.parametrize(
    "value", ["plain", "", "{{ jinja }}", "$HOME", "${HOME}", "azureml://connections/x/target"]
)
def test_values_without_references_are_left_alone(value: str) -> None:
    assert parse_value(value) is None


INVALID = [
    ("${{keyvault:http://kv-main.vault.azure.net/secrets/a}}", "must use https://"),
    ("${{azureml://connections/openai/credential/key}}", "unknown segment 'credential'"),
    ("${{azureml://connections/openai/credentials}}", "needs a key name"),
    ("${{azureml://connections/openai/credentials/}}", "needs a key name"),
    ("${{azureml://connections/ab/target}}", "connection name 'ab'"),
    ("${{azureml://connections/openai/}}", "trailing '/'"),
    ("${{azureml://datastores/blob}}", "only workspace connections"),
    ("${{keyvault:https://evil.example.com/secrets/a}}", "not a Key Vault host"),
    ("${{keyvault:https://kv-main.vault.azure.cn/secrets/a}}", "SECRET_INJECTOR_CLOUD=AzureChinaCloud"),
    ("${{keyvault:https://kv-main.vault.azure.net:8443/secrets/a}}", "port"),
    ("${{keyvault:https://kv-main.vault.azure.net/secrets/a?x=1}}", "query"),
    ("${{keyvault:https://kv-main.vault.azure.net/keys/a}}", "/secrets/<name>"),
    ("${{keyvault:https://kv-main.vault.azure.net/secrets/a/b/c}}", "/secrets/<name>"),
    ("${{keyvault:https://kv-main.vault.azure.net/secrets/a_b}}", "secret name 'a_b'"),
    ("${{keyvault:https://kv-main.vault.azure.net/secrets/a/latest}}", "32 hexadecimal"),
    ("${{keyvault:https://1kv.vault.azure.net/secrets/a}}", "vault name '1kv'"),
    ("${{keyvault:https://kv--x.vault.azure.net/secrets/a}}", "vault name 'kv--x'"),
    ("${{keyvault:https://kv-main.vault.azure.net/secrets/a}", "not closed"),
    ("${{azureml://connections/openai/target", "not closed"),
    ("${{ azureml://connections/openai/target }}", "remove the spaces"),
    ("${keyvault:https://kv-main.vault.azure.net/secrets/a}", "two braces"),
    ("{{azureml://connections/openai/target}}", "two braces"),
    ("${{secrets.OPENAI}}", "unknown reference kind"),
]


@pytest.mark.parametrize(("value", "message"), INVALID, ids=[v for v, _ in INVALID])
def test_near_references_are_errors_that_say_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_value(value)
    assert message in str(info.value)


def test_error_names_the_variable() -> None:
    error = InvalidReference("bad", fragment="azureml://x").with_env_var("OPENAI_KEY")
    assert str(error).startswith("OPENAI_KEY: invalid secret reference")


@pytest.mark.parametrize("value", ["pa${{ss-canary-7f3a9", "x${{canary-secret-text}}y"])
def test_a_literal_that_is_not_a_reference_is_never_echoed(value: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_value(value)
    assert "canary" not in str(info.value)


def test_cloud_decides_the_vault_suffix() -> None:
    ref = parse_reference("keyvault:https://kv-main.vault.azure.cn/secrets/a", CLOUDS["AzureChinaCloud"])
    assert isinstance(ref, KeyVaultReference) and ref.vault_name == "kv-main"


# -- property-based --------------------------------------------------------------------------------------------

names = st.from_regex(r"\A[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}\Z")
keys = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}\Z")
vaults = st.from_regex(r"\A[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,22}[a-z0-9]\Z")
secret_names = st.from_regex(r"\A[0-9a-zA-Z-]{1,127}\Z")
versions = st.none() | st.text("0123456789abcdef", min_size=32, max_size=32)
connection_refs = st.builds(
    ConnectionReference,
    names,
    st.sampled_from(["credentials", "metadata"]),
    keys,
) | st.builds(ConnectionReference, names, st.sampled_from(["all", "target"]))
keyvault_refs = st.builds(
    KeyVaultReference, vaults.map(lambda v: f"https://{v}.vault.azure.net"), secret_names, versions
)
references = connection_refs | keyvault_refs
literals = st.text(alphabet=string.ascii_letters + string.digits + ":/@.-_ ", max_size=20)


@given(references)
def test_every_reference_round_trips(ref: ConnectionReference | KeyVaultReference) -> None:
    assert parse_reference(str(ref)) == ref


@given(st.lists(st.tuples(literals, references), min_size=1, max_size=4), literals)
def test_interpolation_round_trips(pairs: list[tuple[str, object]], tail: str) -> None:
    value = "".join(lit + str(ref) for lit, ref in pairs) + tail
    template = parse_value(value)
    assert template is not None
    assert str(template) == value
    assert list(template.references) == [ref for _, ref in pairs]


@given(st.text(max_size=200))
def test_any_text_parses_or_fails_cleanly(value: str) -> None:
    try:
        template = parse_value(value)
    except InvalidReference:
        return
    if template is not None:
        assert str(template) == value
    else:
        assert "${{" not in value
