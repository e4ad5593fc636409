"""Turn a connector's pydantic schema into form field descriptions, and field text into values.

No textual here: the form widgets (widgets/schema_form.py) are built from these descriptions.
Every field accepts an `${...}` expression instead of a literal; expressions are kept as text.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from workbench.connectors.introspect import MISSING, FieldSpec, Variant, fields_of

__all__ = ["MISSING", "FieldSpec", "Variant", "fields_of"]  # the form descriptions, from the connectors' schemas

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def placeholder(spec: FieldSpec) -> str:
    """What an empty input shows: "required", or the default."""
    if spec.default is MISSING or spec.default in (None, [], {}):
        return "required" if spec.required else ""
    return f"default: {to_text(spec, spec.default)}"


def is_expression(text: str) -> bool:
    return "${" in text


def bound_configurable(value: Any) -> str | None:
    """`${config.name}` -> "name"."""
    if isinstance(value, str):
        m = re.fullmatch(r"\$\{\s*config\.([A-Za-z_][A-Za-z0-9_]*)\s*\}", value.strip())
        if m:
            return m.group(1)
    return None


def to_text(spec: FieldSpec, value: Any) -> str:
    if value is None or value is MISSING:
        return ""
    if isinstance(value, str):
        if spec.kind == "any" and not is_expression(value) and _literal_or_none(value) is not None:
            return json.dumps(value)  # would read back as another type: quote it
        return value
    if spec.kind == "list" and isinstance(value, list) and all(isinstance(v, str) and "," not in v for v in value):
        return ", ".join(value)
    return toml_inline(value)


def parse_text(spec: FieldSpec, text: str) -> Any:
    """The value of a field's text; None when empty. Raises ValueError with a short reason."""
    if not text.strip():
        return None
    kind, stripped = spec.kind, text.strip()
    if kind in ("any", "list", "mapping") and stripped[:1] in ("[", "{", '"', "'"):
        try:
            value = parse_literal(stripped)  # an array or table may hold ${...} strings
        except ValueError:
            if not is_expression(text):
                raise
        else:
            if kind == "list" and not isinstance(value, list):
                raise ValueError("expected a list")
            if kind == "mapping" and not isinstance(value, dict):
                raise ValueError('expected a table, e.g. { key = "value" }')
            return value
    if is_expression(text):
        return text
    if kind == "text":
        return text
    if kind == "choice":
        if stripped not in spec.choices:
            raise ValueError("choose one of " + ", ".join(spec.choices))
        return stripped
    if kind == "integer":
        try:
            return int(stripped)
        except ValueError:
            raise ValueError("expected a whole number") from None
    if kind == "number":
        try:
            return int(stripped)
        except ValueError:
            try:
                return float(stripped)
            except ValueError:
                raise ValueError("expected a number") from None
    if kind == "boolean":
        lowered = stripped.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ValueError("expected true or false")
    if kind == "list":
        if stripped.startswith("["):
            value = parse_literal(stripped)
            if not isinstance(value, list):
                raise ValueError("expected a list")
            return value
        item = FieldSpec(spec.key, spec.item_kind if spec.item_kind != "any" else "text")
        return [parse_text(item, part.strip()) for part in stripped.split(",") if part.strip()]
    if kind == "mapping":
        value = parse_literal(stripped)
        if not isinstance(value, dict):
            raise ValueError('expected a table, e.g. { key = "value" }')
        return value
    literal = _literal_or_none(stripped)
    return text if literal is None else literal


def parse_literal(text: str) -> Any:
    """A TOML or JSON literal (inline table, array, string, number, boolean)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not a TOML or JSON value ({_short(exc)})") from None


def _literal_or_none(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return None


def _short(exc: Exception) -> str:
    return re.sub(r"\s*\(at line \d+, column \d+\)$", "", str(exc))


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def toml_inline(value: Any) -> str:
    """A value as inline TOML: `{ a = 1, b = ["x"] }`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(str(k))} = {toml_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_inline(v) for v in value) + "]"
    if value is None:
        return '""'
    return json.dumps(str(value))


def toml_document(table: dict[str, Any]) -> str:
    """A table as a TOML document: values first, then one [section] per nested table. Arrays stay
    inline, so the text reads like the payload and not like arrays of tables."""
    text = "\n".join(_document_lines(table, "")).strip("\n")
    return text + "\n" if text else ""


def _document_lines(table: dict[str, Any], prefix: str) -> list[str]:
    lines = [f"{toml_key(str(k))} = {toml_inline(v)}" for k, v in table.items()
             if not (isinstance(v, dict) and v)]
    for key, value in table.items():
        if isinstance(value, dict) and value:
            path = prefix + toml_key(str(key))
            if any(not isinstance(v, dict) or not v for v in value.values()):
                lines += ["", f"[{path}]"]
            lines += _document_lines(value, path + ".")
    return lines


def value_text(value: Any) -> str:
    """A payload value as the text of a key/value row."""
    return to_text(FieldSpec("", "any"), value)


def parse_value(text: str) -> Any:
    return parse_text(FieldSpec("", "any"), text)


# -- key paths for the payload's field rows -------------------------------------------------------
def flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """{"name": {"givenName": "Kim"}} -> [("name.givenName", "Kim")]; lists stay values."""
    out: list[tuple[str, Any]] = []
    for key, value in table.items():
        path = prefix + toml_key(str(key))
        if isinstance(value, dict) and value:
            out.extend(flatten(value, path + "."))
        else:
            out.append((path, value))
    return out


_PATH_PART = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_-]+))\s*(?:\.|$)')


def split_key(path: str) -> list[str]:
    parts, pos = [], 0
    path = path.strip()
    while pos < len(path):
        m = _PATH_PART.match(path, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad key {path!r} (use letters, digits, _ and - , dots for nesting)")
        parts.append(json.loads(f'"{m.group(1)}"') if m.group(1) is not None else m.group(2))
        pos = m.end()
    if not parts:
        raise ValueError("empty key")
    return parts


def unflatten(rows: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in rows:
        parts = split_key(path)
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"{path}: {part} is already a value")
            node = child
        if parts[-1] in node:
            raise ValueError(f"{path} is given twice")
        node[parts[-1]] = value
    return out
