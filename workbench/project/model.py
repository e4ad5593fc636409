"""Pydantic models of `workbench.toml`. Keys are camelCase, as in the file.

The models are a validated view of the file; the tomlkit document stays the truth for edits
(see store.py), so comments and formatting survive.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from workbench.project.mappers import DataMapper, RecordType
from workbench.project.policy import OnError, RetryPolicy, check_timeout
from workbench.project.service import ServiceAuth
from workbench.project.view import STEP_KINDS

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
NAME_RE = re.compile(NAME_PATTERN)
MAX_CONCURRENCY = 256
ConfigType = Literal["string", "int", "float", "boolean", "string[]", "int[]"]
LogLevel = Literal["debug", "info", "warning", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Integration(_Model):
    name: str
    description: str = ""


class Configurable(_Model):
    type: ConfigType = "string"
    description: str = ""
    secret: bool = False
    default: Any = None

    @property
    def required(self) -> bool:
        return self.default is None


class ConnectionDecl(BaseModel):
    """`[connections.X]`: the connector id plus that connector's fields (checked against its schema
    by the diagnostics, since connectors are plugins)."""

    model_config = ConfigDict(extra="allow")
    connector: str

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class _Step(_Model):
    label: str = ""  # an optional caption for the step card
    retry: RetryPolicy | None = None  # the step's own retry loop (runtime/policies.py)
    timeout: float | str | None = None  # the whole step's deadline, retries included: "30s"
    onError: OnError = "fail"  # "continue": the error is recorded and the flow goes on

    _timeout = field_validator("timeout")(classmethod(lambda cls, value: check_timeout(value)))

    @property
    def kind(self) -> str:
        return type(self).KIND  # type: ignore[attr-defined]


class CallStep(_Step):
    KIND: ClassVar[str] = "call"
    call: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
    args: dict[str, Any] = {}
    result: str | None = Field(default=None, pattern=NAME_PATTERN)

    @property
    def connection(self) -> str:
        return self.call.split(".", 1)[0]

    @property
    def operation(self) -> str:
        return self.call.split(".", 1)[1]


class SyncStep(_Step):
    """`sync = "idp.users"`: reconcile the users (or groups) in `scope` with `desired`. It runs the
    connection's `syncUsers` / `syncGroups` operation; `workbench run --plan` makes it plan only."""

    KIND: ClassVar[str] = "sync"
    sync: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.(users|groups)$")
    desired: Any = None  # a list of resources, usually "${people}"
    scope: Any = None  # a SCIM filter: the resources this sync manages
    matchOn: Any = None
    deprovision: Any = None
    maxChanges: Any = None
    concurrency: Any = None
    clearMissing: Any = None
    result: str | None = Field(default=None, pattern=NAME_PATTERN)

    ARG_KEYS: ClassVar[tuple[str, ...]] = ("desired", "scope", "matchOn", "deprovision", "maxChanges", "concurrency",
                                           "clearMissing")

    @property
    def connection(self) -> str:
        return self.sync.split(".", 1)[0]

    @property
    def operation(self) -> str:
        return "syncUsers" if self.sync.endswith(".users") else "syncGroups"

    @property
    def call(self) -> str:
        return f"{self.connection}.{self.operation}"

    @property
    def args(self) -> dict[str, Any]:
        """The operation's arguments, as written (the run adds `planOnly` and `force`)."""
        return {key: getattr(self, key) for key in self.ARG_KEYS if getattr(self, key) is not None}


class SetStep(_Step):
    KIND: ClassVar[str] = "set"
    set: str = Field(pattern=NAME_PATTERN)
    value: Any = None


class LogStep(_Step):
    KIND: ClassVar[str] = "log"
    log: str
    level: LogLevel = "info"


class IfStep(_Step):
    KIND: ClassVar[str] = "if"
    if_: str = Field(alias="if")
    then: list[Step] = []
    else_: list[Step] = Field(default=[], alias="else")


class ForeachStep(_Step):
    KIND: ClassVar[str] = "foreach"
    foreach: str  # an expression giving a list, e.g. "${rows}"
    errors: Literal["stop", "collect"] = "stop"  # collect: failed items do not stop the others
    as_: str = Field(default="item", alias="as", pattern=NAME_PATTERN)
    concurrency: int | str = 1  # 1 to 256, or an expression giving that (checked once resolved)
    steps: list[Step] = []
    result: str | None = Field(default=None, pattern=NAME_PATTERN)

    @field_validator("concurrency")
    @classmethod
    def _concurrency(cls, value: int | str) -> int | str:
        if isinstance(value, str):
            if "${" in value:
                return value  # validation.foreach_problems checks what it gives
            if not value.strip().isdigit():
                raise ValueError("must be an int from 1 to 256, or an expression such as ${config.concurrency}")
            value = int(value)
        if not 1 <= value <= MAX_CONCURRENCY:
            raise ValueError(f"must be from 1 to {MAX_CONCURRENCY}")
        return value


class ReturnStep(_Step):
    KIND: ClassVar[str] = "return"
    return_: Any = Field(alias="return")


class FailStep(_Step):
    KIND: ClassVar[str] = "fail"
    fail: str
    status: int | None = Field(default=None, ge=400, le=499)  # a service answers with this 4xx


def step_kind(value: Any) -> str | None:
    """The first key naming a step kind decides the kind."""
    if isinstance(value, dict):
        for key in value:
            if key in STEP_KINDS:
                return key
        return None
    if isinstance(value, _Step):
        return value.kind
    return None


Step = Annotated[
    Union[
        Annotated[CallStep, Tag("call")],
        Annotated[SyncStep, Tag("sync")],
        Annotated[SetStep, Tag("set")],
        Annotated[LogStep, Tag("log")],
        Annotated[IfStep, Tag("if")],
        Annotated[ForeachStep, Tag("foreach")],
        Annotated[ReturnStep, Tag("return")],
        Annotated[FailStep, Tag("fail")],
    ],
    Discriminator(
        step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step needs one of the keys: " + ", ".join(STEP_KINDS),
    ),
]
AnyStep = Union[CallStep, SyncStep, SetStep, LogStep, IfStep, ForeachStep, ReturnStep, FailStep]


class EntryPoint(_Model):
    kind: Literal["automation", "service"] = "automation"
    description: str = ""
    method: str | None = None  # a service's route and caller auth (project/service.py)
    path: str | None = None
    auth: ServiceAuth | None = None
    sample: dict[str, Any] | None = None  # a service's example request body (the app's Try it)
    schedule: str | None = None
    timezone: str = "UTC"
    steps: list[Step] = []
    onError: list[Step] = []


class Project(_Model):
    integration: Integration
    configurables: dict[str, Configurable] = {}
    connections: dict[str, ConnectionDecl] = {}
    entrypoints: dict[str, EntryPoint] = {}
    types: dict[str, RecordType] = {}  # record types, a data mapper's input (project/mappers.py)
    datamappers: dict[str, DataMapper] = {}

    @field_validator("configurables", "connections", "entrypoints", "types", "datamappers")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not NAME_RE.match(name):
                raise ValueError(f"{name!r} is not a valid name (letters, digits and _; not starting with a digit)")
        return value


IfStep.model_rebuild()
ForeachStep.model_rebuild()
EntryPoint.model_rebuild()


def walk_steps(steps: list[AnyStep], prefix: str = ""):
    """Yield (path, step) depth first; paths look like `1`, `2.then.0`, `3.steps.1` (0-based)."""
    for index, step in enumerate(steps):
        path = f"{prefix}{index}"
        yield path, step
        for branch in child_branches(step):
            yield from walk_steps(getattr(step, BRANCH_ATTRS[branch]), f"{path}.{branch}.")


BRANCH_ATTRS = {"then": "then", "else": "else_", "steps": "steps"}


def child_branches(step: AnyStep) -> tuple[str, ...]:
    if isinstance(step, IfStep):
        return ("then", "else")
    if isinstance(step, ForeachStep):
        return ("steps",)
    return ()
