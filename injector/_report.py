"""The failure report: one line per failing variable, with the exact fix. Built from names and codes only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from ._config import Settings
from ._exceptions import (
    AccessDenied,
    ConfigurationError,
    CredentialUnavailable,
    InvalidReference,
    InvalidValue,
    SecretNotFound,
)
from ._outcome import Failure, Resolution
from ._references import KeyVaultReference, parse_reference

__all__ = ["fix_for", "render_failure", "render_summary"]

CONNECTIONS_ROLE = "Azure Machine Learning Workspace Connection Secrets Reader"
KEYVAULT_ROLE = "Key Vault Secrets User"


def fix_for(failure: Failure, settings: Settings, principal_id: str | None) -> str:
    """What the user should do about ``failure``, as concretely as we can say it."""
    error, code = failure.error, failure.code
    assignee = (
        f"--assignee-object-id {principal_id} --assignee-principal-type ServicePrincipal"
        if principal_id
        else "--assignee <the endpoint identity's principal id>"
    )
    vault = _vault_of(failure, settings)
    vault_id = f"$(az keyvault show --name {vault.vault_name} --query id -o tsv)" if vault else "<vault id>"
    if isinstance(error, InvalidReference):
        return "correct the reference (forms: see the README, 'Reference forms')"
    if isinstance(error, InvalidValue):
        return "store a smaller value without NUL bytes, or read it in score.py with injector.resolve()"
    if isinstance(error, ConfigurationError):
        return "set SECRET_INJECTOR_WORKSPACE_ID in the deployment's environment_variables"
    if code == "ForbiddenByFirewall":
        name = vault.vault_name if vault else "the vault"
        return (
            f"let the deployment reach vault {name}: add a private-endpoint outbound rule for it to the "
            f"workspace's managed network (az ml workspace outbound-rule set --resource-group <rg> "
            f"--workspace-name <ws> --rule pe-{name} --type private_endpoint "
            f"--service-resource-id {vault_id} --subresource-target vault), or allow the network in the vault's "
            "firewall"
        )
    if code == "SecretDisabled" and vault:
        return (
            f"enable it: az keyvault secret set-attributes --vault-name {vault.vault_name} --name {vault.name}"
            + (f" --version {vault.version}" if vault.version else "")
            + " --enabled true"
        )
    if isinstance(error, AccessDenied):
        if vault:
            return f'az role assignment create {assignee} --role "{KEYVAULT_ROLE}" --scope {vault_id}'
        scope = settings.workspace_id or "<workspace id>"
        return f'az role assignment create {assignee} --role "{CONNECTIONS_ROLE}" --scope {scope}'
    if isinstance(error, SecretNotFound):
        if vault:
            return (
                f"check the name and version: az keyvault secret list-versions --vault-name {vault.vault_name} "
                f"--name {vault.name}"
            )
        if code == "ConnectionNotFound":
            return "check the connection name (az ml connection list) and SECRET_INJECTOR_WORKSPACE_ID"
        return "use one of the keys the connection has (listed above), or add the key to the connection"
    if isinstance(error, CredentialUnavailable):
        if error.status == 400 and settings.client_id:
            return (
                f"no identity with client id {settings.client_id} is assigned here: correct "
                "SECRET_INJECTOR_CLIENT_ID (or UAI_CLIENT_ID), or assign that user-assigned identity to the endpoint"
            )
        if error.status in (401, 403):
            return (
                "the identity endpoint refused the request: leave MSI_ENDPOINT and MSI_SECRET as the platform "
                "sets them (locally: as the emulator prints them)"
            )
        return (
            "give the endpoint a managed identity (for a user-assigned one set SECRET_INJECTOR_CLIENT_ID to its "
            "client id); on a laptop set SECRET_INJECTOR_CREDENTIAL=developer and run 'az login'"
        )
    return (
        f"check the network path to the store (HTTPS_PROXY, private DNS, outbound rules) or raise "
        f"SECRET_INJECTOR_TIMEOUT (now {settings.timeout:g} s)"
    )


def render_failure(
    failure: Failure, settings: Settings, principal_id: str | None, *, json_lines: bool
) -> str:
    fix = fix_for(failure, settings, principal_id)
    if json_lines:
        return json.dumps(
            {
                "event": "failed",
                "variable": failure.env_var,
                "reference": failure.reference,
                "store": failure.store,
                "code": failure.code,
                "error": str(failure.error),
                "fix": fix,
            }
        )
    where = f" [{failure.store}]" if failure.store else ""
    reference = f" {failure.reference}" if failure.reference else ""
    return f"{failure.env_var}:{reference}{where} {failure.code}: {_one_line(failure.error)} -> fix: {fix}"


def render_skipped(failure: Failure, *, json_lines: bool) -> str:
    if json_lines:
        return json.dumps({"event": "skipped", "variable": failure.env_var, "code": failure.code})
    return f"warning: optional {failure.env_var} left out of the environment ({failure.code}: {_one_line(failure.error)})"


def render_summary(resolution: Resolution, *, json_lines: bool) -> str:
    ms = round(resolution.elapsed * 1000)
    if json_lines:
        return json.dumps(
            {
                "event": "resolved",
                "variables": len(resolution.resolved),
                "stores": resolution.stores,
                "skipped": len(resolution.skipped),
                "duration_ms": ms,
                "requests": resolution.requests,
            }
        )
    skipped = f", {len(resolution.skipped)} optional left out" if resolution.skipped else ""
    return (
        f"resolved {len(resolution.resolved)} variable{'s' * (len(resolution.resolved) != 1)} from "
        f"{resolution.stores} store{'s' * (resolution.stores != 1)} in {ms} ms{skipped}"
    )


def render_report(resolution: Resolution, settings: Settings, *, json_lines: bool) -> Iterable[str]:
    """Every line the wrapper prints about a run: warnings, failures, then the summary or the verdict."""
    for skipped in resolution.skipped:
        yield render_skipped(skipped, json_lines=json_lines)
    for failure in resolution.failures:
        yield render_failure(failure, settings, resolution.principal_id, json_lines=json_lines)
    if resolution.failures:
        count = len(resolution.failures)
        verdict = f"{count} variable{'s' * (count != 1)} could not be resolved; the command was not started"
        yield json.dumps({"event": "aborted", "failed": count}) if json_lines else f"error: {verdict}"
    else:
        yield render_summary(resolution, json_lines=json_lines)


_SENTENCE_END = re.compile(r"(?<=\.)\s+(?=[A-Z])")


def _one_line(error: Exception, limit: int = 240) -> str:
    """The first line of a store's message: Key Vault's 403 bodies run to eight lines, the report has one."""
    lines = str(error).strip().splitlines()
    text = lines[0].strip() if lines else type(error).__name__
    if len(text) > limit:  # Key Vault's 404 goes on about recovering deleted secrets: keep the first sentence
        text = _SENTENCE_END.split(text, maxsplit=1)[0]
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _vault_of(failure: Failure, settings: Settings) -> KeyVaultReference | None:
    try:
        ref = parse_reference(failure.reference, settings.cloud_info) if failure.reference else None
    except InvalidReference:
        return None
    return ref if isinstance(ref, KeyVaultReference) else None
