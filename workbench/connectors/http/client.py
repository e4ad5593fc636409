"""`HttpConnection`: the generic HTTP connector's implementation.

Each operation returns `{"status": int, "headers": {name: value}, "body": ...}`: header names
lowercased (repeated headers joined with ", "), the body decoded JSON when the content type says
JSON (or the text parses as JSON under a `+json` type), the text otherwise, None when empty.
A non-2xx answer raises `HttpError` (a ConnectorError with `status`, and the result as
`.response`) unless `raiseForStatus` is false. Requests are not retried (a POST may not be
idempotent); the client, deadline, size limit and reporting are the core's (`httpx_core`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from workbench.connectors.base import ConnectorError, ValidationFailed
from workbench.connectors.http import RequestParams
from workbench.connectors.httpx_core import HttpxConnection, retry_after


class HttpError(ConnectorError):
    """A non-2xx answer. `response` is the operation's result dict."""

    def __init__(self, message: str, *, status: int, detail: str | None, response: dict[str, Any]) -> None:
        super().__init__(message, status=status, detail=detail)
        self.response = response


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


class HttpConnection(HttpxConnection):
    def base_url(self) -> str:
        return self.config.baseUrl

    def _encode_secrets(self, path: str) -> str:
        """A secret written into a path is data, not URL structure: percent-encode it, so a `#`,
        `?` or `../` in it neither cuts the URL (and the secret) into pieces nor changes the target."""
        for secret in self.redactor.secrets if self.redactor else ():
            if secret in path and any(c in secret for c in "#?/\\%"):
                path = path.replace(secret, quote(secret, safe=""))
        return path

    def _url(self, path: str) -> httpx.URL | str:
        """A path relative to baseUrl. An absolute URL is allowed only on baseUrl's origin, so
        the connection's credentials never go to another host."""
        path = self._encode_secrets(path.strip())
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
        params = self.params(params, RequestParams)
        client = self.client()
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
        response = await self.send(request)
        headers_out: dict[str, str] = {}
        for key, value in response.headers.multi_items():
            key = key.lower()
            headers_out[key] = f"{headers_out[key]}, {value}" if key in headers_out else value
        result = {"status": response.status_code, "headers": headers_out, "body": decode_body(response)}
        raise_for_status = self.config.raiseForStatus if params.raiseForStatus is None else params.raiseForStatus
        if raise_for_status and not 200 <= response.status_code < 300:
            detail = self.excerpt(response.text) if response.content else None
            message = f"HTTP {response.status_code} {response.reason_phrase} from {self.where(request)}"
            if detail:
                message += f": {detail}"
            error = HttpError(message, status=response.status_code, detail=detail, response=result)
            error.retry_after = retry_after(response)
            raise error
        return result

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
