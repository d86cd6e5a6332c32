"""A scoring script that uses injected secrets, for azmlinfsrv (azureml-inference-server-http).

In the BYOC image the ENTRYPOINT wrapper has already resolved every reference before this process started, so
the variables below hold real values. ``injector.inject()`` in ``init()`` is the library path for images that
do not use the wrapper; where nothing is left to resolve it returns at once.

The response shows a fingerprint (first 12 hex digits of SHA-256) and the length of each value, never a value.
"""

from __future__ import annotations

import hashlib
import json
import os

import injector

# The variables deployment.yml maps to secret references.
SECRET_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_ENDPOINT",
    "OPENAI_API_VERSION",
    "SEARCH_CONNECTION",
    "STORAGE_ACCOUNT_KEY",
    "DB_PASSWORD",
    "DATABASE_URL",
    "FEATURE_FLAGS_TOKEN",
)


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def init() -> None:
    changed = injector.inject()  # resolves anything still unresolved; raises if a required one fails
    print(f"score.py init: {len(changed)} variables resolved in-process, pid {os.getpid()}", flush=True)


def run(raw_data: str) -> dict[str, object]:
    request = json.loads(raw_data or "{}")
    secrets = {
        name: {"fingerprint": fingerprint(os.environ[name]), "length": len(os.environ[name])}
        if name in os.environ
        else None
        for name in SECRET_VARIABLES
    }
    still_references = [name for name in SECRET_VARIABLES if "${{" in os.environ.get(name, "")]
    return {
        "pid": os.getpid(),
        "echo": request.get("input"),
        "secrets": secrets,
        "unresolved": still_references,
    }
