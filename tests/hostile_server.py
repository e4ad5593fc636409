"""A small real HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose, for the hardening tests.

Each route is a function `(request, conn) -> None` that writes whatever it likes to the socket:
drip bytes, promise more than it sends, stream megabytes, echo the credentials, drop the
connection. The server counts requests per (method, path) on its side.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import unquote, urlsplit


@dataclass
class Request:
    method: str
    target: str  # as sent: path and query, still percent-encoded
    headers: dict[str, str]  # names lowercased
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return unquote(urlsplit(self.target).query)


Route = Callable[[Request, socket.socket], None]


def respond(conn: socket.socket, status: int, body: bytes | str | dict | list = b"", *,
            content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    head = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
            f"Date: {formatdate(usegmt=True)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)


@dataclass
class HostileServer:
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    requests: list[Request] = field(default_factory=list)

    def route(self, method: str, path: str) -> Callable[[Route], Route]:
        def register(fn: Route) -> Route:
            self.routes[(method, path)] = fn
            return fn
        return register

    def start(self) -> HostileServer:
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                conn.settimeout(10)
                try:
                    request = _read_request(conn)
                except (OSError, ValueError):
                    return
                server.counts[(request.method, request.path)] += 1
                server.requests.append(request)
                fn = server.routes.get((request.method, request.path)) or server.routes.get((request.method, "*"))
                try:
                    if fn is None:
                        respond(conn, 404, {"detail": "no route"})
                    else:
                        fn(request, conn)
                except OSError:
                    pass  # the client went away: that is what some tests make it do

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _read_request(conn: socket.socket) -> Request:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("closed before the headers")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, target, headers, body)


# -- misbehaviours, shared by the tests ------------------------------------------------------------


def drip(request: Request, conn: socket.socket, *, seconds: float = 10.0) -> None:
    """Promise 100 bytes, then send one a second (bounded: `seconds`)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn.sendall(b" ")
        time.sleep(1)


def truncated(request: Request, conn: socket.socket) -> None:
    """Promise 100 bytes, send 10, close."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\": 1234")


def drop(request: Request, conn: socket.socket) -> None:
    """Read the request, answer nothing, close."""
    conn.shutdown(socket.SHUT_RDWR)
