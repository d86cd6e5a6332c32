"""Access tokens shaped like Entra ID's: ``header.payload.signature`` with the claims callers and services read.

The signature is an HMAC with a key that lives only in this emulator process, so the services can reject a
forged, altered or foreign token the way ARM and Key Vault reject one that Entra ID did not sign.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = ["InvalidToken", "TokenClaims", "TokenIssuer"]


class InvalidToken(Exception):
    """The token is malformed, not ours, or expired; ``reason`` is one of malformed, signature, expired."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    aud: str
    oid: str
    tid: str
    appid: str
    iat: int
    exp: int
    raw: dict[str, Any]

    @property
    def iss(self) -> str:
        return str(self.raw.get("iss", ""))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues and verifies the emulator's tokens."""

    def __init__(self, tenant_id: str, lifetime_seconds: int, key: bytes | None = None) -> None:
        self.tenant_id = tenant_id
        self.lifetime_seconds = lifetime_seconds
        self._key = key or secrets.token_bytes(32)

    def issue(
        self,
        *,
        audience: str,
        principal_id: str,
        client_id: str,
        resource_id: str | None = None,
        now: float | None = None,
        lifetime_seconds: int | None = None,
    ) -> tuple[str, int]:
        """A signed token and its expiry (epoch seconds)."""
        iat = int(now if now is not None else time.time())
        exp = iat + (lifetime_seconds if lifetime_seconds is not None else self.lifetime_seconds)
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": iat,
            "nbf": iat,
            "exp": exp,
            "aio": "emulator",
            "appid": client_id,
            "appidacr": "2",
            "idp": f"https://sts.windows.net/{self.tenant_id}/",
            "idtyp": "app",
            "oid": principal_id,
            "sub": principal_id,
            "tid": self.tenant_id,
            "uti": _b64(uuid.uuid4().bytes),
            "ver": "1.0",
        }
        if resource_id:
            claims["xms_mirid"] = resource_id
        header = {"typ": "JWT", "alg": "RS256", "kid": "secret-injector-emulator"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}", exp

    def verify(self, token: str, *, now: float | None = None) -> TokenClaims:
        """The token's claims, if it is one of ours and not expired; :class:`InvalidToken` otherwise."""
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("malformed", "The token is not a JWT (header.payload.signature).")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        expected = hmac.new(self._key, signing_input, hashlib.sha256).digest()
        try:
            signature = _unb64(parts[2])
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            raise InvalidToken("malformed", "The token could not be decoded.") from None
        if not hmac.compare_digest(signature, expected):
            raise InvalidToken("signature", "The token's signature is invalid.")
        if not isinstance(claims, dict):
            raise InvalidToken("malformed", "The token's payload is not a JSON object.")
        current = int(now if now is not None else time.time())
        if int(claims.get("exp", 0)) <= current:
            raise InvalidToken("expired", f"The token expired at {claims.get('exp')} (now {current}).")
        return TokenClaims(
            aud=str(claims.get("aud", "")),
            oid=str(claims.get("oid", "")),
            tid=str(claims.get("tid", "")),
            appid=str(claims.get("appid", "")),
            iat=int(claims.get("iat", 0)),
            exp=int(claims["exp"]),
            raw=claims,
        )


def bearer_token(authorization: str | None) -> str | None:
    """The token of a ``Bearer`` Authorization header, or None when there is no such header."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return ""
    return value.strip()
