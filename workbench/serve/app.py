"""The ASGI app in front of `Services` (runtime/service.py): a plain ASGI callable, no framework
(Starlette's middleware and router cost a request more than a short run's own steps; uvicorn
answers 500 to an exception that escapes before the response starts).

Order per request, cheapest refusal first: route (404, 405) and bearer (401), a free slot
(503 + Retry-After), the body within its limit (413), then hmac, the run and its answer.
"""

from __future__ import annotations

from workbench.runtime.service import Request, Response, Services, error_response

DEFAULT_MAX_BODY = 1024 * 1024  # bytes
RETRY_AFTER = "1"  # seconds, on a 503 when every slot is taken


class _TooLarge(Exception):
    pass


def make_app(services: Services, *, max_body: int = DEFAULT_MAX_BODY):
    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan is off; a websocket is refused
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1003})
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        match = services.route(method, path, headers)
        if isinstance(match, Response):
            return await _send(send, match)
        if not services.acquire():
            return await _send(send, error_response(503, f"busy: {services.max_concurrency} requests in flight",
                                                    {"retry-after": RETRY_AFTER}))
        try:
            try:
                body = await _read(receive, headers, max_body)
            except _TooLarge:
                return await _send(send, error_response(413, f"the body is larger than {max_body:,} bytes"))
            except _Disconnected:
                return await _send(send, Response(400))
            query = scope.get("query_string", b"").decode("latin-1")
            await _send(send, await services.respond(match, Request(method, path, query, headers, body)))
        finally:
            services.release()

    return app


class _Disconnected(Exception):
    pass


async def _read(receive, headers: dict[str, str], limit: int) -> bytes:
    declared = headers.get("content-length", "")
    if not declared and "transfer-encoding" not in headers:
        return b""  # HTTP/1.1: no body (a GET, say)
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge  # refused before reading a byte
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send(send, response: Response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    if response.status >= 200 and response.status not in (204, 304):
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
