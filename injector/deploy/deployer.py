"""The deploy-time API: a ``Deployer`` session (one credential, one HTTP client, one deadline), and the one-call
``plan``/``grant`` functions that build a throwaway session and delegate to it.

    from injector.deploy import Deployer
    with Deployer(credential="developer") as deployer:
        the_plan = deployer.plan("deployment.yml", endpoint="my-endpoint", workspace_id=WORKSPACE_ID)
        report = deployer.grant(the_plan, dry_run=True)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from .._clouds import get_cloud
from .._exceptions import ConfigurationError
from .arm import Arm, WorkspaceId
from .granting import GrantReport, apply_plan
from .identity import EndpointIdentity, client_id_from, get_endpoint_identity
from .planning import WORKSPACE_SETTING, DeploymentPlan, Scope, build_plan
from .yaml_env import read_environment

if TYPE_CHECKING:
    import httpx
    from azure.core.credentials import TokenCredential

__all__ = ["CredentialKind", "Deployer", "grant", "plan"]

CredentialKind = Literal["developer", "managed"]
DEFAULT_TIMEOUT = 120.0


class Deployer:
    """Deploy-time operations with one credential: compute a plan, then grant it.

    **Parameters:**
    * **credential** - ``"developer"`` (DefaultAzureCredential without managed identity: Azure CLI, environment,
      ... as on a laptop; the default), ``"managed"`` (this machine's managed identity, e.g. a CI runner's), or any
      azure-core ``TokenCredential``.
    * **cloud** - ``AzureCloud`` (default), ``AzureChinaCloud`` or ``AzureUSGovernment``.
    * **http_client** - default: a proxy/CA-aware, token-guarded httpx client (closed with the session).
    * **timeout** - seconds for the whole session, retries included.
    * **environ** - where proxy and credential settings are read from; default ``os.environ``.
    """

    def __init__(
        self,
        credential: TokenCredential | CredentialKind = "developer",
        *,
        cloud: str = "AzureCloud",
        http_client: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        from .._http import create_http_client

        self.cloud = get_cloud(cloud)
        self._environ = os.environ if environ is None else environ
        self.http = http_client or create_http_client(self.cloud)
        self._owns_http = http_client is None
        self.credential = self._credential(credential) if isinstance(credential, str) else credential
        self.arm = Arm(self.credential, self.cloud, http_client=self.http, timeout=timeout)

    def _credential(self, kind: str) -> TokenCredential:
        from azure.core.experimental.transport import HttpXTransport

        from .._config import Settings
        from .._credentials import create_credential

        if kind not in ("developer", "managed"):
            raise ConfigurationError(f"unknown credential {kind!r}; expected developer or managed")
        settings = Settings.from_environ(self._environ).model_copy(update={"credential": kind})
        transport = HttpXTransport(client=self.http, client_owner=False)
        return create_credential(settings, self._environ, transport)

    def __enter__(self) -> Deployer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def identity(self, endpoint: str, workspace_id: str, *, client_id: str | None = None) -> EndpointIdentity:
        """The identity the endpoint's deployments run as (read through azure-ai-ml)."""
        workspace = WorkspaceId.parse(workspace_id)
        return get_endpoint_identity(
            endpoint, workspace, self.credential, self.cloud, self.http, client_id=client_id
        )

    def plan(
        self,
        deployment: str | os.PathLike[str] | Mapping[str, str],
        *,
        endpoint: str,
        workspace_id: str | None = None,
        scope: Scope = "vault",
        client_id: str | None = None,
        identity: EndpointIdentity | None = None,
        network: bool = True,
    ) -> DeploymentPlan:
        """The role assignments, settings and network changes ``deployment`` needs. Reads only.

        **Parameters:**
        * **deployment** - the deployment YAML's path, or its ``environment_variables`` as a mapping.
        * **endpoint** - the online endpoint's name.
        * **workspace_id** - the workspace's ARM id; default: ``SECRET_INJECTOR_WORKSPACE_ID`` in the deployment.
        * **scope** - ``"vault"`` (one Key Vault assignment per vault) or ``"secret"`` (one per secret).
        * **client_id** - which user-assigned identity the container uses; default: the one the deployment names
          (``SECRET_INJECTOR_CLIENT_ID``, ``UAI_CLIENT_ID``), else the endpoint's only one.
        * **identity** - skip the azure-ai-ml lookup and plan for this identity.
        """
        if isinstance(deployment, Mapping):
            environ, source = dict(deployment), None
        else:
            environ, source = read_environment(deployment), os.fspath(deployment)
        workspace_id = workspace_id or environ.get(WORKSPACE_SETTING)
        if not workspace_id:
            raise ConfigurationError(
                f"which workspace? pass --workspace-id, or set {WORKSPACE_SETTING} in the deployment"
            )
        workspace = WorkspaceId.parse(workspace_id)
        if identity is None:
            identity = self.identity(endpoint, str(workspace), client_id=client_id or client_id_from(environ))
        return build_plan(
            self.arm,
            environ=environ,
            endpoint=endpoint,
            workspace=workspace,
            identity=identity,
            scope=scope,
            deployment=source,
            network=network,
        )

    def grant(
        self, plan: DeploymentPlan, *, dry_run: bool = False, apply_network: bool = False
    ) -> GrantReport:
        """Create the missing role assignments of ``plan`` (and outbound rules with ``apply_network``).

        Idempotent: what exists is reported as present and left alone. ``dry_run`` reads only.
        """
        return apply_plan(self.arm, plan, dry_run=dry_run, apply_network=apply_network)


def plan(
    deployment: str | os.PathLike[str] | Mapping[str, str],
    *,
    endpoint: str,
    workspace_id: str | None = None,
    scope: Scope = "vault",
    client_id: str | None = None,
    credential: TokenCredential | CredentialKind = "developer",
    cloud: str = "AzureCloud",
    timeout: float = DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> DeploymentPlan:
    """``Deployer(credential, cloud=cloud).plan(deployment, ...)`` in one call. Reads only."""
    with Deployer(credential, cloud=cloud, timeout=timeout) as deployer:
        return deployer.plan(
            deployment,
            endpoint=endpoint,
            workspace_id=workspace_id,
            scope=scope,
            client_id=client_id,
            **kwargs,
        )


def grant(
    deployment: str | os.PathLike[str] | Mapping[str, str],
    *,
    endpoint: str,
    workspace_id: str | None = None,
    scope: Scope = "vault",
    client_id: str | None = None,
    dry_run: bool = False,
    apply_network: bool = False,
    credential: TokenCredential | CredentialKind = "developer",
    cloud: str = "AzureCloud",
    timeout: float = DEFAULT_TIMEOUT,
) -> GrantReport:
    """Plan ``deployment`` and grant what it needs, idempotently; ``dry_run`` reads only."""
    with Deployer(credential, cloud=cloud, timeout=timeout) as deployer:
        the_plan = deployer.plan(
            deployment, endpoint=endpoint, workspace_id=workspace_id, scope=scope, client_id=client_id
        )
        return deployer.grant(the_plan, dry_run=dry_run, apply_network=apply_network)
