"""What is known of a value without running it, and the static evaluation of expressions.

`Type` is a value's kind (and, for containers, what they hold); `Known` a value known
statically (it reads only configurables that have a value). `static_expr` / `static_template` /
`static_value` give what an expression, a string value or a step's value holds in an `Env`
(root name -> Static). The validation (`workbench.project.validation`) substitutes these for
expressions before pydantic validates; `check` and the editors (`workbench.project.validator`)
build the envs a step sees.

Headless: never imports textual.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from workbench.connectors.messages import MISSING
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

# -- static types --------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Type:
    """What is known of a value without running: its kind, and for containers what they hold."""

    kind: str  # string | int | float | boolean | list | object | any
    item: Static | None = None  # list: every item
    values: Static | None = None  # object: every value (a record)
    fields: Mapping[str, Static] | None = None  # object: known keys
    name: str | None = None  # a connector type it is (a data mapper's output: "scim.User")

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


class Scope(dict):
    """The known part of an env, built on first use, for evaluating fully known expressions."""

    def __init__(self, env: Env) -> None:
        super().__init__()
        self.env = env
        self.built = False

    def ready(self) -> Scope:
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


def static_expr(expr: Any, env: Env, scope: Scope) -> Static:
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
    static = getattr(expr, "static", None)  # a data mapper's call (mapper_calls.py)
    if static is not None:
        return static(env, scope)
    return ANY


def _evaluate(expr: Any, scope: Scope) -> Static:
    try:
        return Known(expr.evaluate(scope.ready()))
    except (ExpressionError, TypeError, ValueError):
        return ANY


def static_template(text: str, env: Env, scope: Scope | None = None) -> Static:
    """What a string value gives: a literal, one `${...}` (its value's type), or interpolated text."""
    scope = scope if scope is not None else Scope(env)
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


@lru_cache(maxsize=8192)
def config_names(text: str) -> tuple[str | None, tuple[str, ...]]:
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
