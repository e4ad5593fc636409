"""Authentication for HTTP connectors: pydantic configs (as written in TOML) and httpx auths.

    [connections.idp.auth]
    type = "oauth2-client-credentials"
    tokenUrl = "https://api.asgardeo.io/t/acme/oauth2/token"
    clientId = "..."
    clientSecret = "${config.scimClientSecret}"
    scopes = ["internal_user_mgt_create"]

The configs are light (no httpx import); `to_httpx_auth()` builds the auths in httpx_auth.py.
Secrets never appear in reprs, error messages or logs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, field_validator

from workbench.connectors.base import ConnectorError, ExchangeHook, SecretHook, http_url

if TYPE_CHECKING:
    import httpx

    from workbench.connectors.httpx_auth import OAuth2ClientCredentials


class TokenError(ConnectorError):
    """The token endpoint did not give an access token. The message names the token URL and
    the OAuth2 `error` (with its description) but never the client secret."""

    def __init__(
        self,
        message: str,
        *,
        token_url: str,
        error: str | None = None,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.token_url = token_url
        self.error = error

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["tokenUrl"] = self.token_url
        if self.error is not None:
            out["error"] = self.error
        return out


# --------------------------------------------------------------------------------------------
# configs


def _secret_field(description: str) -> Any:
    return Field(description=description, json_schema_extra={"secret": True})


class _AuthBase(BaseModel):
    # hide_input_in_errors: a "missing clientId" error would otherwise print the whole input,
    # secret included. It only takes effect when this model is the outermost one validated; see
    # `parse_auth`.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    def secret_values(self) -> list[str]:
        """The plain values of the secret fields (for a redactor)."""
        out = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                out.append(value.get_secret_value())
        return out


class OAuth2ClientCredentialsConfig(_AuthBase):
    """OAuth2 client credentials: the connector fetches (and refreshes) its own bearer token."""

    type: Literal["oauth2-client-credentials"] = "oauth2-client-credentials"
    tokenUrl: str = Field(description="The token endpoint, e.g. https://api.asgardeo.io/t/<org>/oauth2/token")
    clientId: str = Field(description="The OAuth2 client id")
    clientSecret: SecretStr = _secret_field("The OAuth2 client secret")
    scopes: list[str] = Field(default_factory=list, description="Scopes to request (space-joined)")
    authMethod: Literal["client_secret_basic", "client_secret_post"] = Field(
        default="client_secret_basic",
        description="How the client authenticates to the token endpoint",
    )

    @field_validator("tokenUrl")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)

    def to_httpx_auth(self, *, on_exchange: ExchangeHook | None = None, on_secret: SecretHook | None = None) -> OAuth2ClientCredentials:
        from workbench.connectors.httpx_auth import OAuth2ClientCredentials

        return OAuth2ClientCredentials(
            self.tokenUrl,
            self.clientId,
            self.clientSecret.get_secret_value(),
            self.scopes,
            self.authMethod,
            on_exchange=on_exchange,
            on_secret=on_secret,
        )


class BearerConfig(_AuthBase):
    """A static bearer token."""

    type: Literal["bearer"] = "bearer"
    token: SecretStr = _secret_field("The bearer token")

    def to_httpx_auth(self, *, on_exchange: ExchangeHook | None = None, on_secret: SecretHook | None = None) -> httpx.Auth:
        from workbench.connectors.httpx_auth import BearerTokenAuth

        return BearerTokenAuth(self.token.get_secret_value())


class BasicConfig(_AuthBase):
    """HTTP Basic authentication."""

    type: Literal["basic"] = "basic"
    username: str = Field(description="The user name")
    password: SecretStr = _secret_field("The password")

    def to_httpx_auth(self, *, on_exchange: ExchangeHook | None = None, on_secret: SecretHook | None = None) -> httpx.Auth:
        from workbench.connectors.httpx_auth import _BasicAuth

        return _BasicAuth(self.username, self.password.get_secret_value())


class NoAuthConfig(_AuthBase):
    """No authentication."""

    type: Literal["none"] = "none"

    def to_httpx_auth(self, *, on_exchange: ExchangeHook | None = None, on_secret: SecretHook | None = None) -> None:
        return None


AuthConfig = Annotated[
    Union[OAuth2ClientCredentialsConfig, BearerConfig, BasicConfig, NoAuthConfig],
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter | None = None


def parse_auth(data: Any) -> OAuth2ClientCredentialsConfig | BearerConfig | BasicConfig | NoAuthConfig:
    """Validate an auth table. ValidationError messages never echo the input (secrets).

    pydantic decides `hide_input_in_errors` from the outermost model or adapter, so a model that
    embeds `AuthConfig` must set `ConfigDict(hide_input_in_errors=True)` itself."""
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(AuthConfig, config=ConfigDict(hide_input_in_errors=True))
    return _ADAPTER.validate_python(data)



def __getattr__(name: str) -> Any:
    # The httpx auths are importable from here too, loaded on first use.
    if name in ("OAuth2ClientCredentials", "BearerTokenAuth"):
        from workbench.connectors import httpx_auth

        return getattr(httpx_auth, name)
    raise AttributeError(name)


__all__ = [
    "AuthConfig",
    "BasicConfig",
    "BearerConfig",
    "NoAuthConfig",
    "OAuth2ClientCredentialsConfig",
    "TokenError",
    "parse_auth",
]
