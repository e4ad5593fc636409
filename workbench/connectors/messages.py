"""pydantic's validation errors in the project's own words: "must be a list, not a string",
"is required", "must be an http(s) URL". No "Value error," prefix, no documentation URLs, no
`type=` suffixes, and never the value itself (it may be a secret): only its kind.

`phrase(err)` is what the field needs, to follow its name; `is_requirement` says whether the
phrase reads as one ("serviceUrl must be ...", "scimServiceUrl is used as x.serviceUrl, which
must be ...") or is a sentence of its own (a validator's message: "serviceUrl: <message>").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MISSING: Any = object()

# Errors that say the value has the wrong type (as opposed to a wrong value of the right type).
TYPE_ERRORS = frozenset({
    "string_type", "int_type", "float_type", "bool_type", "list_type", "dict_type", "model_type",
    "model_attributes_type", "tuple_type", "set_type", "frozen_set_type", "bytes_type", "none_required",
    "int_parsing", "int_from_float", "float_parsing", "bool_parsing", "is_instance_of", "dataclass_type",
})

_NEEDS = {
    "string_type": "must be a string",
    "int_type": "must be an int",
    "int_parsing": "must be an int",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "frozen_set_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dataclass_type": "must be a table",
    "none_required": "must be empty (null)",
    "missing": "is required",
    "required_error": "is required",
    "extra_forbidden": "is not a known field",
}

_PREFIXES = ("Value error, ", "Assertion failed, ")


def kind(value: Any) -> str:
    """The kind of a value, with its article: "a string", "a table". Never the value."""
    if value is MISSING:
        return ""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an int"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value else "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "a list"
    return "a value"


def _plural(n: Any, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def phrase(err: Mapping[str, Any]) -> tuple[str, bool]:
    """(what the field needs, whether that reads as a requirement after the field's name)."""
    type_ = err.get("type", "")
    ctx = err.get("ctx") or {}
    if type_ in _NEEDS:
        return _NEEDS[type_], True
    if type_ == "literal_error":
        return f"must be {ctx.get('expected', 'one of the choices')}", True
    if type_ == "greater_than":
        return f"must be greater than {ctx.get('gt')}", True
    if type_ == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}", True
    if type_ == "less_than":
        return f"must be less than {ctx.get('lt')}", True
    if type_ == "less_than_equal":
        return f"must be at most {ctx.get('le')}", True
    if type_ == "string_too_short":
        n = ctx.get("min_length", 1)
        return ("must not be empty", True) if n == 1 else (f"must have at least {_plural(n, 'character')}", True)
    if type_ == "string_too_long":
        return f"must have at most {_plural(ctx.get('max_length'), 'character')}", True
    if type_ == "too_short":
        return f"must have at least {_plural(ctx.get('min_length'), 'item')}", True
    if type_ == "too_long":
        return f"must have at most {_plural(ctx.get('max_length'), 'item')}", True
    if type_ == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}", True
    if type_ == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags', '')}", True
    if type_ == "union_tag_not_found":
        return "is required", True
    if type_ in ("value_error", "assertion_error"):
        text = str(ctx.get("error", "")) or _strip(str(err.get("msg", "")))
        return text, text.startswith(("must ", "is ", "needs ", "has "))
    return _strip(str(err.get("msg", "invalid"))), False


def _strip(message: str) -> str:
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def describe(err: Mapping[str, Any], value: Any = MISSING) -> tuple[str, bool]:
    """`phrase`, with the kind of the wrong value for a type error: "must be a list, not a string"."""
    text, requirement = phrase(err)
    if err.get("type") in TYPE_ERRORS and value is not MISSING and (got := kind(value)):
        text += f", not {got}"
    return text, requirement


def sentence(where: str, err: Mapping[str, Any], value: Any = MISSING) -> str:
    """"serviceUrl must be an http(s) URL", "emails[0].value: value is not a valid email address"."""
    text, requirement = describe(err, value)
    if not where:
        return text
    return f"{where} {text}" if requirement else f"{where}: {text}"
