"""SCIM errors: `ScimError`, and `scim_error`, which reads any non-2xx answer (a SCIM Error, other
JSON, an OAuth2-style error, HTML, nothing) into one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from workbench.connectors.base import ConnectorError
from workbench.connectors.httpx_core import excerpt_text, retry_after
from workbench.connectors.urls import safe_url


class ScimError(ConnectorError):
    """The server answered with an error. `status` is always an int; `scim_type` and `detail` come
    from a SCIM Error body, or `detail` is a short excerpt of a non-SCIM body."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        scim_type: str | None = None,
        detail: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, status=status, scim_type=scim_type, detail=detail)
        self.method = method
        self.url = url

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.method and self.url:
            out["request"] = f"{self.method} {self.url}"
        return out


def _status_int(value: Any) -> int | None:
    try:
        status = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return status if 100 <= status <= 599 else None


def scim_error(response: httpx.Response, excerpt: Callable[..., str] = excerpt_text) -> ScimError:
    """A `ScimError` for a non-2xx answer, whatever its body (SCIM Error, other JSON, HTML, empty).
    `excerpt` masks the run's secrets before it cuts (the connection's `excerpt`)."""
    status = response.status_code
    request = response.request
    method, url = request.method, safe_url(request.url)
    scim_type = detail = None
    body: Any = None
    content = response.content
    if content.strip():
        try:
            body = json.loads(content)
        except ValueError:
            body = None
    if isinstance(body, dict):
        # SCIM says status is a string; some servers send an int. The HTTP status is the truth
        # when the body's is missing or unreadable.
        status = _status_int(body.get("status")) or status
        raw_type = body.get("scimType")
        scim_type = str(raw_type) if raw_type else None
        for key in ("detail", "message", "title"):
            if body.get(key):
                detail = excerpt(str(body[key]), 500)
                break
        else:
            if body.get("error"):  # an OAuth2-style error (a gateway in front of the server)
                detail = str(body["error"])
                if body.get("error_description"):
                    detail += f" ({body['error_description']})"
                detail = excerpt(detail, 500)
    elif content.strip():
        detail = excerpt(response.text)
    head = f"SCIM {status}" + (f" {scim_type}" if scim_type else "")
    if detail:
        message = f"{head}: {detail}"
    else:
        reason = response.reason_phrase or "error"
        message = f"{head}: {reason} (empty body)" if not content.strip() else f"{head}: {reason}"
    error = ScimError(message, status=status, scim_type=scim_type, detail=detail, method=method, url=url)
    error.retry_after = retry_after(response)
    return error


def filter_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
