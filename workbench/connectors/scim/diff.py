"""What differs between a desired SCIM resource and the one the server has: a minimal PatchOp.

Only the attributes the desired resource mentions are compared; the others are left alone. A
`null` clears an attribute only with `clear_missing`. Complex attributes (`name`, an extension)
are compared sub-attribute by sub-attribute. Multi-valued attributes (`emails`, `phoneNumbers`)
are compared as sets of items matched by `type` and `value`, and replaced whole when they differ;
a Group's `members` are added and removed one by one. Write-only attributes (`password`) cannot
be compared, so an existing resource's are never sent.
"""

from __future__ import annotations

from typing import Any

SKIP = frozenset({"schemas", "id", "meta", "password"})  # lowercased
CASE_INSENSITIVE = frozenset({"username"})  # RFC 7643: userName is caseExact false


def _lowered(resource: dict[str, Any]) -> dict[str, Any]:
    return {key.lower(): value for key, value in resource.items()}


def value_at(resource: dict[str, Any], path: str) -> Any:
    """The value at an attribute path: `externalId`, `name.givenName`, or an extension's
    `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber` (names are
    case-insensitive)."""
    if path.lower().startswith("urn:") and ":" in path:
        urn, _, attribute = path.rpartition(":")
        node: Any = _lowered(resource).get(urn.lower())
        parts = attribute.split(".")
    else:
        node, parts = resource, path.split(".")
    for part in parts:
        if not isinstance(node, dict):
            return None
        node = _lowered(node).get(part.lower())
    return node


def same_value(path: str, a: Any, b: Any) -> bool:
    return _scalar_equal(path.rsplit(".", 1)[-1], a, b)


def _scalar_equal(name: str, desired: Any, current: Any) -> bool:
    if isinstance(desired, str) and isinstance(current, str) and name.lower() in CASE_INSENSITIVE:
        return desired.lower() == current.lower()
    if isinstance(desired, bool) or isinstance(current, bool):
        return desired is current
    return desired == current


def _item_matches(desired: Any, current: Any) -> bool:
    """A desired item of a multi-valued attribute matches a current one when every sub-attribute
    it mentions is equal (the server may add `display`, `$ref`...)."""
    if not isinstance(desired, dict):
        return desired == current
    if not isinstance(current, dict):
        return False
    lowered = _lowered(current)
    return all(_scalar_equal(k, v, lowered.get(k.lower())) or (v is None and lowered.get(k.lower()) is None)
               for k, v in desired.items())


def _items_equal(desired: list[Any], current: list[Any]) -> bool:
    if len(desired) != len(current):
        return False
    left = list(current)
    for item in desired:
        match = next((i for i, other in enumerate(left) if _item_matches(item, other)), None)
        if match is None:
            return False
        left.pop(match)
    return True


def _member_ids(members: Any) -> list[str]:
    return [str(m.get("value")) for m in members or () if isinstance(m, dict) and m.get("value") is not None]


def diff(desired: dict[str, Any], current: dict[str, Any], *, clear_missing: bool = False,
         skip: frozenset[str] = frozenset()) -> tuple[list[dict[str, Any]], list[str]]:
    """(PatchOp operations, changed attribute paths) that turn `current` into `desired` for the
    attributes `desired` mentions. Both empty when they are equal."""
    ops: list[dict[str, Any]] = []
    changed: list[str] = []
    have = _lowered(current)
    for key, value in desired.items():
        lowered = key.lower()
        if lowered in SKIP or lowered in skip:
            continue
        now = have.get(lowered)
        if value is None:
            if clear_missing and now not in (None, [], {}):
                ops.append({"op": "remove", "path": key})
                changed.append(key)
            continue
        if lowered == "members" and isinstance(value, list):
            wanted, present = _member_ids(value), _member_ids(now)
            added = [m for m in value if isinstance(m, dict) and str(m.get("value")) not in present]
            removed = [m for m in present if m not in wanted]
            if added:
                ops.append({"op": "add", "path": "members", "value": added})
            ops.extend({"op": "remove", "path": f'members[value eq "{m}"]'} for m in removed)
            if added or removed:
                changed.append("members")
            continue
        if isinstance(value, dict):
            inner = now if isinstance(now, dict) else {}
            sep = ":" if lowered.startswith("urn:") else "."
            sub_ops, sub_changed = diff(value, inner, clear_missing=clear_missing)
            for op in sub_ops:
                op["path"] = f"{key}{sep}{op['path']}"
            ops.extend(sub_ops)
            changed.extend(f"{key}{sep}{path}" for path in sub_changed)
            continue
        if isinstance(value, list):
            if not _items_equal(value, now if isinstance(now, list) else []):
                ops.append({"op": "replace", "path": key, "value": value})
                changed.append(key)
            continue
        if not _scalar_equal(key, value, now):
            ops.append({"op": "replace", "path": key, "value": value})
            changed.append(key)
    return ops, changed


def merged(desired: dict[str, Any], current: dict[str, Any], *, clear_missing: bool = False) -> dict[str, Any]:
    """`current` with the attributes `desired` mentions taken from it: the body of a PUT, for a
    server without PATCH. Read-only attributes (`meta`) are left out."""
    out = {key: value for key, value in current.items() if key.lower() != "meta"}
    index = {key.lower(): key for key in out}
    for key, value in desired.items():
        existing = index.get(key.lower(), key)
        if value is None:
            if clear_missing:
                out.pop(existing, None)
            continue
        if isinstance(value, dict) and isinstance(out.get(existing), dict) and key.lower() != "members":
            value = merged(value, out[existing], clear_missing=clear_missing)
        out[existing] = value
        index[key.lower()] = existing
    return out
