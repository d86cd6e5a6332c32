"""The request and response the emulated services see: plain data, free of sockets and TLS.

Services are pure functions of a :class:`Request` (plus their state) returning a :class:`Response`, which keeps
them testable without a server and lets the server apply counters, faults and throttling uniformly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

__all__ = ["Request", "Response", "json_response"]


@dataclass
class Request:
    method: str
    scheme: str  # https inside a CONNECT tunnel, http for the plain routes
    host: str  # lower case, no port
    path: str  # without the query
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message)
    body: bytes = b""
    client: str = ""

    @classmethod
    def build(
        cls,
        method: str,
        scheme: str,
        host: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        client: str,
    ) -> Request:
        path, _, query = target.partition("?")
        return cls(
            method.upper(),
            scheme,
            host.lower(),
            path,
            parse_qs(query, keep_blank_values=True),
            headers,
            body,
            client,
        )

    def param(self, name: str) -> str | None:
        """A query parameter (ARM and Key Vault treat their names case-insensitively)."""
        wanted = name.lower()
        for key, values in self.query.items():
            if key.lower() == wanted and values:
                return values[0]
        return None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # close the connection abruptly instead of answering

    @classmethod
    def abort(cls) -> Response:
        return cls(0, reset=True)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    merged = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return Response(status, body, merged)


def request_id() -> str:
    return str(uuid.uuid4())
