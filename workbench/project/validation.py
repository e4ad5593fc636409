"""The one validation of a connection's fields and a step's arguments against the connector's
schemas. `workbench check`, the app's editors and the runtime all call it.

    problems = connection_problems(spec, decl.fields, env, name="scimClient")
    problems = args_problems(spec, "createUser", step.args, env, call="scimClient.createUser")
    Validator(project, resolved).connection("scimClient", fields)   # an editor (validator.py)

Values may hold expressions anywhere (`${config.x}` in `authMethod`, `scopes`, `timeout`, ...).
Each expression-valued leaf is replaced before pydantic validates (what it holds statically
comes from `workbench.project.static_types`):

- by its value, when it is known statically (it reads only configurables that have a value):
  the value is then checked against the field like a literal, and an error names both, e.g.
  `scimServiceUrl is used as scimClient.serviceUrl, which must be an http(s) URL`;
- by a stand-in of its type, when only the type is known (a configurable without a value has
  its declared type, a `result` its operation's result type, a foreach `as` over a `readCsv`
  result is a record of strings): only errors that no value of that type could avoid are kept
  (a string is never a list);
- by itself otherwise, and errors at or below it are ignored: an unknown type is never an error.

pydantic's error locations are mapped to the values' key paths by walking the schema
(`workbench.project.schema_walk`), so a discriminated union's tag
(`auth.oauth2-client-credentials.authMethod`) is dropped because the model's discriminator
says it is one, not because it looks like one. Messages are the project's own
(`workbench.connectors.messages`). Connector specs may add deeper checks of an operation's
params (`OperationSpec.checks`: a SCIM payload against its resource schema); they run on the
values as written, statically, and the connector runs the same function before it sends.

The runtime validates the same way with the values resolved (`parse_connection`,
`args_failure`, `parse_concurrency`).

Headless: never imports textual.
"""

from __future__ import annotations

import contextvars

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.connectors.base import RuntimeObject, RuntimeString
from workbench.connectors.messages import TYPE_ERRORS, describe
from workbench.project.model import MAX_CONCURRENCY
from workbench.project.schema_walk import disc_key, keys_of, locate, value_at
from workbench.project.static_types import (
    Env,
    Known,
    Scope,
    Static,
    Type,
    config_names,
    exact_env,
    static_template,
)

ERROR = "error"

# -- problems ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field. `path` is relative to the table validated (the connection's
    table, the step's table: ("auth", "tokenUrl"), ("args", "payload", "emails")); `base` is that
    table's key path in workbench.toml, so `key_path` is the field's."""

    path: tuple[str | int, ...]
    code: str  # missing-key | unknown-key | type-mismatch | bad-value
    message: str
    binding: str | None = None  # the configurable whose value the field refuses
    severity: str = ERROR
    base: tuple[str | int, ...] = ()

    @property
    def key_path(self) -> tuple[str | int, ...]:
        return self.base + self.path

    @property
    def key(self) -> str:
        """The field's key path as `check --json` writes it."""
        from workbench.project.files import format_key_path

        return format_key_path(self.key_path)


class InvalidValues(ValueError):
    """The run's values do not fit the schema. `problems` names each field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems) or "invalid")


def dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


# -- validation --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Origin:
    static: Static
    text: str
    binding: str | None
    reads: tuple[str, ...]


def _substitute(value: Any, env: Env, scope: Scope, path: tuple, origins: dict) -> Any:
    cls = type(value)
    if cls is str or isinstance(value, str):
        if "$" not in value:
            return value
        static = static_template(value, env, scope)
        text = str.__str__(value)  # a plain str (tomlkit's String is one too)
        binding, reads = config_names(text)
        origins[path] = _Origin(static, text, binding, reads)
        if isinstance(static, Known):
            return static.value
        return _stand_in(static, text)
    if isinstance(value, Mapping):
        return {key: _substitute(item, env, scope, path + (key,), origins) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_substitute(item, env, scope, path + (i,), origins) for i, item in enumerate(value)]
    return value


# 0, 0.0, False, [] and an empty RuntimeObject; anything else is its text, as a RuntimeString.
_STAND_INS = {"int": int, "float": float, "boolean": bool, "list": list, "object": RuntimeObject}


def _stand_in(static: Type, text: str) -> Any:
    """A value of the type: errors that depend on the content are ignored at its location."""
    make = _STAND_INS.get(static.kind)
    return make() if make is not None else RuntimeString(text)


def _keep(err_type: str, static: Type) -> bool:
    """Whether an error at a stand-in of `static` holds for any value of that type."""
    return not (static.kind == "any" or err_type not in TYPE_ERRORS or err_type.endswith("_parsing")
                or err_type == "int_from_float")


def _code(err_type: str) -> str:
    if err_type in ("missing", "required_error", "union_tag_not_found"):
        return "missing-key"
    if err_type == "extra_forbidden":
        return "unknown-key"
    if err_type in TYPE_ERRORS:
        return "type-mismatch"
    return "bad-value"


@dataclass
class Outcome:
    """What `validate` found: the model (when the values are all known and valid), the problems,
    and the values pydantic saw (expressions replaced)."""

    model: BaseModel | None = None
    problems: list[FieldProblem] = field(default_factory=list)
    data: Any = None


def validate(
    model: type[BaseModel],
    values: Mapping[str, Any],
    env: Env,
    *,
    what: str,
    owner: str,
    prefix: tuple = (),
    base: tuple = (),
    deep: Any = None,
    operation: str = "",
) -> Outcome:
    """Validate `values` (literals and expressions) against `model` in `env`.

    `what` starts the messages of literal values ("connection scimClient"); `owner` names the
    field for a configurable's value ("scimClient" -> "scimClient.serviceUrl"); `prefix` is the
    key path of `values` inside the table (("args",) for a step); `base` the table's own key path.
    `deep(operation, data)` returns further pydantic-style errors, checked when the model found
    none to report (a SCIM payload against its schema)."""
    origins: dict[tuple, _Origin] = {}
    scope = Scope(env)
    data = _substitute(values, env, scope, (), origins)
    problems: list[FieldProblem] = []
    instance = None
    try:
        instance = model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            path, _, disc = locate(model, tuple(err["loc"]))
            _report(err, path, disc, data, origins, problems, model=model, what=what, owner=owner,
                    prefix=prefix, base=base)
    if deep is not None and not problems and isinstance(data, dict):
        unknown = [path for path, origin in origins.items() if not isinstance(origin.static, Known)]
        for err in _deep_errors(deep, operation, data, unknown):
            loc = tuple(err.get("loc", ()))
            if any(path[: len(loc)] == loc and len(path) > len(loc) for path in unknown):
                continue  # about a table that holds a value known only at run time
            _report(err, loc, None, data, origins, problems, model=None, what=what,
                    owner=owner, prefix=prefix, base=base)
    if origins and any(not isinstance(o.static, Known) for o in origins.values()):
        instance = None  # validated against stand-ins: not the run's values
    return Outcome(instance if not problems else None, problems, data)


_DEEP_CACHE: dict[tuple, list[dict]] = {}
# While `check` runs on a project: its verdicts kept on disk (check_cache.py), across processes.
disk_verdicts: contextvars.ContextVar[Any] = contextvars.ContextVar("wb_disk_verdicts", default=None)
_DEEP_CACHE_SIZE = 8192


def _deep_errors(deep: Any, operation: str, data: dict, unknown: list[tuple]) -> list[dict]:
    """The deeper checks' errors, remembered by the values they saw: `check` runs again after
    every edit, and most payloads have not changed. Where the stand-ins are is part of the key:
    a deeper check may accept a stand-in (RuntimeObject) where it refuses the same literal `{}`."""
    import json

    try:
        key = (deep, operation, json.dumps(data, sort_keys=True, default=repr)
               + (" " + json.dumps(sorted(unknown, key=repr)) if unknown else ""))
    except (TypeError, ValueError):
        return deep(operation, data)
    found = _DEEP_CACHE.get(key)
    if found is None:
        disk = disk_verdicts.get()
        disk_key = disk.key(deep, operation, key[2]) if disk is not None else None
        found = disk.get(disk_key) if disk is not None else None
        if found is None:
            found = deep(operation, data)
            if disk is not None:
                disk.put(disk_key, found)
        if len(_DEEP_CACHE) >= _DEEP_CACHE_SIZE:
            _DEEP_CACHE.pop(next(iter(_DEEP_CACHE)))
        _DEEP_CACHE[key] = found
    return found


def _origin_for(path: tuple, origins: dict) -> tuple[tuple, _Origin] | None:
    if not origins:
        return None
    for n in range(len(path), -1, -1):
        origin = origins.get(path[:n])
        if origin is not None:
            return path[:n], origin
    return None


def _report(err, path, disc, data, origins, problems, *, model, what, owner, prefix, base) -> None:
    err_type = err.get("type", "")
    if err_type in ("union_tag_invalid", "union_tag_not_found"):
        key = disc_key(disc) or str((err.get("ctx") or {}).get("discriminator", "type")).strip("'")
        path = path + (key,)
    found = _origin_for(path, origins)
    binding = None
    if found is not None:
        at, origin = found
        if isinstance(origin.static, Type) and (at != path or not _keep(err_type, origin.static)):
            return  # depends on what the expression gives at run time
        binding = origin.binding if at == path else None
        if binding is None and origin.reads and at == path:
            reads = origin.reads
        else:
            reads = ()
    else:
        reads = ()
    value = value_at(data, path)
    field_name = dotted(path)
    code = _code(err_type)
    if err_type == "extra_forbidden":
        message = f"{what}: unknown field {field_name!r}"
        if model is not None:
            close = difflib.get_close_matches(str(path[-1]), keys_of(model, path[:-1], data), n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
    elif binding is not None:
        text, requirement = describe(err, value)
        used = f"{owner}.{field_name}" if not prefix else f"{owner} {field_name}"
        message = f"{binding} is used as {used}, which {text}" if requirement else f"{binding} is used as {used}: {text}"
    else:
        text, requirement = describe(err, value)
        message = f"{what}: {field_name} {text}" if requirement else f"{what}: {field_name}: {text}"
        if reads:
            message += f" (with the value of {', '.join(reads)})"
    problems.append(FieldProblem(prefix + path, code, message, binding, base=base))


# -- connections and steps ------------------------------------------------------------------------


def connection_problems(spec: Any, fields: Mapping[str, Any], env: Env, *, name: str,
                        base: tuple | None = None) -> list[FieldProblem]:
    """A connection's fields (`connector` left out) against its connector's schema. Paths are
    relative to the connection's table."""
    base = ("connections", name) if base is None else base
    return validate(spec.connection, fields, env, what=f"connection {name}", owner=name, base=base).problems


def args_problems(spec: Any, operation: str, args: Mapping[str, Any], env: Env, *, call: str,
                  base: tuple = (), prefix: tuple = ("args",)) -> list[FieldProblem]:
    """A call step's `args` against the operation's params and its deeper checks. Paths are
    relative to the step's table (("args", "payload", "userName")); a `sync` step's arguments are
    the step's own keys (prefix ())."""
    op = spec.operations[operation]
    deep = op.deep_checks() if getattr(op, "checks", "") else None
    return validate(op.params, args if isinstance(args, Mapping) else {}, env, what=f"{call} args", owner=call,
                    prefix=prefix, base=base, deep=deep, operation=operation).problems


class _ForeachFields(BaseModel):
    model_config = ConfigDict(extra="ignore")
    concurrency: int = Field(default=1, ge=1, le=MAX_CONCURRENCY)


def foreach_problems(concurrency: Any, env: Env, *, base: tuple = ()) -> list[FieldProblem]:
    """A foreach's `concurrency` (an int from 1 to 256, or an expression that gives one)."""
    return validate(_ForeachFields, {"concurrency": concurrency}, env, what="foreach", owner="foreach",
                    base=base).problems


# -- the runtime: the same validation with the values resolved ------------------------------------


def parse_connection(spec: Any, fields: Mapping[str, Any], scope: Mapping[str, Any], *, name: str) -> BaseModel:
    """The connection's config for a run: its fields rendered in `scope` and validated. Raises
    ExpressionError (a value that cannot be rendered) or InvalidValues (the same problems
    `check` reports, with the run's values)."""
    from workbench.project.expressions import render

    rendered = render(fields, scope)
    try:
        return spec.connection.model_validate(rendered)
    except ValidationError:
        problems = connection_problems(spec, fields, exact_env(scope), name=name)
        raise InvalidValues(problems or _fallback(spec.connection, rendered, f"connection {name}")) from None


def args_failure(op: Any, args: Mapping[str, Any], scope: Mapping[str, Any], *, call: str,
                 rendered: Any = None) -> InvalidValues:
    """Why a call's rendered args failed its params model, in `check`'s words (bindings named)."""
    try:
        problems = validate(op.params, args, exact_env(scope), what=f"{call} args", owner=call,
                            prefix=("args",)).problems
    except Exception:  # noqa: BLE001 - the explanation must never hide the failure
        problems = []
    return InvalidValues(problems or _fallback(op.params, rendered, f"{call} args"))


def parse_concurrency(value: Any, scope: Mapping[str, Any]) -> int:
    """A foreach's concurrency for a run (an expression rendered in `scope`). Raises
    ExpressionError or InvalidValues."""
    from workbench.project.expressions import render

    render(value, scope)  # a value that cannot be rendered fails as the expression's error
    outcome = validate(_ForeachFields, {"concurrency": value}, exact_env(scope), what="foreach", owner="foreach")
    if outcome.problems or outcome.model is None:
        raise InvalidValues(outcome.problems)
    return outcome.model.concurrency


def _fallback(model: Any, rendered: Any, what: str) -> list[FieldProblem]:
    try:
        model.model_validate(rendered)
    except ValidationError as exc:
        problems: list[FieldProblem] = []
        for err in exc.errors(include_url=False, include_input=False):
            path, _, disc = locate(model, tuple(err["loc"]))
            _report(err, path, disc, rendered, {}, problems, model=model, what=what, owner=what, prefix=(), base=())
        return problems
    return []
