"""The connector contract.

A connector is described by a `ConnectorSpec`: light metadata plus pydantic schemas, importable
without the implementation. The implementation (a `Connection` subclass) is named by a
"module:attr" string and imported only when a run opens the connection.
"""

from __future__ import annotations

import contextvars
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

from workbench.connectors.introspect import models_in
from workbench.connectors.messages import MISSING, sentence

def _ascii_headers(headers: dict[str, str]) -> dict[str, str]:
    # HTTP header values are ASCII; say which header, never its value (it may be a secret).
    for name, value in headers.items():
        if not (name.isascii() and value.isascii()):
            raise ValueError(f"header {name!r}: only ASCII characters are allowed in header names and values")
    return headers


ModelT = TypeVar("ModelT", bound=BaseModel)


class RuntimeString(str):
    """What `check` validates in place of a string known only at run time (its text is the
    expression). `OperationSpec.checks` may accept it wherever any string would do: the errors
    such a value could cause are not reported, and the run checks the real value."""

    __slots__ = ()


class RuntimeObject(dict):
    """What `check` validates in place of a table known only at run time (empty), as RuntimeString."""

    __slots__ = ()


def http_url(value: str) -> str:
    """`value` stripped, if it is an http(s) URL with a host and no white space; ValueError
    "must be an http(s) URL" otherwise (the validator of serviceUrl, baseUrl and tokenUrl)."""
    from urllib.parse import urlsplit

    value = value.strip()
    try:
        parts = urlsplit(value)
        ok = (parts.scheme.lower() in ("http", "https") and value[len(parts.scheme):].startswith("://")
              and bool(parts.hostname) and not any(c.isspace() or ord(c) < 0x20 for c in value))
        if ok:
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("must be an http(s) URL")
    return value

HeaderMap = Annotated[dict[str, str], AfterValidator(_ascii_headers)]

# Called by a connection after each HTTP exchange: (method, url, status or None, duration_ms).
ExchangeHook = Callable[[str, str, int | None, float], None]
# Set by the runtime while a step with its own retry policy runs: a connection then sends each
# request once, and the step's policy is the one retry loop (see runtime/policies.py).
single_attempt: contextvars.ContextVar[bool] = contextvars.ContextVar("wb_single_attempt", default=False)

# Called with a secret a connection derives at run time (an access token, a Basic credential), so
# the run masks it like a configured secret.
SecretHook = Callable[[str], None]


@dataclass(frozen=True)
class OperationSpec:
    name: str  # camelCase, e.g. "createUser"
    label: str  # "Create User"
    description: str
    params: type[BaseModel]
    result: str = "object"  # a short name of the result type, shown in forms and docs
    idempotent: bool = True
    # Sends reads only (GET, a SCIM /.search): a `workbench run --plan` runs it; it skips the others.
    reads_only: bool = False
    # The result's type as an annotation (`list[dict[str, str]]`), for the static checks of
    # expressions that read it; None: derived from `result` (an object, a list, or unknown).
    result_type: Any = None
    # "module:function" of the deeper checks of the params beyond `params` (a SCIM payload against
    # its resource schema): `function(operation, data) -> list of pydantic-style error dicts` with
    # `loc` relative to the params; in `check`, a value known only at run time is a RuntimeString
    # or a RuntimeObject. Imported only when there is something to check; the implementation runs
    # the same function before it sends anything.
    checks: str = ""
    # "module:function" that turns a result into lines for the run output (a sync's plan as a
    # diff): `function(result) -> list[str]`. Imported only when the operation has run.
    result_lines: str = ""

    # The connector type its `payload` (or each item of `desired`) is, e.g. "User": a step's form
    # offers the data mappers whose output is that type, and `check` refuses another type.
    payload_type: str = ""

    def deep_checks(self) -> Callable[[str, dict], list[dict]] | None:
        return _load_ref(self.checks) if self.checks else None

    def lines_of(self, result: Any) -> list[str]:
        return list(_load_ref(self.result_lines)(result)) if self.result_lines else []


def _load_ref(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class Attribute:
    """One attribute of an exported type, as a mapper editor shows it and `check` resolves paths."""

    name: str
    type: str = "string"  # string | boolean | integer | decimal | dateTime | reference | binary | complex
    multi_valued: bool = False
    required: bool = False
    description: str = ""
    canonical: tuple[str, ...] = ()  # canonical values (an email's type: work, home, other)
    read_only: bool = False
    sub: tuple[Attribute, ...] = ()


@dataclass(frozen=True)
class TypeSpec:
    """A type a connector exports (`scim.User`): a data mapper's output. `attributes` and `checks`
    are "module:function" strings, imported on first use: `attributes() -> tuple[Attribute, ...]`,
    `checks(name, value) -> pydantic-style error dicts` (`loc` the value's own keys)."""

    name: str  # "User"
    description: str
    attributes: str
    checks: str

    def attribute_tree(self) -> tuple[Attribute, ...]:
        return _load_ref(self.attributes)(self.name)

    def errors(self, value: Any) -> list[dict]:
        return _load_ref(self.checks)(self.name, value)


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
    types: dict[str, TypeSpec] = field(default_factory=dict)  # what its data mappers may output
    _loaded: list = field(default_factory=list, repr=False, compare=False)

    def load(self) -> type[Connection]:
        if not self._loaded:
            module_name, _, attr = self.implementation.partition(":")
            self._loaded.append(getattr(importlib.import_module(module_name), attr))
        return self._loaded[0]

    def secret_fields(self) -> set[str]:
        """Dotted paths of connection fields marked secret (json_schema_extra={"secret": True}),
        those inside nested tables such as `auth` included ("auth.clientSecret")."""
        return set(_secret_paths(self.connection))


def _secret_paths(model: type[BaseModel], prefix: str = "", seen: frozenset = frozenset()) -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("secret"):
            out.append(prefix + key)
        for sub in models_in(info.annotation, BaseModel):
            if sub not in seen:
                out.extend(p for p in _secret_paths(sub, f"{prefix}{key}.", seen | {model}) if p not in out)
    return out


@dataclass
class OperationContext:
    """What an operation sees besides its params: the project folder (for file paths), and the
    run's redactor, which masks secrets in everything the run shows and which a connection adds
    the secrets it derives to (`redactor.add`)."""

    project_dir: Any = None  # pathlib.Path
    redactor: Any = None  # workbench.project.config.Redactor


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

    @staticmethod
    def params(params: Any, model: type[ModelT]) -> ModelT:
        """An operation's params as `model` (from a dict or another model); ValidationFailed
        naming the field otherwise."""
        if isinstance(params, model):
            return params
        if isinstance(params, BaseModel):
            params = params.model_dump(by_alias=True, exclude_unset=True)
        try:
            return model.model_validate(params or {})
        except ValidationError as exc:
            raise validation_failed("params", exc) from None

    async def call(self, operation: str, params: BaseModel) -> Any:
        method: Callable[[BaseModel], Awaitable[Any]] = getattr(self, operation)
        return await method(params)

    async def aclose(self) -> None:
        """Close pooled resources. Called once when the run ends."""


class ConnectorError(Exception):
    """An operation failed. `status`, `scim_type` and `detail` are set when the server said so.
    For a step's retry policy: `timed_out` (a deadline or timeout ended it), `retry_after` (the
    server's Retry-After, in seconds) and `resend_safe` (True: the connector made sure sending
    again cannot apply it twice; False: it may have been applied; None: as the operation's
    idempotence says)."""

    timed_out: bool = False
    retry_after: float | None = None
    resend_safe: bool | None = None

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
        if self.timed_out:
            out["timedOut"] = True
        if self.retry_after is not None:
            out["retryAfter"] = self.retry_after
        if self.resend_safe is not None:
            out["resendSafe"] = self.resend_safe
        return out


class ValidationFailed(ConnectorError):
    """The params or payload were invalid; no HTTP call was made."""


def describe_errors(errors: list[dict[str, Any]]) -> list[str]:
    out = []
    for error in errors:
        parts: list[str] = []
        for item in error.get("loc", ()):
            if isinstance(item, int):
                parts.append(f"[{item}]")
            else:
                parts.append(("." if parts else "") + str(item))
        where = "".join(parts) or str((error.get("ctx") or {}).get("field_name") or "")
        # In the project's words; the input's kind only, never the input (it may be a secret).
        out.append(sentence(where, error, error.get("input", MISSING)))
    return out


def validation_failed(what: str, exc: ValidationError) -> ValidationFailed:
    problems = describe_errors(exc.errors(include_url=False))
    first = problems[0] if problems else "invalid"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ValidationFailed(f"invalid {what}: {first}{more}", detail="; ".join(problems))
