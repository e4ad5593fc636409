"""The tokenizer of the expression language: the character classes, keywords and operators, and
:func:`_tokenize`, which turns the text of one expression into tokens (:class:`_Token`)."""

from __future__ import annotations

from typing import Any, NamedTuple

from workbench.project.expressions.errors import ExpressionError, _Unterminated

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
