"""The one validation of a connection's fields and a step's arguments against the connector's
schemas. `workbench check`, the app's editors and the runtime all call it.

    problems = connection_problems(spec, decl.fields, env, name="scimClient")
    problems = args_problems(spec, "createUser", step.args, env, call="scimClient.createUser")
    Validator(project, resolved).connection("scimClient", fields)   # an editor, per keystroke

Values may hold expressions anywhere (`${config.x}` in `authMethod`, `scopes`, `timeout`, ...).
Each expression-valued leaf is replaced before pydantic validates:

- by its value, when it is known statically (it reads only configurables that have a value):
  the value is then checked against the field like a literal, and an error names both, e.g.
  `scimServiceUrl is used as scimClient.serviceUrl, which must be an http(s) URL`;
- by a stand-in of its type, when only the type is known (a configurable without a value has
  its declared type, a `result` its operation's result type, a foreach `as` over a `readCsv`
  result is a record of strings): only errors that no value of that type could avoid are kept
  (a string is never a list);
- by itself otherwise, and errors at or below it are ignored: an unknown type is never an error.

pydantic's error locations are mapped to the values' key paths by walking the schema, so a
discriminated union's tag (`auth.oauth2-client-credentials.authMethod`) is dropped because the
model's discriminator says it is one, not because it looks like one. Messages are the project's
own (`workbench.connectors.messages`). Connector specs may add deeper checks of an operation's
params (`OperationSpec.checks`: a SCIM payload against its resource schema); they run on the
values as written, statically, and the connector runs the same function before it sends.

Headless: never imports textual.
"""

from __future__ import annotations

import difflib
import types as _types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.connectors.messages import MISSING, TYPE_ERRORS, describe
from workbench.project.expressions import (
    BoolOp,
    Call,
    Compare,
    Default,
    ExpressionError,
    Literal,
    Not,
    Path,
    parse_template,
)
from workbench.project.model import MAX_CONCURRENCY

ERROR = "error"

# -- static types --------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Type:
    """What is known of a value without running: its kind, and for containers what they hold."""

    kind: str  # string | int | float | boolean | list | object | any
    item: Static | None = None  # list: every item
    values: Static | None = None  # object: every value (a record)
    fields: Mapping[str, Static] | None = None  # object: known keys

    def get(self, key: Any) -> Static:
        if self.kind == "object" and isinstance(key, str):
            if self.fields is not None and key in self.fields:
                return self.fields[key]
            if self.values is not None:
                return self.values
        if self.kind == "list" and isinstance(key, int) and not isinstance(key, bool) and self.item is not None:
            return self.item
        return ANY

    def __repr__(self) -> str:
        return f"Type({self.kind})"


@dataclass(slots=True, eq=False)
class Known:
    """A value known statically (it reads only configurables that have a value)."""

    value: Any


Static = Type | Known
ANY, STRING, INT, FLOAT, BOOLEAN = Type("any"), Type("string"), Type("int"), Type("float"), Type("boolean")
OBJECT, LIST = Type("object"), Type("list")
RECORD_OF_STRINGS = Type("object", values=STRING)
ERROR_TYPE = Type("object", fields={"message": STRING, "type": STRING, "step": STRING})

_CONFIG_TYPES = {"string": STRING, "int": INT, "float": FLOAT, "boolean": BOOLEAN,
                 "string[]": Type("list", item=STRING), "int[]": Type("list", item=INT)}


def config_type(type_name: str) -> Type:
    """The static type of a configurable's declared type."""
    return _CONFIG_TYPES.get(type_name, ANY)


def annotation_type(annotation: Any) -> Type:
    """The static type of a Python annotation (`list[dict[str, str]]`)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return annotation_type(args[0])
    if origin in (list, tuple, set, frozenset):
        return Type("list", item=annotation_type(args[0]) if args else ANY)
    if origin is dict:
        return Type("object", values=annotation_type(args[1]) if len(args) == 2 else ANY)
    if annotation is str:
        return STRING
    if annotation is bool:
        return BOOLEAN
    if annotation is int:
        return INT
    if annotation is float:
        return FLOAT
    if isinstance(annotation, type) and issubclass(annotation, (BaseModel, dict)):
        return OBJECT
    return ANY


def result_type(op: Any) -> Type:
    """The static type of an operation's result: `result_type`, else from its `result` name."""
    if getattr(op, "result_type", None) is not None:
        return annotation_type(op.result_type)
    name = str(getattr(op, "result", "") or "")
    if name.startswith("list["):
        return LIST
    if name == "object" or name.startswith("{") or name[:1].isupper():
        return OBJECT
    return ANY


def kind_of(value: Any) -> Type:
    """The static type of a literal value."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STRING
    if isinstance(value, Mapping):
        return OBJECT
    if isinstance(value, (list, tuple)):
        return LIST
    return ANY


def item_type(source: Static) -> Static:
    """The type of a foreach's `as` variable, from the type of its list."""
    if isinstance(source, Known):
        items = source.value if isinstance(source.value, list) else []
        kinds = {kind_of(item).kind for item in items}
        return kind_of(items[0]) if len(kinds) == 1 else ANY
    if source.kind == "list" and source.item is not None:
        return source.item if isinstance(source.item, Type) else ANY
    return ANY


def merge(a: Static | None, b: Static) -> Static:
    """The type of a variable that holds `a` or `b` (set in either branch of an `if`)."""
    if a is None or a is b:
        return b
    if isinstance(a, Known) and isinstance(b, Known) and type(a.value) is type(b.value) and a.value == b.value:
        return a
    ka = a.kind if isinstance(a, Type) else kind_of(a.value).kind
    kb = b.kind if isinstance(b, Type) else kind_of(b.value).kind
    return Type(ka) if ka == kb and ka != "any" else ANY


# -- static evaluation of expressions --------------------------------------------------------------

Env = Mapping[str, Static]  # root name -> what it holds


def config_env(resolved: Any) -> Type:
    """The `config` root: the value of each configurable that has one, else its declared type.
    A required configurable set to "" has no value (see `has_value`)."""
    fields: dict[str, Static] = {}
    for name, rv in resolved.values.items():
        fields[name] = Known(rv.value) if has_value(rv) else config_type(rv.decl.type)
    return Type("object", fields=fields)


def has_value(rv: Any) -> bool:
    """A resolved configurable with a usable value: set, of its type, and not "" when required."""
    return bool(rv.ok) and not (rv.decl.required and rv.value == "")


def exact_env(scope: Mapping[str, Any]) -> dict[str, Static]:
    """A run's scope: every value known."""
    return {name: Known(value) for name, value in scope.items()}


def _materialize(static: Static) -> Any:
    if isinstance(static, Known):
        return static.value
    if static.fields is not None:
        return {k: _materialize(v) for k, v in static.fields.items() if _is_known(v)}
    return MISSING


def _is_known(static: Static) -> bool:
    return isinstance(static, Known) or (isinstance(static, Type) and static.fields is not None
                                         and any(_is_known(v) for v in static.fields.values()))


class _Scope(dict):
    """The known part of an env, built on first use, for evaluating fully known expressions."""

    def __init__(self, env: Env) -> None:
        super().__init__()
        self.env = env
        self.built = False

    def ready(self) -> _Scope:
        if not self.built:
            self.built = True
            for name, static in self.env.items():
                value = _materialize(static)
                if value is not MISSING:
                    self[name] = value
        return self


def _walk(static: Static, key: Any) -> Static:
    if isinstance(static, Known):
        value = static.value
        if isinstance(value, Mapping) and isinstance(key, str) and key in value:
            return Known(value[key])
        if isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool) and -len(value) <= key < len(value):
            return Known(value[key])
        return ANY  # the run fails to read it; that is the expression's error, not the field's
    return static.get(key)


def static_expr(expr: Any, env: Env, scope: _Scope) -> Static:
    """What an expression gives, as far as it is known without running."""
    if isinstance(expr, Literal):
        return Known(expr.value)
    if isinstance(expr, Path):
        if expr.base is not None:
            current = static_expr(expr.base, env, scope)
        elif expr.root in env:
            current = env[expr.root]
        else:
            return ANY
        for key in expr.keys:
            if not isinstance(key, (str, int)):
                k = static_expr(key, env, scope)
                if not isinstance(k, Known):
                    return ANY
                key = k.value
            current = _walk(current, key)
            if current is ANY:
                return ANY
        return current
    if isinstance(expr, Call):
        if isinstance(static_expr(expr.arg, env, scope), Known):
            return _evaluate(expr, scope)
        return INT if expr.name == "len" else STRING
    if isinstance(expr, (Compare, Not, BoolOp)):
        children = ((expr.left, expr.right) if isinstance(expr, Compare)
                    else (expr.operand,) if isinstance(expr, Not) else expr.operands)
        if all(isinstance(static_expr(c, env, scope), Known) for c in children):
            return _evaluate(expr, scope)
        return BOOLEAN
    if isinstance(expr, Default):
        value = static_expr(expr.value, env, scope)
        if isinstance(value, Known) and value.value is not None:
            return value
        return ANY
    return ANY


def _evaluate(expr: Any, scope: _Scope) -> Static:
    try:
        return Known(expr.evaluate(scope.ready()))
    except (ExpressionError, TypeError, ValueError):
        return ANY


def static_template(text: str, env: Env, scope: _Scope | None = None) -> Static:
    """What a string value gives: a literal, one `${...}` (its value's type), or interpolated text."""
    scope = scope if scope is not None else _Scope(env)
    try:
        template = parse_template(text)
    except ExpressionError:
        return ANY  # a syntax error, reported as such
    if template.is_literal:
        return Known(template.evaluate({}))
    if template.single is not None:
        return static_expr(template.single, env, scope)
    parts = [static_expr(p, env, scope) for p in template.parts if not isinstance(p, str)]
    if all(isinstance(p, Known) for p in parts):
        try:
            return Known(template.evaluate(scope.ready()))
        except (ExpressionError, TypeError, ValueError):
            return ANY
    return STRING


def static_value(value: Any, env: Env) -> Static:
    """What a step's value (a `set`'s `value`, a `foreach`) gives."""
    if isinstance(value, str):
        return static_template(value, env) if "$" in value else Known(value)
    if not _has_template(value):
        return Known(value)
    return kind_of(value)


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "$" in value
    if isinstance(value, Mapping):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_template(v) for v in value)
    return False


def _config_names(text: str) -> tuple[str | None, tuple[str, ...]]:
    """(the configurable a value is exactly `${config.X}` of, the configurables it reads)."""
    try:
        template = parse_template(text)
    except ExpressionError:
        return None, ()
    names = []
    for ref in template.references():
        if ref.root == "config" and "." in ref.path:
            name = ref.path.split(".")[1].split("[")[0]
            if name not in names:
                names.append(name)
    single = template.single
    exact = None
    if isinstance(single, Path) and single.root == "config" and len(single.keys) == 1 and isinstance(single.keys[0], str):
        exact = single.keys[0]
    return exact, tuple(names)


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


# -- the schema walk: pydantic locations -> key paths ----------------------------------------------


def _unwrap(annotation: Any, disc: Any = None) -> tuple[Any, Any]:
    """Strip Annotated (keeping its discriminator) and Optional."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            args = typing.get_args(annotation)
            annotation = args[0]
            for meta in args[1:]:
                d = getattr(meta, "discriminator", None)
                if d is not None:
                    disc = d
            continue
        if origin in (typing.Union, _types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation, disc


def _disc_key(disc: Any) -> str | None:
    if isinstance(disc, str):
        return disc
    inner = getattr(disc, "discriminator", None)
    return inner if isinstance(inner, str) else None


def _member_for(members: list, disc: Any, part: Any) -> Any:
    """The member of a discriminated union whose tag is `part`, or MISSING."""
    from workbench.connectors.introspect import tag_of

    key = _disc_key(disc)
    for member in members:
        if typing.get_origin(member) is typing.Annotated:
            for meta in typing.get_args(member)[1:]:
                if getattr(meta, "tag", MISSING) == part and type(meta).__name__ == "Tag":
                    return typing.get_args(member)[0]
            member = typing.get_args(member)[0]
        if key and isinstance(member, type) and issubclass(member, BaseModel) and tag_of(member, key) == part:
            return member
    return MISSING


def _label_matches(member: Any, part: str) -> bool:
    """Whether `part` is pydantic's label of a smart union's member (`str`, `list[str]`, `Model`)."""
    base, _ = _unwrap(member)
    name = getattr(base, "__name__", None) or getattr(typing.get_origin(base), "__name__", "")
    return part == name or part.startswith(f"{name}[") or part.startswith(("function-", "json-or-python["))


@lru_cache(maxsize=512)
def _fields_by_key(model: type[BaseModel]) -> dict[str, Any]:
    out = {}
    for name, info in model.model_fields.items():
        out[name] = info
        if info.alias:
            out[info.alias] = info
    return out


@lru_cache(maxsize=4096)
def locate(model: Any, loc: tuple) -> tuple[tuple, Any, Any]:
    """pydantic's error location as the values' key path, with the annotation and the
    discriminator at the end: ("auth", "oauth2-client-credentials", "authMethod") ->
    ("auth", "authMethod"), since `auth` is a union discriminated by `type`."""
    out: list = []
    annotation, disc = model, None
    for part in loc:
        annotation, disc = _unwrap(annotation, disc)
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, _types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if disc is not None:
                member = _member_for(members, disc, part)
                if member is not MISSING:
                    annotation, disc = member, None
                    continue
            elif isinstance(part, str):
                chosen = next((m for m in members if _label_matches(m, part)), MISSING)
                if chosen is not MISSING:
                    annotation, disc = chosen, None
                    continue
            out.append(part)
            annotation, disc = Any, None
            continue
        if part == "[key]":
            continue
        out.append(part)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = _fields_by_key(annotation).get(part) if isinstance(part, str) else None
            if info is None:
                annotation, disc = Any, None
            else:
                annotation, disc = info.annotation, info.discriminator
                for meta in info.metadata:
                    d = getattr(meta, "discriminator", None)
                    if d is not None:
                        disc = d
        elif origin in (list, tuple, set, frozenset):
            args = typing.get_args(annotation)
            annotation, disc = (args[0] if args else Any), None
        elif origin is dict:
            args = typing.get_args(annotation)
            annotation, disc = (args[1] if len(args) == 2 else Any), None
        else:
            annotation, disc = Any, None
    annotation, disc = _unwrap(annotation, disc)
    return tuple(out), annotation, disc


def _keys_of(model: Any, parent: tuple, data: Any) -> list[str]:
    """The keys a table at `parent` may have (for "did you mean")."""
    _, annotation, disc = locate(model, parent)
    if typing.get_origin(annotation) in (typing.Union, _types.UnionType) and disc is not None:
        node = _at(data, parent)
        tag = node.get(_disc_key(disc)) if isinstance(node, Mapping) else None
        member = _member_for([a for a in typing.get_args(annotation) if a is not type(None)], disc, tag)
        annotation = member if member is not MISSING else Any
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    return []


def _at(data: Any, path: tuple) -> Any:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return MISSING
    return node


# -- validation --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Origin:
    static: Static
    text: str
    binding: str | None
    reads: tuple[str, ...]


def _substitute(value: Any, env: Env, scope: _Scope, path: tuple, origins: dict) -> Any:
    cls = type(value)
    if cls is str or isinstance(value, str):
        if "$" not in value:
            return value
        static = static_template(value, env, scope)
        binding, reads = _config_names(value)
        origins[path] = _Origin(static, str(value), binding, reads)
        if isinstance(static, Known):
            return static.value
        return _stand_in(static, str(value))
    if isinstance(value, Mapping):
        return {key: _substitute(item, env, scope, path + (key,), origins) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_substitute(item, env, scope, path + (i,), origins) for i, item in enumerate(value)]
    return value


def _stand_in(static: Type, text: str) -> Any:
    """A value of the type: errors that depend on the content are ignored at its location."""
    return {"int": 0, "float": 0.0, "boolean": False, "list": [], "object": {}}.get(static.kind, text)


def _keep(err_type: str, static: Type) -> bool:
    """Whether an error at a stand-in of `static` holds for any value of that type."""
    if static.kind == "any" or err_type not in TYPE_ERRORS or err_type.endswith("_parsing") or err_type == "int_from_float":
        return False
    return True


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
    scope = _Scope(env)
    data = _substitute(values, env, scope, (), origins)
    problems: list[FieldProblem] = []
    instance = None
    try:
        instance = model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            path, annotation, disc = locate(model, tuple(err["loc"]))
            _report(err, path, disc, data, origins, problems, model=model, what=what, owner=owner,
                    prefix=prefix, base=base)
    if deep is not None and not problems and isinstance(data, dict):
        unknown = [path for path, origin in origins.items() if not isinstance(origin.static, Known)]
        for err in _deep_errors(deep, operation, data):
            loc = tuple(err.get("loc", ()))
            if any(path[: len(loc)] == loc and len(path) > len(loc) for path in unknown):
                continue  # about a table that holds a value known only at run time
            _report(err, loc, None, data, origins, problems, model=None, what=what,
                    owner=owner, prefix=prefix, base=base)
    if origins and any(not isinstance(o.static, Known) for o in origins.values()):
        instance = None  # validated against stand-ins: not the run's values
    return Outcome(instance if not problems else None, problems, data)


_DEEP_CACHE: dict[tuple, list[dict]] = {}
_DEEP_CACHE_SIZE = 8192


def _deep_errors(deep: Any, operation: str, data: dict) -> list[dict]:
    """The deeper checks' errors, remembered by the values they saw: `check` runs again after
    every edit, and most payloads have not changed."""
    import json

    try:
        key = (deep, operation, json.dumps(data, sort_keys=True, default=repr))
    except (TypeError, ValueError):
        return deep(operation, data)
    found = _DEEP_CACHE.get(key)
    if found is None:
        found = deep(operation, data)
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
        key = _disc_key(disc) or str((err.get("ctx") or {}).get("discriminator", "type")).strip("'")
        path = path + (key,)
    found = _origin_for(path, origins)
    binding = None
    if found is not None:
        at, origin = found
        if isinstance(origin.static, Type):
            if at != path or not _keep(err_type, origin.static):
                return  # depends on what the expression gives at run time
        binding = origin.binding if at == path else None
        if binding is None and origin.reads and at == path:
            reads = origin.reads
        else:
            reads = ()
    else:
        reads = ()
    value = _at(data, path)
    field_name = dotted(path)
    code = _code(err_type)
    if err_type == "extra_forbidden":
        message = f"{what}: unknown field {field_name!r}"
        if model is not None:
            close = difflib.get_close_matches(str(path[-1]), _keys_of(model, path[:-1], data), n=1)
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
                  base: tuple = ()) -> list[FieldProblem]:
    """A call step's `args` against the operation's params and its deeper checks. Paths are
    relative to the step's table (("args", "payload", "userName"))."""
    op = spec.operations[operation]
    deep = op.deep_checks() if getattr(op, "checks", "") else None
    return validate(op.params, args if isinstance(args, Mapping) else {}, env, what=f"{call} args", owner=call,
                    prefix=("args",), base=base, deep=deep, operation=operation).problems


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


# -- the project: scopes and the editors' entry point ----------------------------------------------


def defined_types(step: Any, env: Env, project: Any) -> dict[str, Static]:
    """The variables a step defines, with their types."""
    from workbench.project.model import CallStep, ForeachStep, SetStep

    if isinstance(step, CallStep) and step.result:
        return {step.result: _call_result(step, project)}
    if isinstance(step, ForeachStep) and step.result:
        return {step.result: LIST}
    if isinstance(step, SetStep):
        return {step.set: static_value(step.value, env)}
    return {}


def _call_result(step: Any, project: Any) -> Static:
    from workbench.connectors import catalogue

    decl = project.connections.get(step.connection)
    try:
        spec = catalogue.get(decl.connector) if decl is not None else None
    except KeyError:
        spec = None
    op = spec.operations.get(step.operation) if spec is not None else None
    return result_type(op) if op is not None else ANY


def walk(project: Any, steps: list, env: dict[str, Static], key_path: tuple) -> Iterator[tuple[tuple, Any, dict]]:
    """(key path, step, the variables it sees) for each step, depth first, in run order. `env`
    is updated with what the steps define, as the engine's scope is."""
    from workbench.project.model import BRANCH_ATTRS, ForeachStep, IfStep, child_branches

    for index, step in enumerate(steps):
        path = key_path + (index,)
        yield path, step, env
        for branch in child_branches(step):
            inner = dict(env)
            if isinstance(step, ForeachStep):
                inner[step.as_] = item_type(static_value(step.foreach, env))
            yield from walk(project, getattr(step, BRANCH_ATTRS[branch]), inner, path + (branch,))
            if isinstance(step, IfStep):  # a branch's variables outlive it (the engine shares the scope)
                for var, static in inner.items():
                    if env.get(var) is not static:
                        env[var] = merge(env.get(var), static)
        env.update(defined_types(step, env, project))


class Validator:
    """The editors' entry point: validate one connection, one step or one configurable's value
    as the user types, with `check`'s verdict and words. Build once per project state (cheap);
    each call costs well under a millisecond on a large project.

        v = Validator(store.project, store.resolve_config())
        v.connection("scimClient", {"serviceUrl": "htp:/x"})  # -> [FieldProblem(("serviceUrl",), ...)]
        v.step("provisionUser", "0", {"call": "scimClient.createUser", "args": {...}})
        v.configurable("scimServiceUrl", "htp:/x")            # every field it is bound to
    """

    def __init__(self, project: Any, resolved: Any) -> None:
        self.project = project
        self.resolved = resolved
        self.config = config_env(resolved)
        self._uses: dict[str, list[tuple]] | None = None

    def env(self) -> dict[str, Static]:
        return {"config": self.config}

    def connection(self, name: str, fields: Mapping[str, Any] | None = None, connector: str | None = None,
                   env: Env | None = None) -> list[FieldProblem]:
        """Problems of a connection's fields (the saved ones, or `fields` as being edited), with
        paths relative to the connection's table. An unknown connector gives none."""
        from workbench.connectors import catalogue

        decl = self.project.connections.get(name)
        connector = connector or (decl.connector if decl is not None else None)
        if fields is None:
            fields = decl.fields if decl is not None else {}
        try:
            spec = catalogue.get(connector) if connector else None
        except KeyError:
            spec = None
        if spec is None:
            return []
        return connection_problems(spec, {k: v for k, v in fields.items() if k != "connector"},
                                   env or self.env(), name=name)

    def scope_at(self, entry: str, address: Any) -> dict[str, Static]:
        """The variables a step at `address` (a StepAddress or its text) sees."""
        from workbench.project.address import StepAddress

        address = StepAddress.parse(address)
        ep = self.project.entrypoints.get(entry)
        env = self.env()
        if address.root == "onError":
            env["error"] = ERROR_TYPE
        if ep is None:
            return env
        target = ("entrypoints", entry, *address.key_path)
        steps = ep.steps if address.root == "steps" else ep.onError
        last = env
        for path, _step, seen in walk(self.project, steps, env, ("entrypoints", entry, address.root)):
            if path == target:
                return dict(seen)
            if len(path) == len(target) and path[:-1] == target[:-1] and path[-1] > target[-1]:
                break
            if path[: len(target) - 1] == target[:-1]:
                last = dict(seen)
        return last

    def step(self, entry: str, address: Any, step: Any = None) -> list[FieldProblem]:
        """Problems of a step's fields (the saved step, or `step` as being edited: a dict as in
        TOML or a step model), with paths relative to the step's table: ("args", "payload",
        "userName"), ("concurrency",)."""
        from workbench.project.address import StepAddress
        from workbench.project.model import CallStep, ForeachStep

        address = StepAddress.parse(address)
        if step is None:
            step = self._saved_step(entry, address)
        if isinstance(step, Mapping):
            step = _step_model(step)
        if step is None:
            return []
        env = self.scope_at(entry, address)
        base = ("entrypoints", entry, *address.key_path)
        if isinstance(step, CallStep):
            return self._call(step, env, base)
        if isinstance(step, ForeachStep):
            return foreach_problems(step.concurrency, env, base=base)
        return []

    def _call(self, step: Any, env: Env, base: tuple) -> list[FieldProblem]:
        from workbench.connectors import catalogue

        decl = self.project.connections.get(step.connection)
        if decl is None:
            return []
        try:
            spec = catalogue.get(decl.connector)
        except KeyError:
            return []
        if step.operation not in spec.operations:
            return []
        return args_problems(spec, step.operation, step.args, env, call=step.call, base=base)

    def _saved_step(self, entry: str, address: Any) -> Any:
        from workbench.project.model import BRANCH_ATTRS

        ep = self.project.entrypoints.get(entry)
        if ep is None:
            return None
        steps = ep.steps if address.root == "steps" else ep.onError
        step = None
        for depth, index in enumerate(address.indexes):
            if depth:
                steps = getattr(step, BRANCH_ATTRS[address.branches[depth - 1]], [])
            if not 0 <= index < len(steps):
                return None
            step = steps[index]
        return step

    def configurable(self, name: str, value: Any, *, from_text: bool = False) -> list[FieldProblem]:
        """Problems of a value for configurable `name` (being typed in the Configurations pane):
        its declared type, "" for a required one, then every field it is bound to, with the
        field's key path (`key_path`) and `binding` = name."""
        from workbench.project.config import CoercionError, coerce

        decl = self.project.configurables.get(name)
        base = ("configurables", name)
        if decl is None:
            return []
        try:
            value = coerce(decl.type, value, from_text=from_text, secret=decl.secret)
        except CoercionError as exc:
            return [FieldProblem((), "type-mismatch", f"{name}: {exc}", name, base=base)]
        if decl.required and value == "":
            return [FieldProblem((), "missing-value", f"required configurable {name} has no value", name, base=base)]
        config = Type("object", fields={**(self.config.fields or {}), name: Known(value)})
        env: dict[str, Static] = {"config": config}
        out: list[FieldProblem] = []
        for use in self.uses().get(name, ()):
            if use[0] == "connection":
                problems = self.connection(use[1], env=env)
            else:
                _, entry, address = use
                validator = Validator.__new__(Validator)
                validator.project, validator.resolved, validator.config, validator._uses = self.project, self.resolved, config, self._uses
                problems = validator.step(entry, address)
            out.extend(p for p in problems if p.binding == name or name in p.message)
        return out

    def uses(self) -> dict[str, list[tuple]]:
        """Where each configurable is read: ("connection", name) and ("step", entry, address)."""
        if self._uses is None:
            from workbench.project.address import StepAddress
            from workbench.project.expressions import iter_templates
            from workbench.project.model import CallStep, ForeachStep, walk_steps

            uses: dict[str, list[tuple]] = {}

            def note(value: Any, use: tuple) -> None:
                for _, text in iter_templates(value):
                    for config in _config_names(text)[1]:
                        bucket = uses.setdefault(config, [])
                        if use not in bucket:
                            bucket.append(use)

            for cname, decl in self.project.connections.items():
                note(decl.fields, ("connection", cname))
            for ename, ep in self.project.entrypoints.items():
                for root, steps in (("steps", ep.steps), ("onError", ep.onError)):
                    for path, step in walk_steps(steps):
                        address = StepAddress.parse(path if root == "steps" else f"onError.{path}")
                        if isinstance(step, CallStep):
                            note(step.args, ("step", ename, address))
                        elif isinstance(step, ForeachStep):
                            note(step.concurrency, ("step", ename, address))
            self._uses = uses
        return self._uses


def _step_model(data: Mapping[str, Any]) -> Any:
    from pydantic import TypeAdapter

    from workbench.project.model import Step

    try:
        return _step_adapter(TypeAdapter, Step).validate_python(dict(data))
    except ValidationError:
        return None


_ADAPTERS: dict = {}


def _step_adapter(adapter_cls: Any, step_type: Any) -> Any:
    if "step" not in _ADAPTERS:
        _ADAPTERS["step"] = adapter_cls(step_type)
    return _ADAPTERS["step"]
