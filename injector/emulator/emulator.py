"""The public handle on a running emulator: start, stop, and what a client process needs to reach it.

``Emulator(config).start()`` serves on one 127.0.0.1 port in background threads; ``env()`` gives the variables
(proxy, CA bundle, MSI endpoint and secret) that make unmodified Azure SDK clients talk to it.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from .ca import CertificateAuthority
from .config import ConfigError, load_config, parse_fault
from .model import EmulatorConfig, FaultRule
from .rbac import RoleAssignment, new_assignment_name, resolve_role
from .server import MSI_PATH, EmulatorServer
from .state import EmulatorState

__all__ = ["Emulator"]


class Emulator:
    """A local fake of the MSI endpoint, ARM and Key Vault behind one HTTPS-proxy port."""

    def __init__(
        self,
        config: EmulatorConfig | str | Path | Mapping[str, Any],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: str | Path | None = None,
    ) -> None:
        self.config = load_config(config)
        self.host = host
        self._requested_port = port
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._temp_dir: str | None = None
        self.state = EmulatorState(self.config)
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._ca: CertificateAuthority | None = None

    # ------------------------------------------------------------------------------------------ lifecycle
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        if self._state_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="secret-injector-emulator-")
            directory = Path(self._temp_dir)
        else:
            directory = self._state_dir
        self._ca = CertificateAuthority(directory)
        self._server = EmulatorServer((self.host, self._requested_port), self.state, self._ca)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_all()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def _require(self) -> EmulatorServer:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._server

    # ------------------------------------------------------------------------------------------ addresses
    @property
    def port(self) -> int:
        return int(self._require().server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def proxy_url(self) -> str:
        return self.base_url

    @property
    def msi_endpoint(self) -> str:
        return self.base_url + MSI_PATH

    @property
    def msi_secret(self) -> str:
        return self.config.msi_secret

    @property
    def ca_file(self) -> str:
        self._require()
        assert self._ca is not None
        return str(self._ca.cert_file)

    def env(self, identity: str | None = None) -> dict[str, str]:
        """The variables a client process needs: proxy, CA bundle, MSI endpoint and secret (never proxied).

        ``identity`` names a configured identity: a system-assigned one gets its own ``MSI_SECRET`` (as each
        deployment does); a user-assigned one adds its client id as ``UAI_CLIENT_ID`` and
        ``SECRET_INJECTOR_CLIENT_ID``.
        """
        secret = self.config.msi_secret
        extra: dict[str, str] = {}
        if identity is not None:
            ident = self.config.identities.get(identity)
            if ident is None:
                raise KeyError(f"no identity named {identity!r} (known: {', '.join(self.config.identities)})")
            if ident.type == "system_assigned":
                secret = self.state.identity_secret(ident)
            else:
                extra = {"UAI_CLIENT_ID": ident.client_id, "SECRET_INJECTOR_CLIENT_ID": ident.client_id}
        no_proxy = "127.0.0.1,localhost,::1"
        return {
            "HTTPS_PROXY": self.proxy_url,
            "https_proxy": self.proxy_url,
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
            "SSL_CERT_FILE": self.ca_file,
            "REQUESTS_CA_BUNDLE": self.ca_file,
            "MSI_ENDPOINT": self.msi_endpoint,
            "MSI_SECRET": secret,
            **extra,
        }

    # ------------------------------------------------------------------------------------------ control
    def stats(self) -> dict[str, int]:
        """Requests per route name since start (or the last reset), plus ``total``."""
        return self.state.counters.snapshot()

    def reset(self) -> None:
        """Zero the counters and forget fault hits and throttle buckets (role assignments stay)."""
        self.state.reset()

    def set_faults(self, rules: Iterable[FaultRule | Mapping[str, Any]]) -> None:
        """Replace the fault rules (dicts use the config's ``faults`` schema); their hit counts start at 0."""
        parsed = [
            r if isinstance(r, FaultRule) else parse_fault(r, f"faults[{i}]") for i, r in enumerate(rules)
        ]
        self.state.faults.set_rules(parsed)

    def grant(self, principal: str, role: str, scope: str) -> RoleAssignment:
        """Add a role assignment now (an identity name or principal id; a role name or GUID)."""
        ident = self.config.identities.get(principal)
        principal_id = ident.principal_id if ident else principal.lower()
        definition = resolve_role(role)
        if definition is None:
            raise ConfigError(f"unknown role {role!r}")
        name = new_assignment_name(principal_id, definition.id, scope)
        return self.state.roles.add(
            RoleAssignment(name, principal_id, definition, scope), ignore_existing=True
        )

    def token(self, identity: str, resource: str = "https://management.azure.com/") -> str:
        """A token for a configured identity, as the MSI endpoint would issue it (for tests and scripts)."""
        ident = self.config.identities[identity]
        token, _ = self.state.issuer.issue(
            audience=resource,
            principal_id=ident.principal_id,
            client_id=ident.client_id,
            resource_id=ident.resource_id,
        )
        return token
