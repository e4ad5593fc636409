"""The connector contract.

A connector is described by a `ConnectorSpec`: light metadata plus pydantic schemas, importable
without the implementation. The implementation (a `Connection` subclass) is named by a
"module:attr" string and imported only when a run opens the connection.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel

def _ascii_headers(headers: dict[str, str]) -> dict[str, str]:
    # HTTP header values are ASCII; say which header, never its value (it may be a secret).
    for name, value in headers.items():
        if not (name.isascii() and value.isascii()):
            raise ValueError(f"header {name!r}: only ASCII characters are allowed in header names and values")
    return headers


HeaderMap = Annotated[dict[str, str], AfterValidator(_ascii_headers)]

# Called by a connection after each HTTP exchange: (method, url, status or None, duration_ms).
ExchangeHook = Callable[[str, str, int | None, float], None]


@dataclass(frozen=True)
class OperationSpec:
    name: str  # camelCase, e.g. "createUser"
    label: str  # "Create User"
    description: str
    params: type[BaseModel]
    result: str = "object"  # a short name of the result type, shown in forms and docs
    idempotent: bool = True


@dataclass(frozen=True)
class ConnectorSpec:
    id: str  # "scim"
    name: str  # "SCIM 2.0"
    package: str  # "workbench/scim", shown on the palette card
    version: str
    description: str
    category: str
    connection: type[BaseModel]  # the connection schema (fields of [connections.X] minus `connector`)
    operations: dict[str, OperationSpec]
    implementation: str  # "package.module:ConnectionClass"
    keywords: tuple[str, ...] = ()
    icon: str = ""
    _loaded: list = field(default_factory=list, repr=False, compare=False)

    def load(self) -> type[Connection]:
        if not self._loaded:
            module_name, _, attr = self.implementation.partition(":")
            self._loaded.append(getattr(importlib.import_module(module_name), attr))
        return self._loaded[0]

    def secret_fields(self) -> set[str]:
        """Dotted paths of connection fields marked secret (json_schema_extra={"secret": True})."""
        return set(_secret_paths(self.connection))


def _secret_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("secret"):
            out.append(prefix + key)
    return out


@dataclass
class OperationContext:
    """What an operation sees besides its params: the project folder (for file paths)."""

    project_dir: Any = None  # pathlib.Path


class Connection:
    """One open connection for one run. Subclasses implement operations as async methods named
    after the operation (`async def createUser(self, params) -> Any`)."""

    def __init__(
        self,
        spec: ConnectorSpec,
        config: BaseModel,
        *,
        context: OperationContext | None = None,
        on_exchange: ExchangeHook | None = None,
    ) -> None:
        self.spec = spec
        self.config = config
        self.context = context or OperationContext()
        self.on_exchange = on_exchange

    async def call(self, operation: str, params: BaseModel) -> Any:
        method: Callable[[BaseModel], Awaitable[Any]] = getattr(self, operation)
        return await method(params)

    async def aclose(self) -> None:
        """Close pooled resources. Called once when the run ends."""


class ConnectorError(Exception):
    """An operation failed. `status`, `scim_type` and `detail` are set when the server said so."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        scim_type: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.scim_type = scim_type
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "type": type(self).__name__}
        if self.status is not None:
            out["status"] = self.status
        if self.scim_type is not None:
            out["scimType"] = self.scim_type
        if self.detail is not None:
            out["detail"] = self.detail
        return out


class ValidationFailed(ConnectorError):
    """The params or payload were invalid; no HTTP call was made."""
