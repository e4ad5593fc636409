"""The sandbox's OAuth2 token endpoint: a real client-credentials grant built with Authlib.

Imported only when a sandbox starts (Flask and Authlib cost start-up time).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from flask import Flask

from workbench.sandbox.server import TOKEN_PATH
from workbench.sandbox.tokens import TokenStore

AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class _Grant(ClientCredentialsGrant):
    # Authlib allows only client_secret_basic by default (see docs/PEERS.md).
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)


class _Client(ClientMixin):
    """The sandbox's one confidential client."""

    def __init__(self, client_id: str, client_secret: str, scopes: Iterable[str] | None) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._scopes = None if scopes is None else list(scopes)

    def __repr__(self) -> str:
        return f"_Client(client_id={self.client_id!r})"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        asked = scope.split()
        if self._scopes is None:
            return " ".join(asked)
        return " ".join(s for s in asked if s in self._scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret.encode(), self._secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


def build_token_app(
    store: TokenStore,
    *,
    client_id: str,
    client_secret: str,
    token_lifetime: int,
    scopes: Iterable[str] | None = None,
) -> Flask:
    """A Flask app answering `POST /oauth2/token` with the client-credentials grant.

    `scopes=None` accepts any requested scope; a list makes other scopes `invalid_scope`.
    """
    app = Flask("workbench.sandbox")
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": int(token_lifetime)}
    if scopes is not None:
        app.config["OAUTH2_SCOPES_SUPPORTED"] = list(scopes)
    client = _Client(client_id, client_secret, scopes)

    def query_client(cid: str) -> _Client | None:
        return client if secrets.compare_digest(cid.encode(), client_id.encode()) else None

    def save_token(token: dict, request) -> None:
        store.add(token["access_token"], client_id=client_id, expires_in=token.get("expires_in"))

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(_Grant)

    @app.post(TOKEN_PATH)
    def issue_token():
        return server.create_token_response()

    return app
