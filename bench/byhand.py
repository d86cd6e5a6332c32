"""start.py: fetch this deployment's secrets with the endpoint's managed identity, then start the server.

What a user writes today, following Azure ML's managed-identity examples ("Access Azure resources from an
online endpoint with a managed identity", and the secret-injection concept article's "inject secrets yourself
with managed identities"): ``ManagedIdentityCredential`` (with ``UAI_CLIENT_ID`` for a user-assigned
identity), a ``SecretClient`` per Key Vault secret, and for a workspace connection the List Secrets REST call
(``POST .../connections/<name>/listsecrets``) with an ARM token, through ``requests``. One call after another,
as each secret is needed.

Usage (the benchmark's form): ``python byhand.py SECRETS.json -- COMMAND [ARGS...]``. In a real ``start.py``
the SECRETS list is a literal in the file; the benchmark writes it to JSON so one script serves every mix.
"""

from __future__ import annotations

import json
import os
import sys

import requests
from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

WORKSPACE_ID = os.environ["WORKSPACE_ID"]  # /subscriptions/.../workspaces/<name>, set in the deployment
ARM = "https://management.azure.com"

credential = ManagedIdentityCredential(client_id=os.environ.get("UAI_CLIENT_ID"))


def get_keyvault_secret(vault_url: str, name: str, version: str | None = None) -> str:
    client = SecretClient(vault_url=vault_url, credential=credential)
    value = client.get_secret(name, version).value
    assert value is not None
    return value


def get_connection_secrets(connection: str) -> dict:
    token = credential.get_token(f"{ARM}/.default").token
    url = f"{ARM}{WORKSPACE_ID}/connections/{connection}/listsecrets?api-version=2024-04-01"
    response = requests.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
    return response.json()


def fetch(source: dict) -> str:
    if "keyvault" in source:
        return get_keyvault_secret(source["keyvault"], source["name"], source["version"])
    secrets = get_connection_secrets(source["connection"])
    if not source["path"]:  # the whole connection, as the platform injects it
        return json.dumps(secrets, separators=(",", ":"))
    value = secrets["properties"]
    for key in source["path"]:
        value = value[key]
    return value


def main() -> None:
    with open(sys.argv[1]) as f:
        secrets = json.load(f)
    command = sys.argv[sys.argv.index("--") + 1 :]
    for item in secrets:
        os.environ[item["env"]] = item["template"].format(*(fetch(s) for s in item["sources"]))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
