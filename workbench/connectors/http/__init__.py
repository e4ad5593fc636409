"""The generic HTTP connector spec: metadata and pydantic schemas only.

The implementation (`HttpConnection`) lives in `workbench.connectors.http.client`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.connectors.auth import AuthConfig, NoAuthConfig
from workbench.connectors.base import ConnectorSpec, HeaderMap, OperationSpec, http_url

__all__ = ["SPEC", "HttpConnectionConfig", "RequestParams"]


class HttpConnectionConfig(BaseModel):
    # The auth table holds secrets: a ValidationError must not echo the input (see parse_auth).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    baseUrl: str = Field(description="Requests are relative to this URL, e.g. https://api.example.com/v1")
    auth: AuthConfig = Field(default_factory=NoAuthConfig, description="How to authenticate")
    headers: HeaderMap = Field(default_factory=dict, description="Extra headers on every request")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds per request, a deadline for all of it")
    verifyTls: bool = Field(True, description="Verify the server's TLS certificate")
    maxResponseMiB: float = Field(50, gt=0, le=4096, description="Largest answer body to read, in MiB")
    raiseForStatus: bool = Field(True, description="Fail the operation on a non-2xx answer")

    @field_validator("baseUrl")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)


class RequestParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field("", description="Path relative to baseUrl (an absolute URL must be on the same origin)")
    query: dict[str, Any] = Field(default_factory=dict, description="Query parameters (a list repeats the key)")
    headers: HeaderMap = Field(default_factory=dict, description="Extra headers for this request")
    body: Any = Field(None, description="A JSON value (object, list, number...) or a text string")
    raiseForStatus: bool | None = Field(None, description="Override the connection's raiseForStatus")


_RESULT = "{status, headers, body}"


def _op(method: str) -> OperationSpec:
    upper = method.upper()
    return OperationSpec(
        method,
        upper,
        f"{upper} baseUrl/path. Returns {{status, headers, body}}; body is decoded JSON when the "
        "answer is JSON, else text. A non-2xx answer fails the operation unless raiseForStatus is false.",
        RequestParams,
        result=_RESULT,
        idempotent=method in ("get", "put", "delete"),
        reads_only=method == "get",
    )


SPEC = ConnectorSpec(
    id="http",
    name="HTTP",
    package="workbench/http",
    version="0.1.0",
    description="Call any HTTP/JSON API: GET, POST, PUT, PATCH and DELETE with auth, headers and query.",
    category="Core",
    connection=HttpConnectionConfig,
    operations={op.name: op for op in map(_op, ("get", "post", "put", "patch", "delete"))},
    implementation="workbench.connectors.http.client:HttpConnection",
    keywords=("http", "rest", "api", "json", "webhook", "request"),
    icon="🌐",
)
