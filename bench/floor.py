"""The floor of a cold resolve: load what resolution needs, make one token and one store round trip, exec.

No wrapper can do less: a Python interpreter, the libraries the resolver imports (settings, retries, httpx,
azure-identity, azure-keyvault-secrets and azure-core's httpx transport), one request to the managed identity
endpoint and one Get Secret, through the same proxy, CA and emulator latency as the wrapper.

Usage: ``python floor.py VAULT_URL SECRET_NAME -- COMMAND [ARGS...]`` (MSI_ENDPOINT/MSI_SECRET from the
environment, as in a deployment).
"""

from __future__ import annotations

import os
import ssl
import sys

# Everything the wrapper imports to resolve (see bench/cold.py, which checks the list against the wrapper's).
import azure.identity
import azure.keyvault.secrets  # noqa: F401
import certifi
import httpx
import pydantic_settings  # noqa: F401
import tenacity  # noqa: F401
from azure.core.experimental.transport import HttpXTransport  # noqa: F401


def main() -> None:
    vault_url, name = sys.argv[1], sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1 :]
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
    with httpx.Client(verify=context, trust_env=True) as client:
        token = client.get(
            os.environ["MSI_ENDPOINT"],
            params={"api-version": "2017-09-01", "resource": "https://vault.azure.net"},
            headers={"secret": os.environ["MSI_SECRET"]},
        )
        token.raise_for_status()
        secret = client.get(
            f"{vault_url}/secrets/{name}",
            params={"api-version": "7.4"},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        secret.raise_for_status()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
