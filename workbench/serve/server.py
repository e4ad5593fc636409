"""Uvicorn around the app: our own socket (port 0 works, and "address in use" is one line), our
own signal handling (uvicorn's would re-raise the signal after shutdown, and `up` must also stop
its schedules), a poll that reloads the project when its files change, and a drain of the
requests in flight on stop: up to `grace` seconds, then they are cancelled (recorded so)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

from workbench.runtime.service import Services
from workbench.serve.app import DEFAULT_MAX_BODY, make_app

RELOAD_EVERY = 1.0  # seconds between checks of workbench.toml and Config.toml


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        yield  # the command installs the handlers; they call ServiceServer.stop()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket. Raises OSError (the caller says it in one line)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets, and without it Nagle and
    # delayed ACKs hold every response ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class ServiceServer:
    def __init__(self, services: Services, sock: socket.socket, *, grace: float = 30.0,
                 max_body: int = DEFAULT_MAX_BODY, reload_every: float = RELOAD_EVERY) -> None:
        self.services = services
        self.sock = sock
        self.reload_every = reload_every
        config = uvicorn.Config(make_app(services, max_body=max_body), lifespan="off", log_config=None,
                                access_log=False, server_header=False, timeout_graceful_shutdown=grace)
        self.server = _Uvicorn(config)

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def stop(self) -> None:
        """The first call drains (up to the grace period), the second cancels at once."""
        if self.server.should_exit:
            self.server.force_exit = True
        self.server.should_exit = True

    async def serve(self) -> None:
        import gc

        gc.freeze()  # what start-up built (catalogue, schemas) out of the collector's way, as the app does
        poller = asyncio.ensure_future(self._poll())
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            await asyncio.to_thread(self.services.close)  # the history still queued

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.reload_every)
            # Parsing and checking a big project takes a while: off the loop, so requests go on.
            await asyncio.to_thread(self.services.poll)
            await asyncio.to_thread(self.services.prune_history)
