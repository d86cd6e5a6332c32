"""The one listening port: an HTTPS proxy that terminates TLS for the Azure hosts it emulates, plus plain HTTP.

``CONNECT host:443`` for an emulated host gets ``200``, then the tunnel is wrapped in TLS with a certificate for
that host and served as that host (keep-alive, many requests per tunnel). Any other host is refused: this is
not a forwarding proxy, and nothing ever leaves the machine. Origin-form requests serve the MSI endpoint and the
``/_emulator/*`` control routes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import ssl
import struct
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .arm import ArmService
from .ca import CertificateAuthority
from .clouds import cloud_for_arm_host, cloud_for_vault_host
from .config import ConfigError, fault_to_dict, parse_fault
from .identity import handle_token_request
from .keyvault import route_keyvault
from .messages import Request, Response, json_response
from .state import EmulatorState

__all__ = ["EmulatorServer"]

log = logging.getLogger("injector.emulator")

Handler = Callable[[Request], Response]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
MSI_PATH = "/msi/token"


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that knows the emulator's state and CA, and tracks open connections."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: EmulatorState, ca: CertificateAuthority) -> None:
        self.state = state
        self.ca = ca
        self.arm = ArmService(state)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, ProxyHandler)

    # Connection tracking, so stop() can close idle keep-alive tunnels instead of leaving them to time out.
    def track(self, sock: socket.socket, add: bool) -> None:
        with self._open_lock:
            (self._open.add if add else self._open.discard)(sock)

    def close_all(self) -> None:
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):  # a plain shutdown, also under an SSLSocket
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on reverse DNS; it is not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    # ------------------------------------------------------------------------------------------ dispatch
    def route(self, request: Request) -> tuple[str | None, Handler]:
        """The route name (None for control routes, which are not counted) and the handler of a request."""
        if request.scheme == "http":
            if request.path == MSI_PATH:
                return "token", lambda req: handle_token_request(self.state, req)
            if request.path.startswith("/_emulator/"):
                return None, self._control
            return "unknown", lambda req: json_response(
                404, {"error": "not_found", "error_description": f"No route {req.path} on the emulator."}
            )
        cloud = cloud_for_arm_host(request.host)
        if cloud is not None:
            return self.arm.route(cloud, request)
        vault = self.state.vault_by_host(request.host)
        if vault is not None:
            return route_keyvault(self.state, vault, request)
        return "unknown", lambda req: json_response(
            404, {"error": {"code": "NotFound", "message": "unknown host"}}
        )

    def dispatch(self, request: Request) -> Response:
        route, handler = self.route(request)
        if route is None:
            return handler(request)
        self.state.counters.add(route)
        decision = self.state.faults.decide(route, request.host, request.path)
        if decision.latency_s:
            time.sleep(decision.latency_s)
        if decision.reset:
            return Response.abort()
        if decision.status is not None:
            return _fault_response(route, decision.status, decision.retry_after)
        try:
            return handler(request)
        except Exception:  # a bug in the emulator: answer 500 rather than drop the connection
            log.exception("emulator error serving %s %s%s", request.method, request.host, request.path)
            return json_response(
                500, {"error": {"code": "EmulatorError", "message": "internal emulator error"}}
            )

    def _control(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/_emulator/stats" and request.method == "GET":
            return json_response(200, self.state.counters.snapshot())
        if path == "/_emulator/reset" and request.method == "POST":
            self.state.reset()
            return json_response(200, {"reset": True})
        if path == "/_emulator/faults" and request.method in {"GET", "PUT"}:
            if request.method == "PUT":
                try:
                    data = request.json() or []
                    if not isinstance(data, list):
                        raise ConfigError("faults: expected a JSON list of fault rules")
                    rules = [parse_fault(item, f"faults[{i}]") for i, item in enumerate(data)]
                except (ValueError, ConfigError) as exc:
                    return json_response(400, {"error": str(exc)})
                self.state.faults.set_rules(rules)
            return json_response(200, [fault_to_dict(r) for r in self.state.faults.rules()])
        if path == "/_emulator/health":
            return json_response(200, {"ok": True})
        return json_response(404, {"error": f"no control route {request.method} {request.path}"})


def _fault_response(route: str, status: int, retry_after: int | None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    codes = {
        429: "TooManyRequests",
        500: "InternalServerError",
        502: "BadGateway",
        503: "ServiceUnavailable",
        504: "GatewayTimeout",
        408: "RequestTimeout",
    }
    code = codes.get(status, f"Http{status}")
    message = f"Injected fault: {status} on route {route}."
    if route == "token":
        return json_response(status, {"error": code, "error_description": message}, headers)
    if route.startswith("keyvault.") and status == 429:
        code = "Throttled"
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


class _BaseHandler(BaseHTTPRequestHandler):
    """Shared request plumbing: read the body, dispatch, write the response or reset the connection."""

    protocol_version = "HTTP/1.1"
    server_version = "secret-injector-emulator"
    sys_version = ""
    timeout = 300  # an idle keep-alive connection is closed after this many seconds
    server: EmulatorServer
    scheme = "http"
    _headers_buffer: list[bytes]

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _host(self) -> str:
        return (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self, host: str, target: str) -> None:
        body = self._read_body()
        headers: Mapping[str, str] = self.headers  # type: ignore[assignment]  # a case-insensitive Message
        request = Request.build(
            self.command, self.scheme, host, target, headers, body, self.client_address[0]
        )
        response = self.server.dispatch(request)
        if response.reset:
            self._reset()
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status not in (204, 304) and not (100 <= response.status < 200):
            self.send_header("Content-Length", str(len(response.body)))
        # Head and body in one send: two small writes on a keep-alive connection meet Nagle's algorithm and the
        # client's delayed ACK, which costs ~40 ms per response.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and response.body:
            self._headers_buffer.append(response.body)
        self.flush_headers()

    def _reset(self) -> None:
        """Close the connection abruptly (RST, no TLS close_notify), the way a crashing server would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            socket.socket.close(self.connection)  # bypass SSLSocket's orderly shutdown
        except OSError:
            pass

    def _dispatch_method(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self._dispatch_method()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET


class TunnelHandler(_BaseHandler):
    """Serves the HTTP/1.1 requests inside one TLS tunnel, as the host the tunnel was opened for."""

    scheme = "https"

    def __init__(self, request: Any, client_address: Any, server: EmulatorServer, host: str) -> None:
        self.tunnel_host = host
        super().__init__(request, client_address, server)

    def _dispatch_method(self) -> None:
        target = self.path
        if not target.startswith("/"):  # absolute-form inside a tunnel: keep the path only
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        self._serve(self.tunnel_host, target)


class ProxyHandler(_BaseHandler):
    """The plain-HTTP side: ``CONNECT`` for tunnels, origin-form for the MSI endpoint and control routes."""

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _dispatch_method(self) -> None:
        target = self.path
        if not target.startswith("/"):  # absolute-form: a client sent plain HTTP through us as a proxy
            parts = urlsplit(target)
            if (parts.hostname or "").lower() not in LOCAL_HOSTS:
                self._write(_refusal(403, f"The emulator does not forward plain HTTP to {parts.hostname}."))
                self.close_connection = True
                return
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        self._serve(self._host(), target)

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        host = host.strip("[]").lower()
        state = self.server.state
        state.counters.add("proxy.connect")
        refusal = self._refuse(host, port)
        if refusal is not None:
            state.counters.add("proxy.refused")
            self._write(refusal)
            self.close_connection = True
            return
        decision = state.faults.decide("proxy.connect", host, "")
        if decision.latency_s:
            time.sleep(decision.latency_s)
        if decision.reset:
            self._reset()
            return
        if decision.status is not None:
            self._write(_refusal(decision.status, "Injected fault on CONNECT."))
            self.close_connection = True
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        context = self.server.ca.server_context(host)
        raw = self.connection
        try:
            tls = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake for %s failed: %s", host, exc)
            return
        self.server.track(tls, True)
        try:
            TunnelHandler(tls, self.client_address, self.server, host)
        except (ConnectionError, ssl.SSLError, TimeoutError, OSError) as exc:
            log.debug("tunnel to %s ended: %s", host, exc)
        finally:
            self.server.track(tls, False)
            with contextlib.suppress(OSError):
                tls.close()

    def _refuse(self, host: str, port: str) -> Response | None:
        if port != "443":
            return _refusal(403, f"The emulator only tunnels to port 443 (got {host}:{port}).")
        if cloud_for_arm_host(host) is not None:
            return None
        if cloud_for_vault_host(host) is not None:
            if self.server.state.vault_by_host(host) is None:
                # An unknown vault: like a DNS failure, the client cannot connect at all.
                return _refusal(502, f"Unknown host {host}: no such vault in the emulator's configuration.")
            return None
        return _refusal(403, f"The emulator is not a forwarding proxy; {host} is not an emulated Azure host.")


def _refusal(status: int, message: str) -> Response:
    body = json.dumps({"error": {"code": "ProxyRefused", "message": message}}).encode()
    return Response(status, body, {"Content-Type": "application/json", "Connection": "close"})
