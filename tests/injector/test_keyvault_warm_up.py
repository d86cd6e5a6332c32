"""The Key Vault SDK's response models are built before any read, so concurrent first reads cannot race."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# In a fresh interpreter: build one store client, then deserialize the first SecretBundles from 16 threads at
# once with a tiny switch interval (without the warm-up, about one run in three returns a raw dict).
RACE = textwrap.dedent(
    """
    import sys, threading
    sys.setswitchinterval(1e-6)
    from azure.core.pipeline.transport import RequestsTransport
    from azure.keyvault.secrets import KeyVaultSecret
    from azure.keyvault.secrets._generated import models
    from azure.keyvault.secrets._generated._utils.model_base import _deserialize
    from azure.core.credentials import AccessToken
    from injector._credentials import StaticTokenCredential
    from injector._stores.keyvault import KeyVaultSecrets

    credential = StaticTokenCredential(AccessToken("t", 0), "https://vault.azure.net/.default")
    KeyVaultSecrets("https://kv.vault.azure.net", credential, transport=RequestsTransport())
    bundle = {"value": "x", "id": "https://kv.vault.azure.net/secrets/a", "attributes": {"enabled": True}}
    barrier, errors = threading.Barrier(16), []

    def first_read():
        barrier.wait()
        try:
            KeyVaultSecret._from_secret_bundle(_deserialize(models.SecretBundle, bundle))
        except Exception as exc:
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=first_read) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(errors)
    """
)


def test_concurrent_first_reads_get_models_not_dicts() -> None:
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, check=True)
        assert result.stdout.strip() == "[]", result.stdout + result.stderr
