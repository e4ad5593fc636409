"""What the operators and functions of the expression language mean: reading a key of any kind of
container, equality, ordering and ``in``, the built-in functions, and the type names and key
formats the error messages use."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from workbench.project.expressions.tokenizer import _IDENT, _IDENT_START


class _NullRead(Exception):
    pass


class _BadRead(Exception):
    pass


class _TypeMismatch(Exception):
    pass


def _lookup(obj: Any, key: int | str) -> Any:
    """``obj[key]``: KeyError/IndexError when missing, _NullRead/_BadRead when ``obj`` can't have it."""
    if isinstance(obj, Mapping):
        return obj[key]
    if isinstance(obj, (list, tuple, str)):
        if type(key) is int:
            return obj[key]
        raise _BadRead
    if obj is None:
        raise _NullRead
    if isinstance(key, str) and not key.startswith("_"):
        cls = type(obj)
        fields = getattr(cls, "__pydantic_fields__", None)
        if fields is not None:  # a pydantic model
            if key in fields or key in (getattr(cls, "__pydantic_computed_fields__", None) or ()):
                return getattr(obj, key)
            extra = getattr(obj, "__pydantic_extra__", None)
            if extra and key in extra:
                return extra[key]
            raise KeyError(key)
        fields = getattr(cls, "__dataclass_fields__", None)
        if fields is not None:
            if key in fields:
                return getattr(obj, key)
            raise KeyError(key)
    raise _BadRead


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(a: Any, b: Any, op: str = "==") -> bool:
    if isinstance(a, bool) or isinstance(b, bool):  # true is not 1
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _order(a: Any, b: Any, op: str) -> bool:
    if not ((_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        raise _TypeMismatch(f"cannot compare {_type_name(a)} and {_type_name(b)} with '{op}'")
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _contains(a: Any, b: Any, op: str = "in") -> bool:
    if isinstance(b, str):
        if not isinstance(a, str):
            raise _TypeMismatch(f"'{op}' a string needs a string on the left, not {_type_name(a)}")
        return a in b
    if isinstance(b, (list, tuple)):
        return any(_equal(a, item) for item in b)
    if isinstance(b, Mapping):
        try:
            return a in b
        except TypeError:
            raise _TypeMismatch(f"'{op}' an object needs a key on the left, not {_type_name(a)}") from None
    raise _TypeMismatch(f"'{op}' needs a string, list or object on the right, not {_type_name(b)}")


_COMPARE = {
    "==": _equal,
    "!=": lambda a, b, op: not _equal(a, b),
    "<": _order, "<=": _order, ">": _order, ">=": _order,
    "in": _contains,
    "not in": lambda a, b, op: not _contains(a, b, op),
}


def _len(value: Any) -> int:
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    raise _TypeMismatch(f"expects a string, list or object, not {_type_name(value)}")


def _string_fn(method: str):
    def fn(value: Any) -> str:
        if not isinstance(value, str):
            raise _TypeMismatch(f"expects a string, not {_type_name(value)}")
        return getattr(str, method)(value)
    return fn


_FUNCTIONS = {"len": _len, "lower": _string_fn("lower"), "upper": _string_fn("upper"), "trim": _string_fn("strip")}
_ARITY = {"len": 1, "lower": 1, "upper": 1, "trim": 1, "default": 2}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _a(noun: str) -> str:
    return ("an " if noun[:1] in ("a", "e", "i", "o", "u") else "a ") + noun


def _format_key(key: int | str) -> str:
    """``.name`` for identifier keys, ``[0]`` and ``["other key"]`` otherwise."""
    if isinstance(key, int):
        return f"[{key}]"
    if _is_identifier(key):
        return "." + key
    return "[" + json.dumps(key, ensure_ascii=False) + "]"


def _is_identifier(text: str) -> bool:
    return bool(text) and text[0] in _IDENT_START and all(c in _IDENT for c in text)
