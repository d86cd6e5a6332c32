"""Property tests for the pure parts: scope inheritance, wildcard actions, and tokens."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from injector.emulator.rbac import action_matches, scope_contains
from injector.emulator.tokens import InvalidToken, TokenIssuer

segment = st.text("abcdefghijklmnopqrstuvwxyzABC0123456789-._", min_size=1, max_size=8)
scopes = st.lists(segment, min_size=1, max_size=6).map(lambda parts: "/" + "/".join(parts))


@given(scopes, st.lists(segment, max_size=3))
def test_a_scope_contains_its_descendants_case_insensitively(scope: str, more: list[str]) -> None:
    child = "/".join([scope, *more])
    assert scope_contains(scope, child)
    assert scope_contains(scope.upper(), child.lower())
    assert scope_contains("/", child)
    if more:
        assert not scope_contains(child, scope)


@given(scopes, segment)
def test_a_sibling_with_a_common_prefix_is_not_contained(scope: str, extra: str) -> None:
    # /rg/kv-main does not contain /rg/kv-main2: segments compare whole, not as string prefixes.
    assert not scope_contains(scope, scope + extra)
    assert not scope_contains(scope, scope + extra + "/child")


@given(st.text("abcdefghijklmnopqrstuvwxyz/.", min_size=1, max_size=30))
def test_wildcards(action: str) -> None:
    assert action_matches("*", action)
    assert action_matches(action.upper(), action)
    assert action_matches("*/read", action + "/read")
    assert not action_matches(action + "x", action)


@given(st.uuids().map(str), st.sampled_from(["https://vault.azure.net", "https://management.azure.com/"]))
def test_tokens_round_trip_and_resist_tampering(oid: str, audience: str) -> None:
    issuer = TokenIssuer("72f988bf-86f1-41af-91ab-2d7cd011db47", 3600)
    token, exp = issuer.issue(audience=audience, principal_id=oid, client_id=oid)
    claims = issuer.verify(token)
    assert (claims.aud, claims.oid, claims.exp) == (audience, oid, exp)
    header, payload, signature = token.split(".")
    with pytest.raises(InvalidToken):
        issuer.verify(f"{header}.{payload[:-2]}AA.{signature}")
    with pytest.raises(InvalidToken):
        TokenIssuer("72f988bf-86f1-41af-91ab-2d7cd011db47", 3600).verify(token)  # another emulator's key
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(token, now=exp)
