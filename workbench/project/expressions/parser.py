"""The recursive-descent parser of the expression language (:class:`_Parser`), the scan of a string
value for its ``${...}`` parts, and :func:`parse_expression`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from workbench.project.expressions.errors import ExpressionError
from workbench.project.expressions.nodes import BoolOp, Call, Compare, Default, Expr, Literal, Not, Path
from workbench.project.expressions.semantics import _ARITY
from workbench.project.expressions.tokenizer import _COMPARISONS, _KEYWORDS, _Token, _tokenize

MAX_DEPTH = 64  # nesting of parentheses, calls, indexes and `not`; real expressions use a few


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
