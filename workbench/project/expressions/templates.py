"""String values: :class:`Template` (literal text and ``${...}`` expressions), how a value is
written as text, :func:`parse_template`, and the walks over nested values (:func:`render`,
:func:`iter_templates`, :func:`references`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, is_dataclass
from functools import lru_cache
from typing import Any

from workbench.project.expressions.errors import EvaluationError
from workbench.project.expressions.nodes import Expr, Reference
from workbench.project.expressions.parser import _plain_str, _scan
from workbench.project.expressions.semantics import _type_name


class Template:
    """A string value: literal text and ``${...}`` expressions. ``single`` is the expression when
    the whole string is exactly one ``${...}``; ``is_literal`` when there is none."""

    __slots__ = ("source", "parts", "single", "is_literal", "_text")

    def __init__(self, source: str, parts: tuple[str | Expr, ...]) -> None:
        self.source = source
        self.parts = parts
        self.single = parts[0] if len(parts) == 1 and isinstance(parts[0], Expr) else None
        self.is_literal = all(isinstance(p, str) for p in parts)
        self._text = "".join(parts) if self.is_literal else None  # type: ignore[arg-type]

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        single = self.single
        if single is not None:
            return single.evaluate(scope)
        if self._text is not None:
            return self._text
        return "".join(p if type(p) is str else _to_text(p.evaluate(scope)) for p in self.parts)

    def references(self) -> Iterator[Reference]:
        for part in self.parts:
            if isinstance(part, Expr):
                yield from part.references()

    def __repr__(self) -> str:
        return f"Template({self.source!r})"


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (Mapping, list, tuple)) or _is_model(value):
        try:
            return json.dumps(value, ensure_ascii=False, default=_json_default)
        except (TypeError, ValueError) as exc:  # e.g. a circular structure
            raise EvaluationError(f"cannot write {_type_name(value)} as text: {exc}") from None
    return str(value)


def _is_model(value: Any) -> bool:
    cls = type(value)
    return hasattr(cls, "__pydantic_fields__") or hasattr(cls, "__dataclass_fields__")


def _json_default(value: Any) -> Any:
    if hasattr(type(value), "__pydantic_fields__"):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


@lru_cache(maxsize=4096)
def _parse_template(text: str) -> Template:
    return Template(text, _scan(text))


def parse_template(text: str) -> Template:
    """Parse a string value (cached). Raises ExpressionError on a syntax error."""
    return _parse_template(_plain_str(text))


# -- nested values --------------------------------------------------------------------------------


def render(value: Any, scope: Mapping[str, Any]) -> Any:
    """Evaluate every string inside ``value`` (dicts, lists and tuples, recursively). Strings
    without ``$`` and non-string leaves are returned as they are."""
    if isinstance(value, str):
        if "$" not in value:
            return value
        return parse_template(value).evaluate(scope)
    if isinstance(value, Mapping):
        return {key: render(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, scope) for item in value]
    if isinstance(value, tuple):
        return tuple(render(item, scope) for item in value)
    return value


def iter_templates(value: Any, _key_path: str = "") -> Iterator[tuple[str, str]]:
    """``(key_path, string)`` for every string inside ``value`` that contains ``${``; key paths
    read like ``payload.name.givenName`` or ``emails[0].value`` (``""`` for ``value`` itself)."""
    if isinstance(value, str):
        if "${" in value:
            yield _key_path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from iter_templates(item, f"{_key_path}.{key}" if _key_path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from iter_templates(item, f"{_key_path}[{index}]")


def references(value: Any) -> Iterator[tuple[Reference, str]]:
    """``(reference, key_path)`` for every variable path read anywhere inside ``value``. Raises
    ExpressionError on a syntax error."""
    for key_path, text in iter_templates(value):
        for reference in parse_template(text).references():
            yield reference, key_path
