"""`HttpConnection`: the generic HTTP connector's implementation.

Each operation returns `{"status": int, "headers": {name: value}, "body": ...}`: header names
lowercased (repeated headers joined with ", "), the body decoded JSON when the content type says
JSON (or the text parses as JSON under a `+json` type), the text otherwise, None when empty.
A non-2xx answer raises `HttpError` (a ConnectorError with `status`, and the result as
`.response`) unless `raiseForStatus` is false.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from workbench.connectors.base import Connection, ConnectorError, ValidationFailed
from workbench.connectors.http import RequestParams
from workbench.connectors.urls import safe_url

log = logging.getLogger(__name__)


class HttpError(ConnectorError):
    """A non-2xx answer. `response` is the operation's result dict."""

    def __init__(self, message: str, *, status: int, detail: str | None, response: dict[str, Any]) -> None:
        super().__init__(message, status=status, detail=detail)
        self.response = response


def _excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_body(response: httpx.Response) -> Any:
    content = response.content
    if not content:
        return None
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return json.loads(content)
        except ValueError:
            pass
    return response.text


class HttpConnection(Connection):
    transport: httpx.AsyncBaseTransport | None = None  # injectable for tests

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http: httpx.AsyncClient | None = None
        self._auth: Any = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            config = self.config
            self._auth = config.auth.to_httpx_auth(on_exchange=self._report_token)
            self._http = httpx.AsyncClient(
                base_url=config.baseUrl.rstrip("/") + "/",
                auth=self._auth,
                headers=config.headers,
                timeout=config.timeout,
                verify=config.verifyTls,
                transport=self.transport,
            )
        return self._http

    async def aclose(self) -> None:
        client, self._http = self._http, None
        if client is not None:
            await client.aclose()
        auth, self._auth = self._auth, None
        if auth is not None and hasattr(auth, "aclose"):
            await auth.aclose()

    def _url(self, path: str) -> httpx.URL | str:
        """A path relative to baseUrl. An absolute URL is allowed only on baseUrl's origin, so
        the connection's credentials never go to another host."""
        path = path.strip()
        if "://" in path or path.startswith("//"):
            target = httpx.URL(path)
            base = httpx.URL(self.config.baseUrl)
            if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
                raise ValidationFailed(
                    f"refusing {target.scheme}://{target.host}: the path must stay on {base.scheme}://{base.host}"
                    f"{':' + str(base.port) if base.port else ''} (the connection's credentials go with it)"
                )
            return target
        return path.lstrip("/")

    async def _request(self, method: str, params: Any) -> dict[str, Any]:
        if not isinstance(params, RequestParams):
            if isinstance(params, BaseModel):
                params = params.model_dump(exclude_unset=True)
            try:
                params = RequestParams.model_validate(params or {})
            except PydanticValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                raise ValidationFailed(f"invalid params: {where}: {first.get('msg')}") from None
        client = self._client()
        url = self._url(params.path)
        headers = dict(params.headers)
        kwargs: dict[str, Any] = {}
        body = params.body
        if body is not None:
            if isinstance(body, (str, bytes)):
                kwargs["content"] = body.encode() if isinstance(body, str) else body
                if not any(k.lower() == "content-type" for k in headers):
                    headers["Content-Type"] = "text/plain; charset=utf-8"
            else:
                kwargs["content"] = json.dumps(body, ensure_ascii=False).encode()
                if not any(k.lower() == "content-type" for k in headers):
                    headers["Content-Type"] = "application/json"
        query = {k: v for k, v in params.query.items() if v is not None} or None
        request = client.build_request(method, url, params=query, headers=headers, **kwargs)
        where = f"{method} {safe_url(request.url)}"
        started = time.perf_counter()
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            self._report(method, request.url, None, started)
            if isinstance(exc, httpx.TimeoutException):
                raise ConnectorError(f"{where}: timed out (timeout {self.config.timeout:g} s)") from exc
            if isinstance(exc, httpx.ConnectError):
                raise ConnectorError(f"{where}: cannot connect ({exc or type(exc).__name__})") from exc
            raise ConnectorError(f"{where}: {type(exc).__name__}: {exc}") from exc
        self._report(method, request.url, response.status_code, started)
        headers_out: dict[str, str] = {}
        for key, value in response.headers.multi_items():
            key = key.lower()
            headers_out[key] = f"{headers_out[key]}, {value}" if key in headers_out else value
        result = {"status": response.status_code, "headers": headers_out, "body": decode_body(response)}
        raise_for_status = self.config.raiseForStatus if params.raiseForStatus is None else params.raiseForStatus
        if raise_for_status and not 200 <= response.status_code < 300:
            detail = _excerpt(response.text) if response.content else None
            message = f"HTTP {response.status_code} {response.reason_phrase} from {where}"
            if detail:
                message += f": {detail}"
            raise HttpError(message, status=response.status_code, detail=detail, response=result)
        return result

    def _report_token(self, method: str, url: str, status: int | None, duration_ms: float) -> None:
        """Token-endpoint exchanges, reported like the others: without user info in the URL."""
        if self.on_exchange is not None:
            self.on_exchange(method, safe_url(url), status, duration_ms)

    def _report(self, method: str, url: httpx.URL, status: int | None, started: float) -> None:
        if self.on_exchange is not None:
            try:
                self.on_exchange(method, safe_url(url), status, (time.perf_counter() - started) * 1000)
            except Exception:
                log.exception("on_exchange hook failed")

    async def get(self, params: Any) -> dict[str, Any]:
        return await self._request("GET", params)

    async def post(self, params: Any) -> dict[str, Any]:
        return await self._request("POST", params)

    async def put(self, params: Any) -> dict[str, Any]:
        return await self._request("PUT", params)

    async def patch(self, params: Any) -> dict[str, Any]:
        return await self._request("PATCH", params)

    async def delete(self, params: Any) -> dict[str, Any]:
        return await self._request("DELETE", params)
