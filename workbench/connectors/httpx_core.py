"""One HTTP core for the connectors that speak HTTP: `scim`, `http` and any third-party one.

`HttpxConnection` owns what every HTTP connection needs, written once:
- one pooled `httpx.AsyncClient`, built on first use and closed with the run;
- a whole-request deadline (`timeout`): connect, send, and every read of the body, so a server
  that drips one byte a second cannot hold a run past it;
- a response size limit (`maxResponseMiB`, default 50), checked while the body streams in;
- secret-safe reporting: every exchange goes to `on_exchange` without user info, the credential
  of each Authorization header it sends and every token its auth obtains join the run's
  redactor, and `excerpt()` masks before it cuts or rewrites a body;
- typed transport errors: `NotSent` (safe to send again) and `Ambiguous` (the request may have
  reached the server), and one retry loop (`retrying`) that decides by those types.

Imported only when a connection opens (httpx costs ~100 ms to import).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from workbench.connectors.base import Connection, ConnectorError, single_attempt
from workbench.connectors.httpx_auth import BearerTokenAuth, OAuth2ClientCredentials, _BasicAuth, default_ssl_context
from workbench.connectors.urls import safe_url
from workbench.project.config import Redactor

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_RESPONSE_MIB = 50
MAX_RETRY_AFTER = 30.0  # seconds: a Retry-After above this is capped
MAX_BACKOFF = 30.0
RETRY_STATUSES = frozenset({502, 503, 504})  # retried only when the request is idempotent

_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)
_SPACES = re.compile(r"\s+")


class NotSent(ConnectorError):
    """The request never reached the server (connect error, connect or pool timeout): sending it
    again cannot apply it twice."""


class Ambiguous(ConnectorError):
    """The request may have reached the server (a read or write failure, a dropped connection, the
    deadline): its outcome is unknown, and only an idempotent request may be sent again."""


class ResponseTooLarge(ConnectorError):
    """The answer's body is over the connection's size limit; it was not read."""


class RetryLater(Exception):
    """Raised by an attempt of `HttpxConnection.retrying` to ask for another attempt after the
    backoff. `error` is raised when no attempt is left; `response` may carry a Retry-After."""

    def __init__(self, error: ConnectorError, response: httpx.Response | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.response = response


def _timed_out(error: ConnectorError) -> ConnectorError:
    error.timed_out = True
    return error


def retryable(outcome: ConnectorError | httpx.Response, *, idempotent: bool) -> bool:
    """Whether an attempt's outcome may be retried: never-sent requests and 429 always; ambiguous
    failures and 502/503/504 only for idempotent requests."""
    if isinstance(outcome, httpx.Response):
        return outcome.status_code == 429 or (idempotent and outcome.status_code in RETRY_STATUSES)
    if isinstance(outcome, NotSent):
        return True
    return idempotent and isinstance(outcome, Ambiguous)


def excerpt_text(text: str, limit: int = 200, mask: Callable[[str], str] = str) -> str:
    """A short one-line excerpt of a (possibly HTML) body. `mask` runs before the rewrite (tags
    stripped, white space collapsed), again after it (a body that spreads a secret over lines
    shows it whole once collapsed), and before the cut (which would leave a secret's start)."""
    text = mask(_SPACES.sub(" ", _TAGS.sub(" ", mask(text))).strip())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), capped at MAX_RETRY_AFTER."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def _parse_set_cookies_only(cookies: httpx.Cookies) -> None:
    """httpx hands every answer to http.cookiejar through wrappers that cost ~16 µs, also when it
    sets no cookie (an API's answers seldom do), which the jar then ignores: only answers with a
    Set-Cookie (or Set-Cookie2) header go there now, so the cookies kept are the same."""
    extract = cookies.extract_cookies

    def extract_cookies(response: httpx.Response) -> None:
        keys = response.headers.keys()  # lower-cased
        if "set-cookie" in keys or "set-cookie2" in keys:
            extract(response)

    cookies.extract_cookies = extract_cookies  # type: ignore[method-assign]


_STEADY_AUTHS = (BearerTokenAuth, _BasicAuth, OAuth2ClientCredentials, type(None))


class HttpxConnection(Connection):
    """The base of HTTP connections. A subclass names its base URL (`base_url`) and may add
    default headers (`default_headers`); its config has `auth`, `headers`, `timeout`,
    `verifyTls`, and may have `maxResponseMiB` and `retry` (`attempts`, `backoff`)."""

    # Whether a request may carry an Authorization header of its own (an operation's headers).
    own_authorization = True
    # Injectable for tests (fault injection, recorded sleeps).
    transport: httpx.AsyncBaseTransport | None = None
    sleep = staticmethod(asyncio.sleep)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http: httpx.AsyncClient | None = None
        self._base = ""  # str(base_url), made with the client (url())
        self._auth: Any = None
        self._credential: str | None = None  # the last Authorization credential added to the redactor
        self._credential_steady = False  # no request can bring a new one (_add_credential)
        self.redactor: Redactor = self.context.redactor if self.context.redactor is not None else Redactor()
        auth = getattr(self.config, "auth", None)
        for value in auth.secret_values() if auth is not None else ():
            self.redactor.add(value)  # a literal or a non-secret configurable in a secret field

    # -- to override ----------------------------------------------------------------------------
    def base_url(self) -> str:
        raise NotImplementedError

    def default_headers(self) -> dict[str, str]:
        return dict(self.config.headers)

    # -- settings -------------------------------------------------------------------------------
    @property
    def timeout(self) -> float:
        return float(self.config.timeout)

    @property
    def max_response_bytes(self) -> int:
        return int(getattr(self.config, "maxResponseMiB", DEFAULT_MAX_RESPONSE_MIB) * 1024 * 1024)

    @property
    def attempts(self) -> int:
        if single_attempt.get():  # a step's own retry policy is the loop (runtime/policies.py)
            return 1
        retry = getattr(self.config, "retry", None)
        return retry.attempts if retry is not None else 1

    # -- the client -----------------------------------------------------------------------------
    def client(self) -> httpx.AsyncClient:
        if self._http is None:
            config = self.config
            auth = getattr(config, "auth", None)
            self._auth = auth.to_httpx_auth(on_exchange=self.report, on_secret=self.redactor.add) if auth else None
            self._http = httpx.AsyncClient(
                base_url=self.base_url().rstrip("/") + "/",
                auth=self._auth,
                headers=self.default_headers(),
                timeout=self.timeout,
                verify=default_ssl_context() if config.verifyTls else False,
                transport=self.transport,
            )
            self._base = str(self._http.base_url)
            _parse_set_cookies_only(self._http.cookies)
        return self._http

    def url(self, path: str) -> str:
        """A relative `path` under the base URL, absolute, as httpx would join it (httpx joins
        a relative one by parsing the URL twice, ~15 µs a request). Only after `client()`."""
        assert self._base, "url() before client()"
        return self._base + path.lstrip("/")

    async def aclose(self) -> None:
        client, self._http = self._http, None
        if client is not None:
            await client.aclose()
        auth, self._auth = self._auth, None
        if auth is not None and hasattr(auth, "aclose"):
            await auth.aclose()

    # -- one exchange ---------------------------------------------------------------------------
    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and read its body, all within the deadline and the size limit.
        Transport failures raise `NotSent` or `Ambiguous` (naming the URL, never a secret)."""
        client = self.client()
        started = time.perf_counter()
        status: int | None = None
        try:
            async with asyncio.timeout(self.timeout):
                response = await client.send(request, stream=True)
                try:
                    await self._read(response)
                finally:
                    await response.aclose()
            status = response.status_code
            return response
        except TimeoutError:
            raise _timed_out(Ambiguous(f"{self.where(request)}: no complete answer within the {self.timeout:g} s deadline")) from None
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, request) from exc
        finally:
            self._add_credential(request)
            self.report(request.method, str(request.url), status, (time.perf_counter() - started) * 1000)

    async def _read(self, response: httpx.Response) -> None:
        limit = self.max_response_bytes
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise self._too_large(response, int(length))
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():  # decoded: a compressed bomb counts in full
            size += len(chunk)
            if size > limit:
                raise self._too_large(response, None)
            chunks.append(chunk)
        # What `Response.aread()` itself does once the stream is consumed.
        response._content = b"".join(chunks)

    def _too_large(self, response: httpx.Response, length: int | None) -> ResponseTooLarge:
        size = f"{length / 1048576:.1f} MiB" if length is not None else "more"
        return ResponseTooLarge(
            f"{self.where(response.request)}: the answer is {size}, over the {self.max_response_bytes / 1048576:g} MiB "
            "limit (maxResponseMiB of the connection)",
            status=response.status_code,
        )

    def _add_credential(self, request: httpx.Request) -> None:
        # The credential of the header the auth set ("Basic <base64 of user:password>", a bearer
        # token): a server that echoes it must not put it in a run's output.
        if self._credential_steady:
            return
        header = request.headers.get("authorization")
        if header and header != self._credential:
            self._credential = header
            self.redactor.add(header.partition(" ")[2].strip() or header)
            # Our auths send the same header every time, or (OAuth2) report each new token
            # themselves: unless a request may bring its own, there is nothing left to read.
            self._credential_steady = not self.own_authorization and type(self._auth) in _STEADY_AUTHS

    def where(self, request: httpx.Request) -> str:
        return self.mask(f"{request.method} {safe_url(request.url)}")

    def transport_error(self, exc: httpx.HTTPError, request: httpx.Request) -> ConnectorError:
        where = self.where(request)
        if isinstance(exc, httpx.ConnectTimeout):
            return _timed_out(NotSent(f"{where}: timed out connecting (timeout {self.timeout:g} s)"))
        if isinstance(exc, httpx.PoolTimeout):
            return _timed_out(NotSent(f"{where}: timed out waiting for a pooled connection (timeout {self.timeout:g} s)"))
        if isinstance(exc, httpx.ConnectError):
            return NotSent(f"{where}: cannot connect ({self.mask(str(exc)) or type(exc).__name__})")
        if isinstance(exc, httpx.WriteTimeout):
            return _timed_out(Ambiguous(f"{where}: timed out sending the request (timeout {self.timeout:g} s)"))
        if isinstance(exc, httpx.TimeoutException):
            return _timed_out(Ambiguous(f"{where}: timed out waiting for the response (timeout {self.timeout:g} s)"))
        if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
            return Ambiguous(f"{where}: {type(exc).__name__}: {self.mask(str(exc))}")
        return ConnectorError(f"{where}: {type(exc).__name__}: {self.mask(str(exc))}")

    # -- reporting ------------------------------------------------------------------------------
    def report(self, method: str, url: str, status: int | None, duration_ms: float) -> None:
        hook = self.on_exchange
        if hook is not None:
            try:
                hook(method, safe_url(url), status, duration_ms)
            except Exception:  # an observer must not break the run
                log.exception("on_exchange hook failed")

    def mask(self, text: str) -> str:
        return self.redactor.text(text) if self.redactor else text

    def excerpt(self, text: str, limit: int = 200) -> str:
        """A one-line excerpt of a body: secrets masked first, then tags and white space, then cut."""
        return excerpt_text(text, limit, self.mask)

    # -- retries --------------------------------------------------------------------------------
    async def retrying(self, attempt: Callable[[bool], Awaitable[T]]) -> T:
        """The one retry loop: `attempt(last)` is awaited up to `attempts` times; it returns the
        result, or raises `RetryLater` to go again after the backoff (`RetryLater.error` when it
        was the last). A small loop rather than tenacity: it runs on every request."""
        attempts = self.attempts
        for number in range(1, attempts + 1):
            try:
                return await attempt(number == attempts)
            except RetryLater as again:
                if number == attempts:
                    raise again.error from again.error.__cause__
                log.debug("retrying after %s (attempt %d/%d)", again.error.message, number, attempts)
                await self.backoff(number, again.response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def backoff(self, attempt: int, response: httpx.Response | None = None) -> None:
        delay = retry_after(response) if response is not None else None
        if delay is None:
            retry = getattr(self.config, "retry", None)
            delay = min((retry.backoff if retry is not None else 0.5) * (2 ** (attempt - 1)), MAX_BACKOFF)
        if delay > 0:
            await self.sleep(delay)
