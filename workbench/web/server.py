"""textual-serve's Server, fitted to Workbench.

What differs from the stock `textual serve`:
- the app's command is built here from a project folder (quoted: a path may hold spaces);
- the page's asset and websocket URLs come from the request (its Host, and X-Forwarded-Proto
  behind a TLS proxy), not from the listen address: a server bound to 0.0.0.0 hands browsers a
  websocket URL they can reach;
- the page fetches nothing from other sites (the stock one loads a web font from Google) and
  has a title;
- the Guard (auth.py) checks the password and the websocket's origin;
- one plain start-up line (with the real port, for --port 0) instead of the banner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
import textual_serve
from aiohttp import web
from textual_serve.server import Server, to_int

from workbench.sandbox.server import is_loopback
from workbench.web.auth import Guard, is_https
from workbench.web.demo_tab import DEMO_VALUES_ENV

TEMPLATE = "app_index.html"
TAB_QUIT_SECONDS = 5.0


def tab_command(root: Path, *, demo: bool) -> str:
    """The shell command textual-serve runs for each browser tab; `exec` so the shell leaves
    the app alone in its process (one process per tab, and signals reach the app)."""
    if demo:
        argv = [sys.executable, "-m", "workbench.web.demo_tab", str(root)]
    else:
        argv = [sys.executable, "-m", "workbench", "open", str(root)]
    return "exec " + shlex.join(argv)


def index_template() -> str:
    """textual-serve's page, without its request to fonts.googleapis.com and with a title."""
    text = (Path(textual_serve.__file__).parent / "templates" / TEMPLATE).read_text(encoding="utf-8")
    text = re.sub(r"\s*<link[^>]*fonts\.googleapis\.com[^>]*>", "", text)
    return text.replace("<head>", "<head>\n    <title>{{ application.name }}</title>", 1)


class WorkbenchWebServer(Server):
    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 8000,
                 password: str | None = None, demo_values: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.demo_values = demo_values
        title = f"Workbench — {self.root.name}" + (" (demo)" if demo_values is not None else "")
        super().__init__(tab_command(self.root, demo=demo_values is not None), host=host, port=port, title=title)
        self.guard = Guard(password, title=title, loopback=is_loopback(host))
        self._tabs: set[asyncio.Task] = set()  # the websocket handlers, one per browser tab

    # -- the aiohttp application ---------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({TEMPLATE: index_template()}), autoescape=True)
        self.guard.install(app)
        return app

    async def handle_index(self, request: web.Request) -> web.Response:
        scheme = "https" if is_https(request) else "http"
        host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip() or request.host
        websocket = f"{'wss' if scheme == 'https' else 'ws'}://{host}{request.app.router['websocket'].url_for()}"
        context: dict[str, Any] = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": websocket,
            "config": {"static": {"url": f"{scheme}://{host}/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template(TEMPLATE, request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        tab = asyncio.current_task()
        self._tabs.add(tab)
        try:
            return await super().handle_websocket(request)
        finally:
            self._tabs.discard(tab)

    async def on_startup(self, app: web.Application) -> None:
        """No banner: serve_until_stopped prints one line once it listens."""

    async def on_shutdown(self, app: web.Application) -> None:
        """End each tab's app: a cancelled websocket handler tells its app to quit and waits
        for it (textual-serve's AppService.stop). Without this, aiohttp would wait for open
        websockets until its shutdown timeout."""
        tabs = list(self._tabs)
        for tab in tabs:
            tab.cancel()
        if tabs:
            await asyncio.wait(tabs, timeout=TAB_QUIT_SECONDS)

    # -- serving -------------------------------------------------------------------------------
    def serve_until_stopped(self) -> None:
        """Listen, print where, and serve until SIGINT or SIGTERM; then end the tabs' app
        processes. Raises OSError when the address cannot be bound."""
        logging.basicConfig(level=logging.WARNING, format="workbench web: %(message)s")
        if self.demo_values is not None:  # inherited by each tab's process (see demo_tab)
            os.environ[DEMO_VALUES_ENV] = json.dumps(self.demo_values)
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        runner = web.AppRunner(await self._make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            port = runner.addresses[0][1] if runner.addresses else self.port
            self.public_url = f"http://{_url_host(self.host)}:{port}"
            stopped = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stopped.set)
            guarded = "a password is required" if self.guard.protected else "no password"
            print(f"workbench web: serving {self.root} on {self.public_url}/ ({guarded}; each tab runs its own "
                  "app; ctrl+c stops)", flush=True)
            await stopped.wait()
            print("workbench web: stopping", flush=True)
        finally:
            await runner.cleanup()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
