"""A plain-Python first pass over a SCIM payload, from rules generated from scim2-models
(`schema_data.py`), so a valid payload is accepted without importing scim2-models (~0.2 s of a
cold start), at a fifth of its cost per payload.

`model_accepts` answers True only for a payload scim2-models accepts in a creation or
replacement request: known attribute names (case-insensitive) with values of the plain types
(strings, booleans, email addresses of a common form, complex and multi-valued attributes of
those; in `check`, a string or table known only at run time), the required attributes present,
at most one primary per multi-valued attribute. Anything else (an error, a reference URI, a
date, an unusual address) gets False: scim2-models then decides, and names the field. The rules
never refuse a payload on their own. patch_rules.py applies them to the values PATCH operations
write (`attribute_accepts`, `model_accepts(partial=True)`).
"""

from __future__ import annotations

import re
from typing import Any

from workbench.connectors.base import RuntimeObject, RuntimeString
from workbench.connectors.scim.schema_data import RULES

_MODELS: dict[str, dict[str, Any]] = RULES["models"]
KNOWN_KEYS: dict[str, dict[str, str]] = RULES["known_keys"]
# A subset of what email_validator accepts (no quoting, no IP literal, an ASCII domain of two
# labels or more whose top-level label is letters); other forms are left to it.
_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LABEL = re.compile(r"[A-Za-z]{2,63}")
# email_validator refuses these names and their subdomains (its SPECIAL_USE_DOMAIN_NAMES).
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def _email(value: Any) -> bool:
    if type(value) is not str or len(value) > 254:
        return False
    local, at, domain = value.partition("@")
    if not at or len(local) > 64 or not _LOCAL.fullmatch(local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or "--" in domain or labels[-1].lower() in _SPECIAL_USE:
        return False
    return bool(_TOP_LABEL.fullmatch(labels[-1])) and all(_LABEL.fullmatch(label) for label in labels[:-1])


def _value(kind: str, sub: str | None, value: Any, types: bool) -> bool:
    if not types:  # the types are checked already: only a complex value has rules below it
        return kind != "complex" or (type(value) is dict and model_accepts(sub, value, types=False))
    if kind == "string":
        return type(value) is str or type(value) is RuntimeString
    if kind == "boolean":
        return type(value) is bool
    if kind == "complex":  # in `check`, a table known only at run time is any table
        return (type(value) is dict and model_accepts(sub, value)) or type(value) is RuntimeObject
    if kind == "email":  # in `check`, an address known only at run time is any string
        return _email(value) or type(value) is RuntimeString
    return False


def _primaries(items: list[dict[str, Any]]) -> int:
    """How many items are marked primary; 2 (unsure) when one is marked with another value than a
    boolean (pydantic would read "true" as True)."""
    count = 0
    for item in items:
        for key, flag in item.items():
            if flag is not None and key.lower() == "primary":
                if type(flag) is not bool:
                    return 2
                count += flag
    return count


def attribute_accepts(rule: tuple, value: Any, *, types: bool = True) -> bool:
    """True when scim2-models surely accepts `value` (None: unassigned) for the attribute whose
    rule (`RULES`) is `rule`; False when unsure."""
    if value is None:
        return True
    _, kind, multi, sub, primary = rule
    if not multi:
        return _value(kind, sub, value, types)
    if type(value) is not list or not all(_value(kind, sub, item, types) for item in value):
        return False
    return not (primary and _primaries(value) > 1)


def model_accepts(model: str, payload: dict[str, Any], *, types: bool = True, partial: bool = False) -> bool:
    """True when scim2-models surely accepts `payload` as the model (`User`, `Group`, `EnterpriseUser`
    or one of their complex attributes, such as `Name`) in a creation request; False when unsure.
    `types=False`: the request's own checks only (required attributes, one primary), for a
    payload whose values scim2-models has validated. `partial=True`: the attributes a PATCH value
    writes (patch_rules.py), where a required attribute may be left out but not unassigned."""
    rules = _MODELS[model]
    attributes = rules["attributes"]
    given: dict[str, Any] = {}
    for key, value in payload.items():
        rule = attributes.get(key.lower()) if type(key) is str else None
        if rule is None or rule[0] in given:  # unknown, or given twice in two spellings
            return False
        given[rule[0]] = value
        if not attribute_accepts(rule, value, types=types):
            return False
    if partial:
        return all(given.get(name, "") is not None for name in rules["required"])
    return all(given.get(name) not in (None, []) for name in rules["required"])
