"""The one HTTP client every request goes through: proxy and CA conventions, and the token allow-list.

All traffic, the Azure SDK clients' included, uses this httpx client (through azure-core's httpx transport),
so ``HTTPS_PROXY``/``NO_PROXY`` and an extra CA in ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE`` behave the same
everywhere, and a bearer token can never leave for a host outside the configured cloud.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

import httpx

from ._clouds import Cloud
from ._exceptions import AccessDenied

__all__ = ["TokenLeakRefused", "create_http_client", "ssl_context"]


class TokenLeakRefused(AccessDenied):
    """A request would have carried a bearer token to a host outside the configured cloud.

    Not an ``httpx.RequestError`` on purpose: transports must not mistake it for a transient network failure.
    """


def ssl_context(environ: Mapping[str, str] = os.environ) -> ssl.SSLContext:
    """The system/certifi trust store, plus the extra CA bundles named by the usual variables."""
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        path = environ.get(name)
        if path and os.path.isfile(path):
            context.load_verify_locations(cafile=path)
    if (directory := environ.get("SSL_CERT_DIR")) and os.path.isdir(directory):
        context.load_verify_locations(capath=directory)
    return context


def create_http_client(cloud: Cloud, *, max_connections: int = 32) -> httpx.Client:
    """An httpx client that honours proxy variables and refuses to send a token outside ``cloud``."""

    def guard(request: httpx.Request) -> None:
        if "authorization" in request.headers and not cloud.allows_host(request.url.host):
            raise TokenLeakRefused(
                f"refused to send a token to {request.url.host}: only {cloud.arm_host} and "
                f"*{cloud.keyvault_suffix} may receive one (cloud {cloud.name})",
                code="HostNotAllowed",
            )

    return httpx.Client(
        verify=ssl_context(),
        trust_env=True,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        event_hooks={"request": [guard]},
    )
