"""Calls of data mappers in expressions: `${hireToUser(hire)}` and `${map(hires, hireToUser)}`.

The parser (expressions/parser.py) hands any call of a name that is not a built-in function here. The
nodes find the mapper at run time in the scope (`mappers.MAPPERS`, set by the engine), so a parsed
expression stays shared by every project; `check` reports a call of an unknown mapper. Still no
`eval`: a mapper is a table of expressions (mappers.py).

Headless: never imports textual.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

from workbench.project.expressions import (
    BoolOp,
    Call,
    Compare,
    Default,
    EvaluationError,
    Expr,
    Not,
    Path,
    Reference,
    Template,
    _type_name,
)
from workbench.project.mappers import MAPPERS

BUILTINS = ("len", "lower", "upper", "trim", "default", "map")  # names a mapper cannot have


def unknown_call_message(name: str, mappers: list[str]) -> str:
    """What a call of neither a function nor a declared mapper says, with the closest name."""
    close = difflib.get_close_matches(name, [*BUILTINS, *mappers], n=1)
    hint = f"did you mean {close[0]!r}?" if close else \
        f"functions: {', '.join(BUILTINS)}" + (f"; data mappers: {', '.join(mappers)}" if mappers else "")
    return f"unknown function or data mapper {name!r} ({hint})"


def _lookup(node: Expr, name: str, scope: Mapping[str, Any]) -> Any:
    registry = scope.get(MAPPERS)
    compiled = registry.get(name) if registry is not None else None
    if compiled is None:
        names = registry.names() if registry is not None else []
        raise EvaluationError(unknown_call_message(name, list(names)), node.position, node.source)
    return compiled


class MapperCall(Expr):
    """`hireToUser(hire)`: the mapper's output for one record."""

    __slots__ = ("mapper", "arg")

    def __init__(self, source: str, position: int, mapper: str, arg: Expr) -> None:
        super().__init__(source, position)
        self.mapper = mapper
        self.arg = arg

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        compiled = _lookup(self, self.mapper, scope)
        return compiled(self.arg.evaluate(scope), scope)

    def _refs(self, optional: bool) -> Iterator[Reference]:
        return self.arg._refs(optional)

    def static(self, env: Mapping[str, Any], scope: Any) -> Any:
        from workbench.project.mapper_checks import output_static

        return output_static(self, env, scope, (self.arg,))


class MapCall(Expr):
    """`map(hires, hireToUser)`: the mapper's output for each record of a list."""

    __slots__ = ("items", "mapper")

    def __init__(self, source: str, position: int, items: Expr, mapper: str) -> None:
        super().__init__(source, position)
        self.items = items
        self.mapper = mapper

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        compiled = _lookup(self, self.mapper, scope)
        items = self.items.evaluate(scope)
        if not isinstance(items, (list, tuple)):
            raise EvaluationError(f"map() needs a list, not {_type_name(items)}", self.position, self.source)
        return [compiled(item, scope) for item in items]

    def _refs(self, optional: bool) -> Iterator[Reference]:
        return self.items._refs(optional)

    def static(self, env: Mapping[str, Any], scope: Any) -> Any:
        from workbench.project.mapper_checks import output_static

        return output_static(self, env, scope, (self.items,))


def mapper_call(parser: Any, name: Any, args: list[Expr]) -> Expr:
    """The node of `name(args)` when `name` is not a built-in function (expressions/parser.py)."""
    if name.value == "map":
        target = args[1] if len(args) == 2 else None
        if target is None:
            raise parser.error(name, f"map() takes 2 arguments, a list and a data mapper ({len(args)} given)")
        if not (isinstance(target, Path) and target.base is None and not target.keys):
            raise parser.error(name, "map()'s second argument is a data mapper's name, e.g. map(rows, hireToUser)")
        return MapCall(parser.src, name.pos, args[0], target.root)
    if len(args) != 1:
        raise parser.error(name, f"{name.value}() takes 1 argument, the record to map ({len(args)} given); "
                                 "functions: len, lower, upper, trim, default, map, and the data mappers")
    return MapperCall(parser.src, name.pos, name.value, args[0])


def _children(expr: Expr) -> tuple:
    if isinstance(expr, Path):
        return ((expr.base,) if expr.base is not None else ()) + tuple(k for k in expr.keys if isinstance(k, Expr))
    if isinstance(expr, Not):
        return (expr.operand,)
    if isinstance(expr, BoolOp):
        return expr.operands
    if isinstance(expr, Compare):
        return (expr.left, expr.right)
    if isinstance(expr, Call):
        return (expr.arg,)
    if isinstance(expr, Default):
        return (expr.value, expr.fallback)
    if isinstance(expr, MapperCall):
        return (expr.arg,)
    if isinstance(expr, MapCall):
        return (expr.items,)
    return ()


def calls_in(parsed: Expr | Template) -> Iterator[MapperCall | MapCall]:
    """Every mapper call in a parsed expression or template, in source order."""
    stack = [p for p in parsed.parts if isinstance(p, Expr)] if isinstance(parsed, Template) else [parsed]
    stack.reverse()
    while stack:
        expr = stack.pop()
        if isinstance(expr, (MapperCall, MapCall)):
            yield expr
        stack.extend(reversed(_children(expr)))
