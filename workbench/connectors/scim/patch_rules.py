"""A plain-Python first pass over SCIM PATCH operations, from the rules generated from scim2-models
(`schema_data.py`, as request_rules.py), so the common operations are checked without importing
scim2-models and its path grammar (~0.3 s of a cold start), at a small part of its cost per call.

`plain_operations` answers the operations as scim2-models' `PatchOp[User[EnterpriseUser]]` /
`PatchOp[Group]` dumps them in a PATCH request (`op` lowercased, the keys in the order op, path,
value, a remove's null value left out), and only when scim2-models accepts every one of them:

- `op` add, remove or replace, in any case; no other key than `op`, `path` and `value`, spelled so;
- `path` an attribute or a sub-attribute (case-insensitive) of the resource or of its enterprise
  extension, optionally qualified with its schema URN (`active`, `name.givenName`, `emails.value`,
  `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`), neither read-only nor
  `schemas`; or the extension's URN, with an object value; or no path, with an object value;
- remove: a path, no value, not a required attribute (`userName`, `displayName`);
- add and replace: a value of the attribute's plain type, as request_rules.py checks a payload's
  (an object: its keys attribute names); replace may unassign (null) an attribute not required.

Anything else (a filter in brackets, a value of another type, an unknown attribute, a key spelled
otherwise) gets None: scim2-models then decides, and its errors name the operation. The rules
never refuse operations on their own.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.connectors.scim.request_rules import attribute_accepts, model_accepts
from workbench.connectors.scim.schema_data import RULES

_MODELS: dict[str, dict[str, Any]] = RULES["models"]
_PATH_SCHEMAS: dict[str, dict[str, str]] = RULES["path_schemas"]  # lowercased URN -> model
_READ_ONLY = {name: frozenset(n.lower() for n in rules["read_only"]) for name, rules in _MODELS.items()}
# The ATTRNAME of RFC 7644's path grammar, without the `$` of `$ref` (left to scim2-models).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_OPS = frozenset({"add", "remove", "replace"})
_KEYS = frozenset({"op", "path", "value"})


def _attribute(model: str, name: str) -> tuple | None:
    """The rule of the attribute `name` of `model` a PATCH path may name; None when unsure."""
    if not _NAME.fullmatch(name):
        return None
    lowered = name.lower()
    rule = _MODELS[model]["attributes"].get(lowered)
    if rule is None or lowered == "schemas" or lowered in _READ_ONLY[model]:
        return None
    return rule


def _target(kind: str, path: str) -> tuple[str, tuple | None, tuple | None] | None:
    """(model, attribute rule, sub-attribute rule) of what `path` names, (extension, None, None)
    for an extension's URN; None when unsure."""
    schemas = _PATH_SCHEMAS[kind]
    model = kind
    if path[:4].lower() == "urn:":
        extension = schemas.get(path.lower())
        if extension is not None:
            return (extension, None, None) if extension != kind else None  # the resource: left to it
        uri, _, path = path.rpartition(":")
        model = schemas.get(uri.lower())
        if model is None:
            return None
    name, dot, sub = path.partition(".")
    rule = _attribute(model, name)
    if rule is None or not dot:
        return None if rule is None else (model, rule, None)
    sub_rule = _attribute(rule[3], sub) if rule[1] == "complex" else None
    return None if sub_rule is None else (model, rule, sub_rule)


def _names(kind: str, value: dict[str, Any]) -> bool:
    """Whether the keys scim2-models reads as paths (those of the objects in an object, not in a
    list) are attribute names (or an extension's URN) of the path grammar."""
    for key, item in value.items():
        if type(key) is not str or not (_NAME.fullmatch(key) or key.lower() in _PATH_SCHEMAS[kind]):
            return False
        if type(item) is dict and not _names(kind, item):
            return False
    return True


def _operation(kind: str, operation: Any) -> dict[str, Any] | None:
    """The operation as scim2-models dumps it, when it surely accepts it; None when unsure."""
    if type(operation) is not dict or not operation.keys() <= _KEYS:
        return None
    op, path, value = operation.get("op"), operation.get("path"), operation.get("value")
    if type(op) is not str or (op := op.lower()) not in _OPS:
        return None
    if path is None:  # the resource itself, written an object (a remove needs a path)
        target = None if op == "remove" else (kind, None, None)
    else:
        target = _target(kind, path) if type(path) is str and path.isascii() else None
    if target is None:
        return None
    model, rule, sub_rule = target
    required = rule is not None and sub_rule is None and rule[0] in _MODELS[model]["required"]
    if op == "remove":
        return None if value is not None or required else {"op": op, "path": path}
    if value is None:  # add needs a value; replace unassigns, but not a required attribute
        if op == "add" or "value" not in operation or rule is None or required:
            return None
    elif rule is None:  # the resource or an extension: an object of its attributes
        if type(value) is not dict or not model_accepts(model, value, partial=True):
            return None
    elif not attribute_accepts(sub_rule or rule, value):
        return None
    if type(value) is dict and not _names(kind, value):
        return None
    return {"op": op, "value": value} if path is None else {"op": op, "path": path, "value": value}


def plain_operations(kind: str, operations: list[Any]) -> list[dict[str, Any]] | None:
    """The operations of a `kind` ("User", "Group") PATCH as scim2-models dumps them, when it
    surely accepts them all; None when unsure of any (or given none, which it refuses)."""
    if not operations:
        return None
    out = []
    for operation in operations:
        dumped = _operation(kind, operation)
        if dumped is None:
            return None
        out.append(dumped)
    return out
