"""`ScimTransport`: how a SCIM connection talks to its server on the HTTP core: the base URL,
the headers, the auth's Authorization, one request with the retry policy of `client.py`'s
docstring, and the reading of an answer (a `ScimError` unless 2xx, the JSON body)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from workbench.connectors.base import ConnectorError
from workbench.connectors.httpx_core import Ambiguous, HttpxConnection, RetryLater, retryable
from workbench.connectors.scim.errors import ScimError, scim_error
from workbench.connectors.scim.payload import SCIM_JSON
from workbench.connectors.urls import safe_url

_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # (json.dumps makes one per call)


class ScimTransport(HttpxConnection):
    """The requests of a SCIM connection; the operations are `ScimConnection`'s."""

    own_authorization = False  # its requests never set Authorization: the auth does

    def base_url(self) -> str:
        return self.config.serviceUrl

    def default_headers(self) -> dict[str, str]:
        return {"Accept": f"{SCIM_JSON}, application/json", **self.config.headers}

    def _build(self, method: str, path: str, query: dict[str, Any] | None, content: bytes | None,
               headers: dict[str, str] | None) -> httpx.Request:
        client = self.client()
        return client.build_request(method, self.url(path), params=query, content=content, headers=headers)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        safe: bool,
    ) -> tuple[httpx.Response, bool]:
        """Send with retries. Returns (response, an earlier attempt had an unknown outcome).
        `safe`: the request may be repeated after it was sent (see `client.py`'s docstring)."""
        content = None
        if body is not None:
            content = _JSON(body).encode()
            headers = {**(headers or {}), "Content-Type": SCIM_JSON}
        ambiguous = False

        async def attempt(last: bool) -> tuple[httpx.Response, bool]:
            nonlocal ambiguous
            try:
                response = await self.send(self._build(method, path, query, content, headers))
            except ConnectorError as error:
                if not retryable(error, idempotent=safe):
                    raise
                ambiguous = ambiguous or isinstance(error, Ambiguous)
                raise RetryLater(error) from error
            if not last and retryable(response, idempotent=safe):
                ambiguous = ambiguous or response.status_code != 429
                raise RetryLater(self._error(response), response)
            return response, ambiguous

        return await self.retrying(attempt)

    def _error(self, response: httpx.Response) -> ScimError:
        return scim_error(response, self.excerpt)

    def _check(self, response: httpx.Response) -> None:
        """ScimError unless a 2xx answer."""
        if response.status_code >= 300:
            raise self._error(response)

    def _json(self, response: httpx.Response) -> Any:
        """The JSON body of a 2xx answer (None when empty); ScimError otherwise."""
        self._check(response)
        content = response.content
        if not content.strip():
            return None
        try:
            return json.loads(content)
        except ValueError:
            ctype = response.headers.get("content-type", "no content type")
            raise ScimError(
                f"SCIM {response.status_code}: expected a JSON body, got {ctype}: {self.excerpt(response.text, 120)}",
                status=response.status_code,
                detail=self.excerpt(response.text),
                method=response.request.method,
                url=self.mask(safe_url(response.request.url)),
            ) from None

    async def _call(self, method: str, path: str, *, safe: bool = True, **kwargs: Any) -> Any:
        response, _ = await self._request(method, path, safe=safe, **kwargs)
        return self._json(response)
