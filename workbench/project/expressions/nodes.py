"""The parsed form of an expression: immutable nodes (:class:`Expr` and its kinds) that evaluate
against a scope and list the variable paths they read (:class:`Reference`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.project.expressions.errors import EvaluationError, UnknownVariable
from workbench.project.expressions.semantics import (
    _COMPARE,
    _FUNCTIONS,
    _a,
    _BadRead,
    _format_key,
    _lookup,
    _NullRead,
    _type_name,
    _TypeMismatch,
)


@dataclass(frozen=True)
class Reference:
    """A variable path an expression reads. ``root`` is the first name, ``path`` the canonical
    path up to the first computed index (``config.scimServiceUrl``, ``users[0]["display name"]``).
    ``optional`` is set when the read is inside ``default()``'s first argument (not compared);
    ``depth`` counts the keys read after the root, computed ones included (not compared)."""

    root: str
    path: str
    optional: bool = field(default=False, compare=False)
    depth: int = field(default=0, compare=False)


class Expr:
    """A parsed expression. Nodes are immutable and shared through the parse cache."""

    __slots__ = ("source", "position")

    def __init__(self, source: str, position: int) -> None:
        self.source = source
        self.position = position

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def references(self) -> Iterator[Reference]:
        """Every variable path the expression reads, in source order."""
        return self._refs(False)

    def _refs(self, optional: bool) -> Iterator[Reference]:
        return iter(())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {self.position} in {self.source!r}>"


class Literal(Expr):
    __slots__ = ("value",)

    def __init__(self, source: str, position: int, value: Any) -> None:
        super().__init__(source, position)
        self.value = value

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        return self.value


class Path(Expr):
    """``root.key[0]["key"][expr]``. ``root`` is a name, or None when ``base`` is an expression
    (``default(a, b).key``). ``keys`` holds str/int keys, and Expr nodes for computed indexes."""

    __slots__ = ("root", "base", "base_text", "keys", "computed")

    def __init__(self, source: str, position: int, root: str | None, keys: tuple = (),
                 base: Expr | None = None, base_text: str = "") -> None:
        super().__init__(source, position)
        self.root = root
        self.base = base
        self.base_text = base_text
        self.keys = keys
        self.computed = any(isinstance(k, Expr) for k in keys)

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        if self.base is not None:
            obj = self.base.evaluate(scope)
        else:
            try:
                obj = scope[self.root]
            except KeyError:
                raise UnknownVariable(self.root, self.position, self.source) from None
        if self.computed:
            return self._walk(obj, [k.evaluate(scope) if isinstance(k, Expr) else k for k in self.keys])
        start = obj
        for key in self.keys:  # fast path: plain dicts and lists
            cls = type(obj)
            if cls is dict or (cls is list and type(key) is int):
                try:
                    obj = obj[key]
                    continue
                except LookupError:
                    pass
            return self._walk(start, self.keys)  # anything else, and errors
        return obj

    def _walk(self, obj: Any, keys: Any) -> Any:
        """Walk ``keys`` from ``obj`` (the root's value) through any kind of container, naming the
        exact path in errors."""
        walked = self.root if self.base is None else self.base_text
        for key in keys:
            if isinstance(key, bool) or not isinstance(key, (int, str)):
                raise EvaluationError(f"an index must be an integer or a string, not {_type_name(key)}",
                                      self.position, self.source)
            try:
                obj = _lookup(obj, key)
            except (KeyError, IndexError):
                raise UnknownVariable(walked + _format_key(key), self.position, self.source) from None
            except _NullRead:
                raise UnknownVariable(walked + _format_key(key), self.position, self.source,
                                      f"'{walked}' is null") from None
            except _BadRead:
                raise EvaluationError(f"cannot read {_format_key(key)} of '{walked}' "
                                      f"({_a(_type_name(obj))})", self.position, self.source) from None
            walked += _format_key(key)
        return obj

    def _refs(self, optional: bool) -> Iterator[Reference]:
        if self.base is not None:
            yield from self.base._refs(optional)
        else:
            path = self.root
            for key in self.keys:
                if isinstance(key, Expr):
                    break
                path += _format_key(key)
            yield Reference(self.root, path, optional, len(self.keys))
        for key in self.keys:
            if isinstance(key, Expr):
                yield from key._refs(optional)


class Not(Expr):
    __slots__ = ("operand",)

    def __init__(self, source: str, position: int, operand: Expr) -> None:
        super().__init__(source, position)
        self.operand = operand

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        return not self.operand.evaluate(scope)

    def _refs(self, optional: bool) -> Iterator[Reference]:
        return self.operand._refs(optional)


class BoolOp(Expr):
    """``a and b and c`` / ``a or b``: short-circuits and yields true or false (Python truthiness:
    null, 0, "" and empty lists/objects are false)."""

    __slots__ = ("op", "operands")

    def __init__(self, source: str, position: int, op: str, operands: tuple[Expr, ...]) -> None:
        super().__init__(source, position)
        self.op = op
        self.operands = operands

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        if self.op == "and":
            for operand in self.operands:
                if not operand.evaluate(scope):
                    return False
            return True
        for operand in self.operands:
            if operand.evaluate(scope):
                return True
        return False

    def _refs(self, optional: bool) -> Iterator[Reference]:
        for operand in self.operands:
            yield from operand._refs(optional)


class Compare(Expr):
    __slots__ = ("op", "left", "right", "_fn")

    def __init__(self, source: str, position: int, op: str, left: Expr, right: Expr) -> None:
        super().__init__(source, position)
        self.op = op
        self.left = left
        self.right = right
        self._fn = _COMPARE[op]

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        try:
            return self._fn(self.left.evaluate(scope), self.right.evaluate(scope), self.op)
        except _TypeMismatch as exc:
            raise EvaluationError(exc.args[0], self.position, self.source) from None

    def _refs(self, optional: bool) -> Iterator[Reference]:
        yield from self.left._refs(optional)
        yield from self.right._refs(optional)


class Call(Expr):
    """``len(x)``, ``lower(s)``, ``upper(s)``, ``trim(s)``."""

    __slots__ = ("name", "arg", "_fn")

    def __init__(self, source: str, position: int, name: str, arg: Expr) -> None:
        super().__init__(source, position)
        self.name = name
        self.arg = arg
        self._fn = _FUNCTIONS[name]

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        try:
            return self._fn(self.arg.evaluate(scope))
        except _TypeMismatch as exc:
            raise EvaluationError(f"{self.name}() {exc.args[0]}", self.position, self.source) from None

    def _refs(self, optional: bool) -> Iterator[Reference]:
        return self.arg._refs(optional)


class Default(Expr):
    """``default(x, fallback)``: ``fallback`` when ``x`` reads a missing variable or path, or is null."""

    __slots__ = ("value", "fallback")

    def __init__(self, source: str, position: int, value: Expr, fallback: Expr) -> None:
        super().__init__(source, position)
        self.value = value
        self.fallback = fallback

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        try:
            value = self.value.evaluate(scope)
        except UnknownVariable:
            return self.fallback.evaluate(scope)
        return self.fallback.evaluate(scope) if value is None else value

    def _refs(self, optional: bool) -> Iterator[Reference]:
        yield from self.value._refs(True)
        yield from self.fallback._refs(optional)
