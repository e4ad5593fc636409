"""`Sandbox`: the token endpoint and the SCIM server on one loopback port, in a daemon thread."""

from __future__ import annotations

import logging

import ipaddress
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from workbench.sandbox.tokens import TokenStore

TOKEN_PATH = "/oauth2/token"
SCIM_PATH = "/scim2"
DEFAULT_CLIENT_ID = "workbench-demo"


def is_loopback(host: str) -> bool:
    if host.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Dispatcher:
    """A tiny WSGI router by path prefix; counts the SCIM requests."""

    def __init__(self, sandbox: Sandbox, token_app: Callable, scim_app: Callable) -> None:
        self.sandbox = sandbox
        self.token_app = token_app
        self.scim_app = scim_app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path == SCIM_PATH or path.startswith(SCIM_PATH + "/"):
            self.sandbox._count_request(environ.get("REQUEST_METHOD", ""), path)
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + SCIM_PATH
            environ["PATH_INFO"] = path[len(SCIM_PATH):]
            return self.scim_app(environ, start_response)
        if path == TOKEN_PATH:
            return self.token_app(environ, start_response)
        body = b'{"error": "not_found"}'
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class Sandbox:
    """A local identity provider: an OAuth2 client-credentials token endpoint at `/oauth2/token`
    (Authlib) and a SCIM 2.0 server at `/scim2` (scim2-server, in memory) that accepts only the
    tokens the endpoint issued and that have not expired.

        with Sandbox() as sb:
            sb.service_url, sb.token_url, sb.client_id, sb.client_secret

    `scopes=None` grants any requested scope; a list makes other scopes `invalid_scope`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str | None = None,
        token_lifetime: int = 3600,
        allow_remote: bool = False,
        *,
        scopes: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"the sandbox listens on loopback only (127.0.0.0/8, localhost, ::1), not {host!r}: "
                "it serves a demo secret and accepts any SCIM data; pass allow_remote=True "
                "(--allow-remote) to listen on another address"
            )
        if int(token_lifetime) <= 0:
            raise ValueError(f"token_lifetime must be a positive number of seconds, not {token_lifetime!r}")
        self.host = host
        self.port = int(port)
        self.client_id = client_id
        self.client_secret = client_secret if client_secret is not None else secrets.token_urlsafe(24)
        self.token_lifetime = int(token_lifetime)
        self.allow_remote = allow_remote
        self.scopes = None if scopes is None else list(scopes)
        self._store = TokenStore(clock)
        self._lock = threading.Lock()
        self._requests = 0
        self._writes = 0
        self._server = None
        self._thread: threading.Thread | None = None
        self.storage = None  # scim2-server's InMemoryStorage, once started

    def __repr__(self) -> str:  # never the secret
        state = self.base_url if self._server else "stopped"
        return f"Sandbox({state}, client_id={self.client_id!r})"

    # -- counters ---------------------------------------------------------------------------
    @property
    def requests(self) -> int:
        """SCIM requests received (any status, including 401s)."""
        return self._requests

    @property
    def writes(self) -> int:
        """SCIM write requests received: POST, PUT, PATCH and DELETE, less POST /.search (a read)."""
        return self._writes

    @property
    def tokens_issued(self) -> int:
        return self._store.issued

    def _count_request(self, method: str, path: str) -> None:
        write = method in ("POST", "PUT", "PATCH", "DELETE") and not path.endswith("/.search")
        with self._lock:
            self._requests += 1
            self._writes += write

    def revoke_all_tokens(self) -> None:
        """Forget every issued token: the next SCIM request with one of them gets 401."""
        self._store.revoke_all()

    # -- URLs -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the sandbox is not started (its port is not known yet)")
        host = self.host.strip("[]")
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def service_url(self) -> str:
        return self.base_url + SCIM_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        # Heavy imports here, so `import workbench.sandbox` stays cheap.
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
        from socketserver import ThreadingMixIn

        from workbench.sandbox.oauth import build_token_app
        from workbench.sandbox.scim import build_scim_app

        # Authlib logs every issued access token at DEBUG; keep tokens out of the host's logs.
        logging.getLogger("authlib").setLevel(logging.INFO)

        token_app = build_token_app(
            self._store,
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_lifetime=self.token_lifetime,
            scopes=self.scopes,
        )
        scim_app, self.storage = build_scim_app(self._store)

        v6 = ":" in self.host.strip("[]")

        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True
            allow_reuse_address = True
            # socketserver's default backlog is 5: a burst of concurrent connections would then
            # see dropped SYNs and 1 s retransmits.
            request_queue_size = 128
            address_family = socket.AF_INET6 if v6 else socket.AF_INET

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = make_server(
            self.host.strip("[]"), self.port, _Dispatcher(self, token_app, scim_app),
            server_class=Server, handler_class=QuietHandler,
        )
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"workbench-sandbox-{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def serve_forever(self) -> None:
        """Block until interrupted (for the CLI); the server already runs in its thread."""
        assert self._thread is not None, "start() first"
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
