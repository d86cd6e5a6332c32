"""The resolver: plan -> dedupe -> concurrent fetch -> map back. A function of (environment, stores).

One List Secrets call per connection and one Get Secret per (vault, name, version), however many variables use
them; one token per audience; bounded concurrency; retries for transient failures only; one overall deadline.
It never touches ``os.environ``: it returns a new mapping.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._config import Settings
from ._deadline import Deadline, call_with_retries
from ._exceptions import (
    BackendUnavailable,
    ConfigurationError,
    InjectorError,
    InvalidReference,
    InvalidValue,
    ResolutionError,
    ResolutionFailed,
)
from ._outcome import Failure, Resolution
from ._references import ConnectionReference, KeyVaultReference, Reference, Template, parse_value

if TYPE_CHECKING:
    import httpx
    from azure.core.credentials import TokenCredential

__all__ = ["Client", "Plan", "check_env_value", "plan"]

# How many chains of reads (see _Run.fetch), each on one keep-alive connection, one host gets at most. Fewer
# chains mean fewer TLS handshakes and less connection-pool bookkeeping (bench/growth.py at 500 references:
# one connection per read 3.3 s, 4 chains 2.7 s, 2 chains 2.5 s on 2 cores against the emulator); more chains
# mean fewer round trips one after another. ARM's List Secrets takes hundreds of milliseconds on Azure's side
# and a run references a handful of connections, so ARM gets more chains than a vault, whose reads are quick.
ARM_CHAINS = 8
VAULT_CHAINS = 4

# Linux refuses an environment string ("NAME=value") longer than MAX_ARG_STRLEN (32 pages) with E2BIG.
MAX_ENV_STRING = 131072


_Read = tuple["Future[Any]", Callable[[], Any]]  # one store read, and the future its result settles
_Chain = list[_Read]


@dataclass
class Plan:
    """Which variables hold references, and the unique store reads they need."""

    templates: dict[str, Template] = field(default_factory=dict)
    invalid: list[Failure] = field(default_factory=list)

    @property
    def references(self) -> set[Reference]:
        return {ref for template in self.templates.values() for ref in template.references}

    @property
    def connections(self) -> set[str]:
        return {r.connection for r in self.references if isinstance(r, ConnectionReference)}

    @property
    def secrets(self) -> set[KeyVaultReference]:
        return {r for r in self.references if isinstance(r, KeyVaultReference)}

    @property
    def empty(self) -> bool:
        return not self.templates and not self.invalid


def plan(environ: Mapping[str, str], settings: Settings) -> Plan:
    """Parse every value; malformed references become failures that name their variable."""
    result = Plan()
    for name, value in environ.items():
        try:
            template = parse_value(value, settings.cloud_info)
        except InvalidReference as exc:
            result.invalid.append(Failure(name, exc.fragment or "", "", exc.with_env_var(name)))
            continue
        if template is not None:
            result.templates[name] = template
    return result


def check_env_value(name: str, value: str) -> None:
    """Raise InvalidValue if ``value`` cannot be passed to a child process under ``name``."""
    if "\0" in value:
        raise InvalidValue(
            f"{name}: the resolved value contains a NUL byte, which an environment cannot hold"
        )
    size = len(name.encode()) + 1 + len(value.encode("utf-8", "surrogateescape")) + 1
    if size > MAX_ENV_STRING:
        raise InvalidValue(
            f"{name}: the resolved value is {size} bytes, over the kernel's {MAX_ENV_STRING}-byte limit for one "
            "environment string; read it in score.py with injector.resolve(...) instead"
        )


class Client:
    """Resolves secret references with one identity, against the stores of one cloud.

    Usage::

        client = injector.Client()                    # settings from os.environ
        new_env = client.resolve_environ(os.environ)   # raises ResolutionFailed, naming every failed variable

    **Parameters:**
    * **settings** - a ``Settings``; default: read from ``environ`` (or ``os.environ``).
    * **credential** - an azure-core ``TokenCredential``; default: the one the settings ask for.
    * **http_client** - the ``httpx.Client`` all requests go through; default: proxy/CA-aware, token-guarded.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        credential: TokenCredential | None = None,
        http_client: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings or Settings.from_environ(environ)
        self._credential = credential
        self._http = http_client
        self._environ = environ

    def resolve_environ(self, environ: Mapping[str, str]) -> dict[str, str]:
        """A copy of ``environ`` with every reference resolved; raises ResolutionFailed if a required one fails."""
        resolution = self.resolve_detailed(environ)
        if resolution.failures:
            raise ResolutionFailed(resolution.failures)
        return resolution.environ

    def resolve(self, text: str) -> str:
        """``text`` with its references resolved (text without a reference comes back unchanged)."""
        resolution = self.resolve_detailed({"value": text}, optional=frozenset())
        if resolution.failures:
            raise resolution.failures[0].error
        return resolution.environ["value"]

    def resolve_detailed(
        self, environ: Mapping[str, str], *, optional: frozenset[str] | None = None
    ) -> Resolution:
        """Resolve ``environ`` and report per-variable outcomes, timings and request counts."""
        started = time.monotonic()
        optional = self.settings.optional if optional is None else optional
        the_plan = plan(environ, self.settings)
        if the_plan.empty:
            return Resolution(environ=dict(environ))
        run = _Run(self, the_plan)
        values, errors = run.fetch()
        failures = list(the_plan.invalid)
        new_env = dict(environ)
        resolved: list[str] = []
        for name, template in the_plan.templates.items():
            try:
                new_env[name] = _render(name, template, values, errors)
                resolved.append(name)
            except _VariableFailed as failed:
                failures.append(Failure(name, failed.reference, failed.store, failed.error))
        skipped = [f for f in failures if f.env_var in optional]
        for failure in skipped:
            new_env.pop(failure.env_var, None)
        return Resolution(
            environ=new_env,
            resolved=tuple(resolved),
            failures=tuple(f for f in failures if f.env_var not in optional),
            skipped=tuple(skipped),
            stores=len(the_plan.connections) + len({s.vault_url for s in the_plan.secrets}),
            requests=run.request_counts(),
            elapsed=time.monotonic() - started,
            principal_id=run.principal_id,
        )


class _VariableFailed(Exception):
    def __init__(self, reference: str, store: str, error: InjectorError) -> None:
        self.reference, self.store, self.error = reference, store, error


def _render(
    name: str, template: Template, values: Mapping[Any, Any], errors: Mapping[Any, InjectorError]
) -> str:
    from ._stores.workspace import select

    parts: dict[Reference, str] = {}
    for ref in template.references:
        key = _store_key(ref)
        try:
            if key in errors:
                raise errors[key]
            parts[ref] = select(ref, values[key]) if isinstance(ref, ConnectionReference) else values[key]
        except InjectorError as exc:
            raise _VariableFailed(str(ref), ref.store, exc) from None
    value = template.render(parts)
    try:
        check_env_value(name, value)
    except InvalidValue as exc:
        raise _VariableFailed(str(template) if template.is_whole else "", "", exc) from None
    return value


def _store_key(ref: Reference) -> Any:
    """What two references share when one store read serves both."""
    return ("connection", ref.connection) if isinstance(ref, ConnectionReference) else ref


class _Run:
    """The network side of one resolution: tokens, store clients and the thread pool, for one deadline."""

    def __init__(self, client: Client, the_plan: Plan) -> None:
        self.settings = client.settings
        self.plan = the_plan
        self.deadline = Deadline(self.settings.timeout)
        self.principal_id: str | None = None
        self._client = client
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._vaults: dict[str, Any] = {}
        self._identity = threading.local()  # the status of this thread's last identity-endpoint response
        # Per vault, the chains of reads that wait for its first read to cache the challenge (see fetch).
        self._waiting: dict[str, list[_Chain]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def fetch(self) -> tuple[dict[Any, Any], dict[Any, InjectorError]]:
        """Read every unique store item concurrently; values and errors keyed by store key.

        Reads to one host run in at most ARM_CHAINS or VAULT_CHAINS chains, each chain one worker reading one
        item after another over one keep-alive connection: a new connection costs a CONNECT round trip and a
        TLS handshake, which is what a run of hundreds of references would otherwise spend its time on.
        """
        values: dict[Any, Any] = {}
        errors: dict[Any, InjectorError] = {}
        futures: dict[Future[Any], Any] = {}

        def read(key: Any, job: Callable[[], Any]) -> _Read:
            future: Future[Any] = Future()
            futures[future] = key
            return future, job

        workspace_id = self.settings.workspace_id
        connection_reads: list[_Read] = []
        for connection in sorted(self.plan.connections):
            key = ("connection", connection)
            if workspace_id is None:
                errors[key] = ConfigurationError(
                    "connection references need the workspace: set SECRET_INJECTOR_WORKSPACE_ID to "
                    "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/"
                    "workspaces/<name>"
                )
            else:
                connection_reads.append(read(key, functools.partial(self._list_secrets, connection)))
        chains = _split(connection_reads, ARM_CHAINS)
        # The first read of each vault goes first in its chain: it pays the SDK's challenge round trip and seeds
        # its cache. The vault's other chains are queued once the challenge is cached (or that read is over), so
        # N variables on one vault never cost N challenges, and no worker sits idle waiting for that moment.
        by_vault: dict[str, list[KeyVaultReference]] = {}
        for ref in sorted(self.plan.secrets, key=str):
            by_vault.setdefault(ref.vault_url, []).append(ref)
        for vault_url, refs in by_vault.items():
            reads = [
                read(ref, functools.partial(self._get_secret, ref, first=i == 0))
                for i, ref in enumerate(refs)
            ]
            first, *later = _split(reads, VAULT_CHAINS)
            chains.append(first)
            self._waiting[vault_url] = later
        if not futures:
            return values, errors
        self._setup()
        pool = self._pool = ThreadPoolExecutor(
            max_workers=self.settings.concurrency, thread_name_prefix="secret-injector"
        )
        for chain in chains:
            pool.submit(self._run_chain, chain)
        _, pending = wait(futures, timeout=self.deadline.remaining() + 1.0)
        with self._lock:  # chains not yet released stay pending: the deadline passed
            self._waiting.clear()
        pool.shutdown(wait=False, cancel_futures=True)
        self._http.event_hooks["response"].remove(self._count)
        for future, key in futures.items():
            if future in pending:
                errors[key] = BackendUnavailable(
                    f"no answer before the {self.settings.timeout:g} s deadline", code="DeadlineExceeded"
                )
            elif (exc := future.exception()) is not None:
                errors[key] = exc if isinstance(exc, InjectorError) else _unexpected(exc)
            else:
                values[key] = future.result()
        return values, errors

    def _run_chain(self, chain: _Chain) -> None:
        """Run a chain's reads one after another, settling each one's future; stop at the deadline."""
        for future, job in chain:
            if self.deadline.expired():
                return  # the rest stay pending and are reported as past the deadline
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)

    def request_counts(self) -> dict[str, int]:
        with self._lock:
            counts = dict(self._counts)
        if self._broker is not None:
            counts["token"] = self._broker.requests
        return counts

    _broker: Any = None

    def _setup(self) -> None:
        from azure.core.experimental.transport import HttpXTransport

        from ._credentials import TokenBroker, create_credential
        from ._http import create_http_client

        # One connection per worker (a chain holds one at a time): httpcore's pool bookkeeping is quadratic in
        # its connections, and with twice as many it took a large part of a 500-reference run's CPU.
        self._http = self._client._http or create_http_client(
            self.settings.cloud_info, max_connections=self.settings.concurrency
        )
        self._http.event_hooks["response"].append(self._count)
        # connection_timeout bounds the identity requests too (azure-core's default is 300 s): never hang.
        self._transport = HttpXTransport(
            client=self._http, client_owner=False, connection_timeout=self.settings.timeout
        )
        new_credential = functools.partial(
            create_credential, self.settings, self._client._environ or _os_environ(), self._transport
        )
        self._broker = TokenBroker(
            self._client._credential or new_credential(),
            self.deadline,
            lambda: getattr(self._identity, "status", None),
            renew=None if self._client._credential else new_credential,
            identity_retry_after=lambda: getattr(self._identity, "retry_after", None),
        )

    def _count(self, response: httpx.Response) -> None:
        cloud = self.settings.cloud_info
        host = response.request.url.host
        kind = "arm" if host == cloud.arm_host else "keyvault" if cloud.is_keyvault_host(host) else "identity"
        if kind == "identity":
            from ._stores._errors import retry_after_seconds

            self._identity.status = response.status_code
            self._identity.retry_after = retry_after_seconds(response)
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1

    def _token(self, scope: str) -> str:
        from ._credentials import principal_of

        token = self._broker.get(scope).token
        if self.principal_id is None:
            self.principal_id = principal_of(token)
        return str(token)

    def _list_secrets(self, connection: str) -> Any:
        from ._stores.workspace import WorkspaceConnections

        cloud = self.settings.cloud_info
        token = self._token(cloud.arm_scope)
        assert self.settings.workspace_id is not None
        store = WorkspaceConnections(self._http, cloud, self.settings.workspace_id)
        return call_with_retries(
            lambda: store.list_secrets(connection, token, self.deadline.request_timeout()), self.deadline
        )

    def _get_secret(self, ref: KeyVaultReference, first: bool = False) -> Any:
        try:
            vault = self._vault(ref.vault_url)
            return call_with_retries(lambda: vault.get(ref, self.deadline.request_timeout()), self.deadline)
        finally:
            if first:  # a no-op when the challenge already released them
                self._release(ref.vault_url)

    def _release(self, vault_url: str) -> None:
        """Queue the chains of ``vault_url`` that waited for its challenge to be cached."""
        with self._lock:
            waiting = self._waiting.pop(vault_url, [])
        assert self._pool is not None
        for chain in waiting:
            try:
                self._pool.submit(self._run_chain, chain)
            except RuntimeError:  # the pool is shut down: the run is over, the futures stay pending
                return

    def _vault(self, vault_url: str) -> Any:
        from ._credentials import StaticTokenCredential
        from ._stores.keyvault import KeyVaultSecrets

        scope = self.settings.cloud_info.keyvault_scope
        self._token(scope)
        with self._lock:
            if vault_url not in self._vaults:
                # The SDK asks for the token right after it has cached the vault's challenge: from then on,
                # the other reads of this vault can go without waiting for the first one's answer.
                credential = StaticTokenCredential(
                    self._broker.get(scope), scope, on_use=functools.partial(self._release, vault_url)
                )
                self._vaults[vault_url] = KeyVaultSecrets(vault_url, credential, self._transport)
            return self._vaults[vault_url]


def _split(reads: list[_Read], chains: int) -> list[_Chain]:
    """Deal ``reads`` round-robin into at most ``chains`` chains (the first read leads the first chain)."""
    n = min(chains, len(reads))
    return [reads[i::n] for i in range(n)]


def _unexpected(exc: BaseException) -> InjectorError:
    # Only the type is kept: an unknown exception's text is not known to be free of values.
    return ResolutionError(f"unexpected {type(exc).__name__}", code="UnexpectedError")


def _os_environ() -> Mapping[str, str]:
    import os

    return os.environ
