"""What stands between a browser and the app processes: an aiohttp middleware.

- With a password, every route but the login form needs a session cookie (set by posting the
  password to /login) or HTTP Basic credentials (any user name) — the page, the static files,
  the downloads and the websocket that drives an app process alike. A wrong password costs the
  caller a second, one attempt at a time, so guessing is slow.
- Always: the websocket is refused when its Origin is another site (a page elsewhere must not
  drive the app through the user's browser), and no page may frame ours (clickjacking).
- Listening on loopback with no password, a request must name a loopback Host or come through a
  proxy (X-Forwarded-* headers, which a page cannot add to a browser's request): otherwise a
  site whose name is made to resolve to 127.0.0.1 (DNS rebinding) would be "same origin".

Secrets are compared with hmac.compare_digest, and neither the password nor a session token is
ever logged.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import html
import secrets
import time
from urllib.parse import urlsplit

from aiohttp import web

from workbench.sandbox.server import is_loopback

COOKIE = "workbench_session"
SESSION_SECONDS = 12 * 3600
WRONG_PASSWORD_DELAY = 1.0
OPEN_PATHS = frozenset({"/login"})
PROXY_HEADERS = ("X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded")
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class Guard:
    """The middleware and the login routes, for one password (or none)."""

    def __init__(self, password: str | None, title: str = "Workbench", *, loopback: bool = True) -> None:
        self._password = None if password is None else password.encode("utf-8")
        self.title = title
        self.check_host = loopback and password is None
        self._sessions: dict[str, float] = {}  # token -> expiry (monotonic)
        self._attempts = asyncio.Lock()

    @property
    def protected(self) -> bool:
        return self._password is not None

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        if self.protected:
            app.router.add_get("/login", self.login_form, name="login")
            app.router.add_post("/login", self.login)
            app.router.add_get("/logout", self.logout, name="logout")

    # -- the middleware ------------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if self.check_host and not loopback_or_proxied(request):
            return _secured(web.Response(status=403, text="open this server as 127.0.0.1 or localhost"))
        if request.path == "/ws" and not same_origin(request):
            return _secured(web.Response(status=403, text="cross-site websocket refused"))
        if self.protected and request.path not in OPEN_PATHS and not self.allowed(request):
            if request.path == "/":
                return self._form_page(status=401)
            return _secured(web.Response(status=401, text="a password is needed: open / to log in"))
        try:
            return _secured(await handler(request))
        except web.HTTPException as exc:  # 404 and the like: the same headers
            _secured(exc)
            raise

    def allowed(self, request: web.Request) -> bool:
        token = request.cookies.get(COOKIE)
        if token and self._session_valid(token):
            return True
        return self._basic_password_ok(request.headers.get("Authorization", ""))

    def _session_valid(self, token: str) -> bool:
        now = time.monotonic()
        for known, expiry in list(self._sessions.items()):
            if expiry < now:
                del self._sessions[known]
        # compare_digest against each live token: no early exit that would time a guess.
        return any(hmac.compare_digest(token.encode(), known.encode()) for known in self._sessions)

    def _basic_password_ok(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return False
        try:
            _user, _, given = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return self.password_ok(given)

    def password_ok(self, given: str) -> bool:
        return self._password is not None and hmac.compare_digest(given.encode("utf-8"), self._password)

    # -- login and logout ----------------------------------------------------------------------
    async def login_form(self, request: web.Request) -> web.Response:
        return self._form_page(status=200)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        given = form.get("password", "")
        if not isinstance(given, str) or not self.password_ok(given):
            async with self._attempts:  # one wrong guess at a time, each costing a second
                await asyncio.sleep(WRONG_PASSWORD_DELAY)
            return self._form_page(status=401, error="Wrong password.")
        token = secrets.token_urlsafe(32)
        self._sessions[token] = time.monotonic() + SESSION_SECONDS
        response = _see_other("/")
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                            secure=is_https(request), max_age=SESSION_SECONDS)
        return _secured(response)

    async def logout(self, request: web.Request) -> web.Response:
        token = request.cookies.get(COOKIE)
        if token:
            self._sessions.pop(token, None)
        response = _see_other("/login")
        response.del_cookie(COOKIE, path="/")
        return _secured(response)

    def _form_page(self, *, status: int, error: str = "") -> web.Response:
        message = f'<p class="error">{html.escape(error)}</p>' if error else ""
        page = LOGIN_PAGE.format(title=html.escape(self.title), message=message)
        return _secured(web.Response(status=status, text=page, content_type="text/html"))


def same_origin(request: web.Request) -> bool:
    """True when the request has no Origin (not a browser page) or comes from this very host,
    as the browser or a reverse proxy (X-Forwarded-Host) names it."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    netloc = urlsplit(origin).netloc.lower()
    hosts = {request.host.lower(), request.headers.get("X-Forwarded-Host", "").split(",")[0].strip().lower()}
    return netloc in hosts - {""}


def loopback_or_proxied(request: web.Request) -> bool:
    if any(name in request.headers for name in PROXY_HEADERS):
        return True
    host = urlsplit(f"//{request.host}").hostname or ""
    return is_loopback(host)


def is_https(request: web.Request) -> bool:
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _secured(response: web.StreamResponse) -> web.StreamResponse:
    if not response.prepared:  # a websocket is already under way: its headers are sent
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — log in</title>
<style>
  body {{ background: #0c181f; color: #e8eef2; font-family: system-ui, sans-serif;
         display: flex; align-items: center; justify-content: center; height: 100vh; margin: 0; }}
  form {{ background: #12232d; padding: 32px; border-radius: 6px; min-width: 300px; }}
  h1 {{ font-size: 18px; margin: 0 0 16px; }}
  input, button {{ font-size: 16px; padding: 8px; width: 100%; box-sizing: border-box; margin-top: 8px; }}
  button {{ background: #5e0ba7; color: #fff; border: none; cursor: pointer; }}
  .error {{ color: #ff8a80; }}
</style>
</head>
<body>
<form method="post" action="/login">
  <h1>{title}</h1>
  {message}
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" autofocus required>
  <button type="submit">Log in</button>
</form>
</body>
</html>
"""
