"""The httpx auths behind the auth configs (imported only when a connection opens: httpx costs
~100 ms to import, and the catalogue and `workbench check` never need it).

`OAuth2ClientCredentials` is an async-first `httpx.Auth`: it caches the token until shortly
before it expires, shares one token request between concurrent requests, and on a 401 with a
cached token fetches a new one once and retries the request once. Secrets never appear in
reprs, error messages or logs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Literal

import httpx

from workbench.connectors.auth import TokenError
from workbench.connectors.base import ExchangeHook, SecretHook

log = logging.getLogger("workbench.connectors.auth")

DEFAULT_SKEW = 30.0
DEFAULT_TOKEN_TIMEOUT = 10.0


@functools.cache
def default_ssl_context():
    """One default TLS context per process, shared by every client that verifies: building one
    loads the CA bundle (~16 ms)."""
    return httpx.create_ssl_context()


# --------------------------------------------------------------------------------------------
# httpx auths


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth2 client-credentials grant (RFC 6749 §4.4) as an `httpx.Auth`.

    - The token is cached until `expires_in - skew`, where the skew is `skew` seconds but never
      more than half of `expires_in`. Without `expires_in` the token is kept until a 401.
    - Concurrent requests share one token request (an `asyncio.Lock`).
    - A 401 answer to a request sent with a cached token invalidates it; one new token is
      fetched (once, for all the requests that saw the same token) and the request is retried
      once.
    - Token requests use their own small client, created lazily; `aclose()` closes it.
    """

    requires_request_body = True  # so the request can be replayed after a 401

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: list[str] | tuple[str, ...] = (),
        auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic",
        *,
        skew: float = DEFAULT_SKEW,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = DEFAULT_TOKEN_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        sync_transport: httpx.BaseTransport | None = None,
        on_exchange: ExchangeHook | None = None,
        on_secret: SecretHook | None = None,
    ) -> None:
        if not token_url.startswith(("http://", "https://")):
            raise ValueError(f"the token URL must start with http:// or https://, not {token_url!r}")
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError(f"unknown client auth method {auth_method!r}")
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = list(scopes)
        self.auth_method = auth_method
        self.skew = float(skew)
        self.clock = clock
        self.timeout = timeout
        self.on_exchange = on_exchange
        self.on_secret = on_secret
        self._transport = transport
        self._sync_transport = sync_transport
        self._token: str | None = None
        self._expires_at: float | None = None
        self.tokens_fetched = 0  # how many token requests succeeded
        self._client: httpx.AsyncClient | None = None
        self._alock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tlock = threading.Lock()

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"

    # -- state ------------------------------------------------------------------------------
    def _valid_token(self) -> str | None:
        if self._token is None:
            return None
        if self._expires_at is not None and self.clock() >= self._expires_at:
            return None
        return self._token

    def invalidate(self) -> None:
        """Forget the cached token: the next request fetches a new one."""
        self._token = None
        self._expires_at = None

    def _store(self, token: str, expires_in: float | None, asked_at: float) -> None:
        if self.on_secret is not None:
            self.on_secret(token)  # a server may echo it; the run masks it like a secret
        self._token = token
        if expires_in is None or expires_in <= 0:
            self._expires_at = None
        else:
            self._expires_at = asked_at + expires_in - min(self.skew, expires_in / 2)
        self.tokens_fetched += 1

    def _token_request(self) -> tuple[dict[str, str], dict[str, str], httpx.BasicAuth | None]:
        data = {"grant_type": "client_credentials"}
        if self.scopes:
            data["scope"] = " ".join(self.scopes)
        auth = None
        if self.auth_method == "client_secret_basic":
            auth = httpx.BasicAuth(self.client_id, self._secret)
            if self.on_secret is not None:  # a token endpoint may echo the header in its error
                header = next(auth.auth_flow(httpx.Request("POST", self.token_url))).headers["Authorization"]
                self.on_secret(header.partition(" ")[2])
        else:
            data["client_id"] = self.client_id
            data["client_secret"] = self._secret
        headers = {"Accept": "application/json"}
        return data, headers, auth

    # -- async ------------------------------------------------------------------------------
    def _async_state(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._alock is None:
            # First use, or reused from another event loop: the lock and the pooled client are
            # bound to the loop that created them.
            self._loop = loop
            self._alock = asyncio.Lock()
            self._client = None
        return self._alock

    async def _afetch(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self.timeout, verify=default_ssl_context())
        data, headers, auth = self._token_request()
        asked_at = self.clock()
        started = time.perf_counter()
        log.debug("requesting an OAuth2 token from %s for client %s", self.token_url, self.client_id)
        try:
            response = await self._client.post(self.token_url, data=data, headers=headers, auth=auth)
        except httpx.HTTPError as exc:
            self._exchange(None, started)
            raise self._transport_error(exc) from None
        self._exchange(response.status_code, started)
        token, expires_in = self._parse(response)
        self._store(token, expires_in, asked_at)

    async def _atoken(self, stale: str | None = None) -> tuple[str, bool]:
        """(token, fetched_now). `stale`: a token a server refused, replaced unless already."""
        lock = self._async_state()
        if stale is None:
            token = self._valid_token()
            if token is not None:
                return token, False
        async with lock:
            if stale is not None and self._token == stale:
                self.invalidate()
            token = self._valid_token()
            if token is not None:  # another request fetched it while we waited
                return token, False
            await self._afetch()
            assert self._token is not None
            return self._token, True

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token, fresh = await self._atoken()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            log.debug("401 from %s with a cached token: fetching a new token", request.url.host)
            token, _ = await self._atoken(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- sync (simple: a short-lived client per token request) ------------------------------
    def _sfetch(self) -> None:
        data, headers, auth = self._token_request()
        asked_at = self.clock()
        started = time.perf_counter()
        try:
            with httpx.Client(transport=self._sync_transport, timeout=self.timeout, verify=default_ssl_context()) as client:
                response = client.post(self.token_url, data=data, headers=headers, auth=auth)
                response.read()
        except httpx.HTTPError as exc:
            self._exchange(None, started)
            raise self._transport_error(exc) from None
        self._exchange(response.status_code, started)
        token, expires_in = self._parse(response)
        self._store(token, expires_in, asked_at)

    def _stoken(self, stale: str | None = None) -> tuple[str, bool]:
        if stale is None:
            token = self._valid_token()
            if token is not None:
                return token, False
        with self._tlock:
            if stale is not None and self._token == stale:
                self.invalidate()
            token = self._valid_token()
            if token is not None:
                return token, False
            self._sfetch()
            assert self._token is not None
            return self._token, True

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token, fresh = self._stoken()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            token, _ = self._stoken(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    # -- responses and errors -----------------------------------------------------------------
    def _exchange(self, status: int | None, started: float) -> None:
        if self.on_exchange is not None:
            try:
                self.on_exchange("POST", self.token_url, status, (time.perf_counter() - started) * 1000)
            except Exception:  # an observer must not break authentication
                log.exception("on_exchange hook failed")

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _error(self, reason: str, **kwargs: Any) -> TokenError:
        message = self._scrub(f"token request to {self.token_url} failed: {reason}")
        if kwargs.get("detail"):
            kwargs["detail"] = self._scrub(kwargs["detail"])
        return TokenError(message, token_url=self.token_url, **kwargs)

    def _transport_error(self, exc: httpx.HTTPError) -> TokenError:
        if isinstance(exc, httpx.TimeoutException):
            return self._error(f"timed out after {self.timeout:g} s ({type(exc).__name__})")
        if isinstance(exc, httpx.ConnectError):
            return self._error(f"cannot connect ({str(exc) or type(exc).__name__})")
        return self._error(f"{type(exc).__name__}: {exc}")

    def _parse(self, response: httpx.Response) -> tuple[str, float | None]:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            ctype = response.headers.get("content-type", "no content type")
            if status != 200:
                raise self._error(f"HTTP {status} ({ctype}, not an OAuth2 error)", status=status)
            raise self._error(f"the response is not a JSON object (HTTP 200, {ctype})", status=status)
        if status != 200 or "error" in body:
            error = str(body["error"]) if body.get("error") else None
            description = str(body["error_description"]) if body.get("error_description") else None
            if error is None:
                reason = f"HTTP {status}"
            elif description:
                reason = f"{error} ({description})"
            else:
                reason = f"{error} (HTTP {status})"
            raise self._error(reason, status=status, error=error, detail=description)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise self._error("the response has no access_token", status=status)
        token_type = body.get("token_type")
        if token_type is not None and str(token_type).lower() != "bearer":
            raise self._error(f"unsupported token_type {token_type!r} (expected Bearer)", status=status)
        expires_in = body.get("expires_in")
        try:
            seconds = float(expires_in) if expires_in is not None else None
        except (TypeError, ValueError):
            seconds = None
        log.debug("got an OAuth2 token from %s (expires_in=%s)", self.token_url, expires_in)
        return token, seconds


class BearerTokenAuth(httpx.Auth):
    """A static bearer token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "BearerTokenAuth(token='**********')"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class _BasicAuth(httpx.BasicAuth):
    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self.username = username

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password='**********')"
