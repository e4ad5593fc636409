"""The ASGI app: one catch-all Starlette route in front of `Services` (runtime/service.py).

Order per request, cheapest refusal first: route (404, 405) and bearer (401), a free slot
(503 + Retry-After), the body within its limit (413), then hmac, the run and its answer.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HttpRequest
from starlette.responses import Response as HttpResponse
from starlette.routing import Route

from workbench.runtime.service import Request, Response, Services, error_response

DEFAULT_MAX_BODY = 1024 * 1024  # bytes
RETRY_AFTER = "1"  # seconds, on a 503 when every slot is taken


class _TooLarge(Exception):
    pass


def make_app(services: Services, *, max_body: int = DEFAULT_MAX_BODY) -> Starlette:
    async def endpoint(request: HttpRequest) -> HttpResponse:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
        path = request.scope["path"]
        match = services.route(request.method, path, headers)
        if isinstance(match, Response):
            return _send(match)
        if not services.acquire():
            return _send(error_response(503, f"busy: {services.max_concurrency} requests in flight",
                                        {"retry-after": RETRY_AFTER}))
        try:
            try:
                body = await _read(request, headers, max_body)
            except _TooLarge:
                return _send(error_response(413, f"the body is larger than {max_body:,} bytes"))
            except ClientDisconnect:
                return HttpResponse(status_code=400)
            query = request.scope.get("query_string", b"").decode("latin-1")
            return _send(await services.respond(match, Request(request.method, path, query, headers, body)))
        finally:
            services.release()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


async def _read(request: HttpRequest, headers: dict[str, str], limit: int) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge  # refused before reading a byte
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _send(response: Response) -> HttpResponse:
    return HttpResponse(response.body, status_code=response.status, headers=response.headers)
