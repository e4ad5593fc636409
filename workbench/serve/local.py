"""The project's services on a loopback port in a thread of this process: the app's Try it.
The same `Services` and uvicorn server as `workbench serve` (server.py), with its own event
loop, so a request and its run never hold the caller's loop. No Textual here.

    local = LocalServer(services).start()      # raises OSError; local.url is http://127.0.0.1:PORT
    request = local.request_for("newHire", body_text)
    answer = local.send(request)                # an Answer: status, headers, body, run id
    local.stop()
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field

from workbench.runtime.service import SECRET_HEADERS, Services, sign
from workbench.serve.server import ServiceServer, bind

MASK = "••••"


@dataclass
class TryRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def shown_headers(self) -> dict[str, str]:
        """The headers as the panel shows them: credentials masked."""
        return {k: (f"{v.partition(' ')[0]} {MASK}" if k.lower() in SECRET_HEADERS else v)
                for k, v in self.headers.items()}


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    run_id: str = ""
    took_ms: float = 0.0


class LocalServer:
    def __init__(self, services: Services, host: str = "127.0.0.1", **options) -> None:
        self.services = services
        self.host = host
        self.options = {"grace": 2.0, **options}  # ServiceServer's: grace, max_body, reload_every
        self.server: ServiceServer | None = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server.port}" if self.server else ""

    def start(self, timeout: float = 10.0) -> LocalServer:
        """Bind a free port and serve until `stop()`. Raises OSError, or RuntimeError when the
        server did not come up within `timeout` seconds."""
        self.server = ServiceServer(self.services, bind(self.host, 0), **self.options)
        self.thread = threading.Thread(target=self._serve, name="wb-try-it", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.server.started:
            if self.error is not None or not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the local server did not start: {self.error or 'timed out'}")
            time.sleep(0.01)
        return self

    def _serve(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self.error = exc

    def stop(self, timeout: float = 5.0, *, force: bool = False) -> None:
        """Stop serving (the requests in flight get the grace period, 2 s; none with `force`)
        and write the queued history."""
        if self.server is not None:
            self.server.stop()
            if force:
                self.server.stop()  # the second call cancels them at once
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
        if self.server is not None:
            self.server.sock.close()

    # -- a request -------------------------------------------------------------------------------
    def request_for(self, entry: str, body: str, path: str | None = None) -> TryRequest:
        """The request a legitimate caller of `entry` sends: its route (or `path`), a JSON body
        (`body` as typed), and its auth: the bearer token, or the hmac signature of the body."""
        route = next((r for r in self.services.version.routes if r.entry == entry), None)
        if route is None:
            raise KeyError(f"{entry} is not a service of this project version")
        raw = body.encode()
        headers = {"content-type": "application/json"} if body.strip() else {}
        if route.auth.type == "bearer":
            headers["authorization"] = f"Bearer {route.secret}"
        elif route.auth.type == "hmac":
            headers[route.auth.header.lower()] = sign(raw, route.secret, route.auth.algorithm, route.auth.prefix)
        return TryRequest(route.method, path or route.path, headers, raw)

    def send(self, request: TryRequest, timeout: float = 60.0) -> Answer:
        """Send it to the local server (blocking: call from a worker thread)."""
        import httpx

        started = time.perf_counter()
        with httpx.Client(base_url=self.url, timeout=timeout, trust_env=False) as client:
            response = client.request(request.method, request.path, headers=request.headers, content=request.body)
        took = (time.perf_counter() - started) * 1000
        return Answer(response.status_code, dict(response.headers), pretty(response.text),
                      response.headers.get("x-workbench-run", ""), took)


def pretty(text: str) -> str:
    """A JSON body indented; anything else as it came."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
