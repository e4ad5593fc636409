"""The expression language of project files.

A string value in ``workbench.toml`` may contain ``${...}``. Inside, an expression reads a path
(``config.name``, ``createdUser.emails[0].value``, ``row["display name"]``) and may combine
literals (``12``, ``-1.5``, ``'text'``, ``"text"``, ``true``, ``false``, ``null``), the operators
``== != < <= > >= in not in and or not`` with parentheses, and the functions ``len lower upper
trim default``, ``map(list, mapper)`` and the project's data mappers (``hireToUser(row)``, in
mapper_calls.py). Precedence, loosest first: ``or``, ``and``, ``not``, comparison.

A string that is exactly one ``${...}`` evaluates to the value itself (an int stays an int, a
dict stays a dict); any other string interpolates (``true``/``false``, null as ``""``, lists and
objects as JSON). ``$${`` is a literal ``${``.

Text is parsed by a small tokenizer and a recursive-descent parser into immutable nodes; nothing
is ever handed to ``eval``. Parsing is cached, so the runtime may call :func:`parse_template` for
every step.

Errors: :class:`ExpressionError` (syntax; ``message`` is the bare reason, ``str()`` adds the
column and the source), :class:`UnknownVariable` (a path that does not exist; ``path``) and
:class:`EvaluationError` (a type error such as ``len(3)``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from functools import lru_cache
from typing import Any, NamedTuple

__all__ = [
    "EvaluationError",
    "Expr",
    "ExpressionError",
    "Reference",
    "Template",
    "UnknownVariable",
    "iter_templates",
    "parse_expression",
    "parse_template",
    "references",
    "render",
]

MAX_DEPTH = 64  # nesting of parentheses, calls, indexes and `not`; real expressions use a few
_EXCERPT = 120  # longest source shown in an error message


# -- errors ---------------------------------------------------------------------------------------


class ExpressionError(ValueError):
    """A syntax error. ``message`` is the reason, ``position`` a 0-based offset in ``source``;
    ``str()`` reads like ``unexpected ')' at column 8 in "${a == )}"``."""

    def __init__(self, message: str, position: int = 0, source: str = "") -> None:
        super().__init__(message, position, source)
        self.message = message
        self.position = position
        self.source = source

    def __str__(self) -> str:
        if not self.source and not self.position:
            return self.message
        return f"{self.message} at column {self.position + 1} in {_excerpt(self.source, self.position)}"


class _Unterminated(ExpressionError):
    """``unterminated ${ in "..."`` (the position is that of the ``${``)."""

    def __init__(self, position: int = 0, source: str = "") -> None:
        super().__init__("unterminated ${", position, source)
        self.args = (position, source)

    def __str__(self) -> str:
        return f"unterminated ${{ in {_excerpt(self.source, self.position)}"


class UnknownVariable(ExpressionError):
    """Evaluation read a name or path that does not exist. ``path`` is the path up to and including
    the missing part, e.g. ``createdUser.idd`` or ``users[3]``."""

    def __init__(self, path: str, position: int = 0, source: str = "", detail: str = "") -> None:
        super().__init__(f"unknown variable '{path}'" + (f" ({detail})" if detail else ""), position, source)
        self.args = (path, position, source, detail)
        self.path = path

    def __str__(self) -> str:
        return self.message


class EvaluationError(ExpressionError):
    """Evaluation failed on a type: ``len()`` of an integer, ``'a' < 1``, ``.name`` of a list..."""

    def __str__(self) -> str:
        return self.message


def _excerpt(source: str, position: int) -> str:
    if len(source) > _EXCERPT:
        start = max(0, min(position - _EXCERPT // 2, len(source) - _EXCERPT))
        source = ("…" if start else "") + source[start:start + _EXCERPT] + (
            "…" if start + _EXCERPT < len(source) else "")
    return f'"{source}"'


# -- tokenizer ------------------------------------------------------------------------------------

_DIGITS = frozenset("0123456789")
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT = _IDENT_START | _DIGITS
_HEX = frozenset("0123456789abcdefABCDEF")
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_OPERATORS_2 = ("==", "!=", "<=", ">=")
_OPERATORS_1 = frozenset("<>()[].,-")
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0",
            "\\": "\\", "'": "'", '"': '"', "/": "/"}
_HINTS = {"=": " (use '==' to compare)", "!": " (use 'not')", "&": " (use 'and')", "|": " (use 'or')"}


class _Token(NamedTuple):
    kind: str  # "num", "str", "name", "op", "end"
    value: Any
    pos: int
    end: int


def _tokenize(src: str, pos: int, opened: int | None) -> tuple[list[_Token], int]:
    """Tokens of ``src`` from ``pos``. Inside a template (``opened`` is the offset of its ``${``)
    stop after the closing ``}``; return the tokens (ending with an "end" token) and the offset
    after the last character read."""
    tokens: list[_Token] = []
    n = len(src)
    i = pos
    while True:
        if i >= n:
            if opened is not None:
                raise _Unterminated(opened, src)
            tokens.append(_Token("end", None, i, i))
            return tokens, i
        c = src[i]
        if c in " \t\r\n":
            i += 1
        elif c == "}" and opened is not None:
            tokens.append(_Token("end", "}", i, i + 1))
            return tokens, i + 1
        elif c in _IDENT_START:
            j = i + 1
            while j < n and src[j] in _IDENT:
                j += 1
            tokens.append(_Token("name", src[i:j], i, j))
            i = j
        elif c in _DIGITS:
            tokens.append(_number(src, i))
            i = tokens[-1].end
        elif c == "'" or c == '"':
            tokens.append(_string(src, i))
            i = tokens[-1].end
        elif src.startswith(_OPERATORS_2, i):
            tokens.append(_Token("op", src[i:i + 2], i, i + 2))
            i += 2
        elif c in _OPERATORS_1:
            tokens.append(_Token("op", c, i, i + 1))
            i += 1
        else:
            raise ExpressionError(f"unexpected character {c!r}{_HINTS.get(c, '')}", i, src)


def _number(src: str, i: int) -> _Token:
    n = len(src)
    j = i
    while j < n and src[j] in _DIGITS:
        j += 1
    is_float = False
    if j + 1 < n and src[j] == "." and src[j + 1] in _DIGITS:
        is_float = True
        j += 1
        while j < n and src[j] in _DIGITS:
            j += 1
    if j < n and src[j] in "eE":
        k = j + 1
        if k < n and src[k] in "+-":
            k += 1
        if k < n and src[k] in _DIGITS:
            is_float = True
            j = k
            while j < n and src[j] in _DIGITS:
                j += 1
    if j < n and src[j] in _IDENT:
        raise ExpressionError(f"invalid number {src[i:j + 1]!r}", i, src)
    text = src[i:j]
    try:
        value: int | float = float(text) if is_float else int(text)
    except ValueError:  # more digits than int() accepts
        raise ExpressionError("number is too long", i, src) from None
    return _Token("num", value, i, j)


def _string(src: str, i: int) -> _Token:
    quote = src[i]
    n = len(src)
    out: list[str] = []
    j = i + 1
    while True:
        k = j
        while k < n and src[k] != quote and src[k] != "\\":
            k += 1
        out.append(src[j:k])
        if k >= n:
            raise ExpressionError("unterminated string", i, src)
        if src[k] == quote:
            return _Token("str", "".join(out), i, k + 1)
        # a backslash escape
        if k + 1 >= n:
            raise ExpressionError("unterminated string", i, src)
        e = src[k + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            j = k + 2
        elif e == "u":
            code = _hex4(src, k)
            j = k + 6
            if 0xD800 <= code < 0xDC00 and src.startswith("\\u", j):
                low = _hex4(src, j)
                if 0xDC00 <= low < 0xE000:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    j += 6
            if 0xD800 <= code < 0xE000:
                raise ExpressionError("invalid \\u escape (a lone surrogate)", k, src)
            out.append(chr(code))
        else:
            raise ExpressionError(f"invalid escape '\\{e}'", k, src)


def _hex4(src: str, k: int) -> int:
    digits = src[k + 2:k + 6]
    if len(digits) != 4 or not all(d in _HEX for d in digits):
        raise ExpressionError("invalid \\u escape (expected 4 hex digits)", k, src)
    return int(digits, 16)


# -- nodes ----------------------------------------------------------------------------------------


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


# -- semantics ------------------------------------------------------------------------------------


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


# -- parser ---------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the grammar::

        expr    := and ('or' and)*
        and     := not ('and' not)*
        not     := 'not' not | compare
        compare := postfix [('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in') postfix]
        postfix := primary ('.' NAME | '[' expr ']')*
        primary := NUMBER | '-' NUMBER | STRING | 'true' | 'false' | 'null'
                 | NAME | NAME '(' [expr (',' expr)*] ')' | '(' expr ')'
    """

    def __init__(self, src: str, tokens: list[_Token]) -> None:
        self.src = src
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    # helpers
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "end":
            self.i += 1
        return token

    def at(self, kind: str, value: Any = None) -> bool:
        token = self.tokens[self.i]
        return token.kind == kind and (value is None or token.value == value)

    def error(self, token: _Token, reason: str | None = None) -> ExpressionError:
        if reason is None:
            reason = f"unexpected {self.describe(token)}"
        return ExpressionError(reason, token.pos, self.src)

    def describe(self, token: _Token) -> str:
        if token.kind == "end":
            return "end of expression"
        text = self.src[token.pos:token.end]
        if len(text) > 30:
            text = text[:27] + "..."
        return f"string {text}" if token.kind == "str" else f"'{text}'"

    def expect(self, value: str, what: str) -> _Token:
        token = self.advance()
        if token.kind != "op" or token.value != value:
            raise self.error(token, f"expected '{value}' {what}, found {self.describe(token)}")
        return token

    # grammar
    def parse(self) -> Expr:
        if self.at("end"):
            raise self.error(self.peek(), "empty expression")
        expr = self.parse_or()
        if not self.at("end"):
            raise self.error(self.peek())
        return expr

    def parse_or(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(self.peek(), "expression is nested too deeply")
        start = self.peek().pos
        operands = [self.parse_and()]
        while self.at("name", "or"):
            self.advance()
            operands.append(self.parse_and())
        self.depth -= 1
        return operands[0] if len(operands) == 1 else BoolOp(self.src, start, "or", tuple(operands))

    def parse_and(self) -> Expr:
        start = self.peek().pos
        operands = [self.parse_not()]
        while self.at("name", "and"):
            self.advance()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp(self.src, start, "and", tuple(operands))

    def parse_not(self) -> Expr:
        if self.at("name", "not"):
            token = self.advance()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(token, "expression is nested too deeply")
            operand = self.parse_not()
            self.depth -= 1
            return Not(self.src, token.pos, operand)
        return self.parse_compare()

    def comparison_op(self) -> str | None:
        token = self.peek()
        if token.kind == "op" and token.value in _COMPARISONS:
            return token.value
        if token.kind == "name":
            if token.value == "in":
                return "in"
            if token.value == "not" and self.peek(1).kind == "name" and self.peek(1).value == "in":
                return "not in"
        return None

    def parse_compare(self) -> Expr:
        left = self.parse_postfix()
        op = self.comparison_op()
        if op is None:
            return left
        token = self.advance()
        if op == "not in":
            self.advance()
        right = self.parse_postfix()
        if self.comparison_op() is not None:
            raise self.error(self.peek(), f"unexpected {self.describe(self.peek())}: comparisons cannot be "
                                          "chained (use 'and')")
        return Compare(self.src, token.pos, op, left, right)

    def parse_postfix(self) -> Expr:
        start = self.peek().pos
        base = self.parse_primary()
        base_end = self.tokens[self.i - 1].end
        keys: list = []
        while True:
            if self.at("op", "."):
                self.advance()
                token = self.advance()
                if token.kind != "name":
                    raise self.error(token, f"expected a name after '.', found {self.describe(token)}")
                keys.append(token.value)
            elif self.at("op", "["):
                self.advance()
                index = self.parse_or()
                self.expect("]", "to close '['")
                if isinstance(index, Literal):
                    if isinstance(index.value, bool) or not isinstance(index.value, (int, str)):
                        raise ExpressionError("an index must be an integer or a string",
                                              index.position, self.src)
                    keys.append(index.value)
                else:
                    keys.append(index)
            else:
                break
        if not keys:
            return base
        if isinstance(base, Path):  # a.b[0] or (a.b).c: one path
            return Path(self.src, base.position, base.root, base.keys + tuple(keys), base.base, base.base_text)
        return Path(self.src, base.position, None, tuple(keys), base, self.src[start:base_end])

    def parse_primary(self) -> Expr:
        token = self.advance()
        kind, value = token.kind, token.value
        if kind == "num" or kind == "str":
            return Literal(self.src, token.pos, value)
        if kind == "op":
            if value == "-":
                number = self.advance()
                if number.kind != "num":
                    raise self.error(number, f"expected a number after '-', found {self.describe(number)}")
                return Literal(self.src, token.pos, -number.value)
            if value == "(":
                expr = self.parse_or()
                self.expect(")", "to close '('")
                return expr
            raise self.error(token)
        if kind == "name":
            if value in _KEYWORDS:
                if value == "true" or value == "false" or value == "null":
                    return Literal(self.src, token.pos, {"true": True, "false": False, "null": None}[value])
                raise self.error(token)
            if self.at("op", "("):
                return self.parse_call(token)
            return Path(self.src, token.pos, value)
        raise self.error(token)

    def parse_call(self, name: _Token) -> Expr:
        self.advance()  # (
        args: list[Expr] = []
        if not self.at("op", ")"):
            args.append(self.parse_or())
            while self.at("op", ","):
                self.advance()
                args.append(self.parse_or())
        self.expect(")", f"to close {name.value}(")
        if name.value not in _ARITY:  # map() or a data mapper: a project's names, checked by `check`
            from workbench.project.mapper_calls import mapper_call

            return mapper_call(self, name, args)
        arity = _ARITY[name.value]
        if len(args) != arity:
            raise self.error(name, f"{name.value}() takes {arity} argument{'s' if arity > 1 else ''} "
                                   f"({len(args)} given)")
        if name.value == "default":
            return Default(self.src, name.pos, args[0], args[1])
        return Call(self.src, name.pos, name.value, args[0])


# -- templates ------------------------------------------------------------------------------------


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


def _scan(text: str) -> tuple[str | Expr, ...]:
    parts: list[str | Expr] = []
    literal: list[str] = []
    i = 0
    while True:
        j = text.find("$", i)
        if j < 0:
            literal.append(text[i:])
            break
        if text.startswith("$${", j):
            literal.append(text[i:j] + "${")
            i = j + 3
        elif text.startswith("${", j):
            literal.append(text[i:j])
            chunk = "".join(literal)
            if chunk:
                parts.append(chunk)
            literal = []
            tokens, i = _tokenize(text, j + 2, j)
            parts.append(_Parser(text, tokens).parse())
        else:
            literal.append(text[i:j + 1])
            i = j + 1
    chunk = "".join(literal)
    if chunk or not parts:
        parts.append(chunk)
    return tuple(parts)


def _plain_str(text: str) -> str:
    if type(text) is str:
        return text
    if isinstance(text, str):
        return str.__str__(text)  # e.g. tomlkit's String: keep a plain str in the cache
    raise TypeError(f"expected a string, got {type(text).__name__}")


@lru_cache(maxsize=4096)
def _parse_template(text: str) -> Template:
    return Template(text, _scan(text))


def parse_template(text: str) -> Template:
    """Parse a string value (cached). Raises ExpressionError on a syntax error."""
    return _parse_template(_plain_str(text))


@lru_cache(maxsize=4096)
def _parse_expression(text: str) -> Expr:
    if text.lstrip().startswith("${"):
        parts = _scan(text)
        exprs = [p for p in parts if isinstance(p, Expr)]
        if len(exprs) == 1 and all(isinstance(p, Expr) or not p.strip() for p in parts):
            return exprs[0]
        raise ExpressionError(_NOT_A_TEMPLATE, text.find("${"), text)
    try:
        tokens, _ = _tokenize(text, 0, None)
        return _Parser(text, tokens).parse()
    except ExpressionError:
        if "${" in text:
            raise ExpressionError(_NOT_A_TEMPLATE, text.find("${"), text) from None
        raise


_NOT_A_TEMPLATE = "expected one expression, not a template (write 'a and b', not '${a} and ${b}')"


def parse_expression(text: str) -> Expr:
    """Parse a bare expression such as ``createdUser.active == true`` (also accepted wrapped as
    ``${...}``). Cached. Raises ExpressionError on a syntax error."""
    return _parse_expression(_plain_str(text))


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
