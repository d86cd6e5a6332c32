"""``check``: the preflight inside the container, with the deployment's own identity and settings.

For every reference: the syntax, a token per audience, the DNS answer for each vault host (private or public
address), the identity's effective permissions at each scope (``Microsoft.Authorization/permissions``, wildcards
matched here) and a real read through the resolver, whose value is dropped unseen. Runs in the runtime image:
azure-identity, httpx and azure-keyvault-secrets only (no azure-ai-ml, no PyYAML).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._exceptions import (
    AccessDenied,
    BackendUnavailable,
    ConfigurationError,
    CredentialUnavailable,
    InjectorError,
    ResolutionError,
)
from .._references import ConnectionReference, KeyVaultReference, Reference
from .roles import CONNECTIONS_ROLE, KEYVAULT_ROLE, Role, allows

if TYPE_CHECKING:
    import httpx
    from azure.core.credentials import TokenCredential

    from .._config import Settings
    from .arm import Arm

__all__ = ["CheckReport", "Row", "Step", "check", "dns_step"]

Status = Literal["ok", "info", "warning", "error"]
_RANK = {"ok": 0, "info": 0, "warning": 1, "error": 2}
Resolver = Callable[[str], list[str]]


@dataclass(frozen=True)
class Step:
    """One check of one thing: ``name`` is syntax, token, dns, permissions or read (or settings, identity)."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    subject: str = ""
    error: InjectorError | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, str]:
        out = {"check": self.name, "status": self.status, "detail": self.detail}
        if self.subject:
            out["subject"] = self.subject
        if self.fix:
            out["fix"] = self.fix
        if isinstance(self.error, ResolutionError):
            out["code"] = self.error.code
        return out


@dataclass
class Row:
    """One variable: the stores it reads, and every check that concerns it."""

    variable: str
    stores: tuple[str, ...] = ()
    steps: list[Step] = field(default_factory=list)

    @property
    def status(self) -> Status:
        worst: Status = max((s.status for s in self.steps), key=_RANK.__getitem__, default="ok")
        return "ok" if worst == "info" else worst

    @property
    def problem(self) -> Step | None:
        """The first step at the row's status (the one the table shows), when it is not ok."""
        return next((s for s in self.steps if s.status == self.status), None) if self.status != "ok" else None

    @property
    def fix(self) -> str:
        return self.problem.fix if self.problem else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "stores": list(self.stores),
            "status": self.status,
            "fix": self.fix,
            "checks": [s.to_dict() for s in self.steps],
        }


@dataclass
class CheckReport:
    """The preflight's findings: global ones (settings, identity, tokens, DNS) and one row per variable."""

    notes: list[Step] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    principal_id: str | None = None

    @property
    def errors(self) -> list[InjectorError]:
        steps = {id(s): s for s in self.notes + [s for row in self.rows for s in row.steps]}
        return [s.error or ConfigurationError(s.detail) for s in steps.values() if s.status == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "principal_id": self.principal_id,
            "notes": [n.to_dict() for n in self.notes],
            "variables": [r.to_dict() for r in self.rows],
        }


def check(
    environ: Mapping[str, str] | None = None,
    *,
    credential: TokenCredential | None = None,
    http_client: httpx.Client | None = None,
    resolve_host: Resolver | None = None,
) -> CheckReport:
    """Check every secret reference in ``environ`` (default ``os.environ``) the way the deployment will use it.

    Nothing is printed and no value is kept: the report holds names, codes and fixes only.

    **Parameters:**
    * **credential** - default: the one the settings ask for (the managed identity in a deployment).
    * **http_client** - default: the proxy/CA-aware, token-guarded client the runtime uses.
    * **resolve_host** - host name -> addresses; default: the system resolver.
    """
    from .._config import Settings
    from .yaml_env import find_references

    environ = dict(os.environ if environ is None else environ)
    report = CheckReport()
    try:
        settings = Settings.from_environ(environ)
    except ConfigurationError as exc:
        report.notes.append(
            Step("settings", "error", str(exc), "correct the SECRET_INJECTOR_* setting", error=exc)
        )
        return report
    references = find_references(environ, settings.cloud_info)
    for name, error in sorted(references.invalid.items()):
        fix = "correct the reference (forms: see the README, 'Reference forms')"
        report.rows.append(Row(name, (), [Step("syntax", "error", str(error), fix, error=error)]))
    if not references.templates:
        if not references.invalid:
            report.notes.append(Step("references", "info", "no secret reference in the environment"))
        return report
    for name, template in sorted(references.templates.items()):
        stores = tuple(dict.fromkeys(r.store for r in template.references))
        report.rows.append(
            Row(name, stores, [Step("syntax", "ok", f"{len(template.references)} reference(s)")])
        )
    _Checker(settings, environ, report, credential, http_client, resolve_host).run(
        {name: list(t.references) for name, t in references.templates.items()}
    )
    report.rows.sort(key=lambda row: row.variable)
    return report


class _Checker:
    """The network side of one check: one HTTP client, one credential, one deadline."""

    def __init__(
        self,
        settings: Settings,
        environ: dict[str, str],
        report: CheckReport,
        credential: TokenCredential | None,
        http_client: httpx.Client | None,
        resolve_host: Resolver | None,
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.report = report
        self._credential = credential
        self._http = http_client
        self._resolve_host = resolve_host or _system_resolver
        self._rows = {row.variable: row for row in report.rows}
        self._permissions: dict[str, Step] = {}

    def run(self, references: dict[str, list[Reference]]) -> None:
        from azure.core.experimental.transport import HttpXTransport

        from .._credentials import create_credential
        from .._http import create_http_client
        from .arm import Arm

        cloud = self.settings.cloud_info
        http = self._http or create_http_client(cloud)
        try:
            transport = HttpXTransport(client=http, client_owner=False)
            credential = self._credential or create_credential(self.settings, self.environ, transport)
            arm = Arm(credential, cloud, http_client=http, timeout=self.settings.timeout)
            self._check(arm, credential, http, references)
        finally:
            if self._http is None:
                http.close()

    def _check(
        self,
        arm: Arm,
        credential: TokenCredential,
        http: httpx.Client,
        references: dict[str, list[Reference]],
    ) -> None:
        cloud = self.settings.cloud_info
        refs = [(name, ref) for name, items in references.items() for ref in items]
        needs_arm = any(isinstance(r, ConnectionReference) for _, r in refs)
        needs_vault = any(isinstance(r, KeyVaultReference) for _, r in refs)
        arm_ok = self._token(
            arm,
            cloud.arm_scope,
            required=needs_arm,
            rows=[n for n, r in refs if isinstance(r, ConnectionReference)],
        )
        if needs_vault:
            self._token(
                arm,
                cloud.keyvault_scope,
                required=True,
                rows=[n for n, r in refs if isinstance(r, KeyVaultReference)],
            )
            for host in sorted(
                {r.vault_url.removeprefix("https://") for _, r in refs if isinstance(r, KeyVaultReference)}
            ):
                # os.environ, not self.environ: the proxy that matters is the one httpx reads (trust_env).
                step = dns_step(host, self._resolve_host, os.environ)
                self.report.notes.append(step)
                for name, ref in refs:
                    on_host = isinstance(ref, KeyVaultReference) and ref.vault_url == f"https://{host}"
                    if on_host and step.status in ("warning", "error"):
                        self._rows[name].steps.append(step)
        for name, ref in refs:
            step = (
                self._permission(arm, ref)
                if arm_ok
                else Step("permissions", "info", "not checked: no ARM token", subject=str(ref))
            )
            self._rows[name].steps.append(step)
        self._read(credential, http, references)

    def _token(self, arm: Arm, scope: str, *, required: bool, rows: list[str]) -> bool:
        audience = scope.removesuffix("/.default")
        try:
            token = arm.token(scope)
        except CredentialUnavailable as exc:
            status: Status = "error" if required else "info"
            fix = (
                "give the endpoint a managed identity (for a user-assigned one set SECRET_INJECTOR_CLIENT_ID to its "
                "client id)"
            )
            step = Step("token", status, str(exc), fix, subject=audience, error=exc if required else None)
            self.report.notes.append(step)
            for name in rows if required else []:
                self._rows[name].steps.append(step)
            return False
        from .._credentials import principal_of

        self.report.principal_id = self.report.principal_id or principal_of(token)
        self.report.notes.append(Step("token", "ok", f"token for {audience}", subject=audience))
        return True

    def _permission(self, arm: Arm, ref: Reference) -> Step:
        if isinstance(ref, ConnectionReference):
            scope = self.settings.workspace_id
            if scope is None:
                error = ConfigurationError("connection references need SECRET_INJECTOR_WORKSPACE_ID")
                return Step(
                    "permissions",
                    "error",
                    str(error),
                    "set SECRET_INJECTOR_WORKSPACE_ID in the deployment's environment_variables",
                    error=error,
                )
            return self._permission_at(arm, scope, CONNECTIONS_ROLE, f"workspace {scope.rsplit('/', 1)[-1]}")
        vault_id = self._vault_id(arm, ref)
        if vault_id is None:
            return Step(
                "permissions",
                "info",
                f"not checked: vault {ref.vault_name} is not visible to this identity in ARM (reading secrets "
                "does not need that); the read is the authority",
                subject=str(ref),
            )
        return self._permission_at(
            arm,
            f"{vault_id}/secrets/{ref.name}",
            KEYVAULT_ROLE,
            f"secret {ref.name} of vault {ref.vault_name}",
        )

    def _permission_at(self, arm: Arm, scope: str, role: Role, what: str) -> Step:
        if scope in self._permissions:
            return self._permissions[scope]
        try:
            granted = allows(arm.permissions(scope), role.permission, data_action=role.data_action)
        except ResolutionError as exc:
            step = Step("permissions", "info", f"not checked at {what}: {exc}", subject=scope)
        else:
            if granted:
                step = Step("permissions", "ok", f"{role.permission} allowed at {what}", subject=scope)
            else:
                error = AccessDenied(
                    f"the identity lacks {role.permission} at {what}", code="PermissionMissing", status=403
                )
                fix = (
                    f'az role assignment create {self._assignee()} --role "{role.name}" --scope '
                    f"{scope if role is CONNECTIONS_ROLE else scope.rsplit('/secrets/', 1)[0]}"
                )
                step = Step("permissions", "error", str(error), fix, subject=scope, error=error)
        self._permissions[scope] = step
        return step

    def _assignee(self) -> str:
        principal = self.report.principal_id
        if principal:
            return f"--assignee-object-id {principal} --assignee-principal-type ServicePrincipal"
        return "--assignee <the endpoint identity's principal id>"

    def _vault_id(self, arm: Arm, ref: KeyVaultReference) -> str | None:
        workspace_id = self.settings.workspace_id
        if workspace_id is None:
            return None
        subscription = workspace_id.strip("/").split("/")[1]
        try:
            found = arm.find_vault(subscription, ref.vault_name)
        except ResolutionError:
            return None
        return str(found["id"]) if found and found.get("id") else None

    def _read(
        self, credential: TokenCredential, http: httpx.Client, references: dict[str, list[Reference]]
    ) -> None:
        from .._report import fix_for
        from .._resolver import Client

        client = Client(self.settings, credential=credential, http_client=http, environ=self.environ)
        subset = {name: self.environ[name] for name in references}
        resolution = client.resolve_detailed(subset, optional=frozenset())
        principal = resolution.principal_id or self.report.principal_id
        failed = {f.env_var: f for f in resolution.failures}
        resolved = set(resolution.resolved)
        del resolution  # it holds the values: drop it before anything else happens
        for name in references:
            row = self._rows[name]
            optional = name in self.settings.optional
            if name in failed:
                failure = failed[name]
                status: Status = "warning" if optional else "error"
                text = str(failure.error)
                detail = (text if failure.code in text else f"{failure.code}: {text}") + (
                    " (optional variable)" if optional else ""
                )
                fix = fix_for(failure, self.settings, principal)
                row.steps.append(
                    Step(
                        "read",
                        status,
                        detail,
                        fix,
                        subject=failure.reference,
                        error=None if optional else failure.error,
                    )
                )
            elif name in resolved:
                row.steps.append(Step("read", "ok", "read (value not shown)"))
                # A read that works outranks a permissions answer that says otherwise (group membership,
                # propagation delay, a condition the permissions API cannot express).
                row.steps[:] = [_soften(s) for s in row.steps]


def _soften(step: Step) -> Step:
    if step.name != "permissions" or step.status != "error":
        return step
    return Step(step.name, "warning", f"{step.detail}, yet the read succeeded", step.fix, step.subject)


def dns_step(host: str, resolve_host: Resolver, environ: Mapping[str, str]) -> Step:
    """Where ``host`` resolves: a private address (a private endpoint), a public one, or nowhere.

    Behind a proxy the proxy resolves the name, not this container: then nothing is looked up here (it could
    not say what the proxy sees) and the step is information only.
    """
    proxy = _proxy_for(host, environ)
    if proxy is not None:
        return Step(
            "dns", "info", f"{host}: resolved by the proxy {proxy}, not checked from here", subject=host
        )
    try:
        addresses = resolve_host(host)
    except OSError as exc:
        return Step(
            "dns",
            "error",
            f"{host} does not resolve ({exc.strerror or exc})",
            "check the private DNS zone privatelink.vaultcore.azure.net is linked to the network, or the vault name",
            subject=host,
            error=BackendUnavailable(f"{host} does not resolve", code="NameNotResolved"),
        )
    private = [a for a in addresses if _is_private(a)]
    if private:
        return Step(
            "dns", "ok", f"{host} -> {', '.join(private)} (private address: a private endpoint)", subject=host
        )
    return Step(
        "dns",
        "info",
        f"{host} -> {', '.join(addresses) or 'no address'} (public address: no private endpoint in this network)",
        "in a network that allows only approved outbound traffic, add a private-endpoint outbound rule for the vault",
        subject=host,
    )


def _is_private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_private and not ip.is_loopback


def _system_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _proxy_for(host: str, environ: Mapping[str, str]) -> str | None:
    """The HTTPS proxy a request to ``host`` would use, honouring NO_PROXY the way httpx does (trust_env)."""
    proxies = {
        k.lower().removesuffix("_proxy"): v for k, v in environ.items() if k.lower().endswith("_proxy") and v
    }
    proxy = proxies.get("https") or proxies.get("all")
    if not proxy:
        return None
    for entry in proxies.get("no", "").split(","):
        entry = entry.strip().lower().split(":", 1)[0].lstrip(".")
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return None
    return proxy
