"""The sandbox's SCIM 2.0 server: scim2-server's WSGI app behind our own bearer-token check.

scim2-server only knows static bearer tokens, so the check happens here, in front of it: a
request needs an access token that the sandbox's token endpoint issued and that has not expired.
Imported only when a sandbox starts.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.util import application_uri

from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
from scim2_server.utils import load_default_provider

from workbench.sandbox.tokens import TokenStore

REALM = "workbench-sandbox"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class _ScimApp(WSGIApplication):
    """The scim2-server app, with its endpoints right under the mount point (no `/v2`)."""

    @staticmethod
    def get_base_url(environ: dict[str, Any]) -> str:
        return application_uri(environ).rstrip("/")


class TokenGate:
    """WSGI middleware: 401 with a SCIM Error body unless the bearer token is one we issued.

    `GET /ServiceProviderConfig` stays open, as RFC 7643 §5 has it (and scim2-server too).
    """

    def __init__(self, app: Callable, store: TokenStore) -> None:
        self.app = app
        self.store = store

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").removeprefix("/v2").removesuffix(".scim").rstrip("/")
        if environ.get("REQUEST_METHOD") == "GET" and path == "/ServiceProviderConfig":
            return self.app(environ, start_response)
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _unauthorized(start_response, "Authentication is required: send a bearer token.", None)
        reason = self.store.check(token)
        if reason is not None:
            return _unauthorized(start_response, reason, "invalid_token")
        return self.app(environ, start_response)


def _unauthorized(start_response: Callable, detail: str, error: str | None) -> list[bytes]:
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}", error_description="{detail}"'
    body = json.dumps({"schemas": [ERROR_SCHEMA], "status": "401", "detail": detail}).encode()
    start_response(
        "401 Unauthorized",
        [
            ("Content-Type", "application/scim+json"),
            ("Content-Length", str(len(body))),
            ("WWW-Authenticate", challenge),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]


@functools.cache
def _provider():
    """Built once per process (it builds pydantic models from the RFC 7643 schemas: ~50 ms) and
    shared by every sandbox; each sandbox has its own storage."""
    provider = load_default_provider()
    provider.config.authentication_schemes = [BEARER_TOKEN_SCHEME]
    return provider


def build_scim_app(store: TokenStore) -> tuple[Callable, InMemoryStorage]:
    """The gated SCIM WSGI app (mounted under `/scim2` by the sandbox) and its in-memory storage."""
    storage = InMemoryStorage()
    return TokenGate(_ScimApp(storage, _provider()), store), storage
