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

The package, in reading order: ``errors`` (the three errors), ``tokenizer``, ``nodes`` (the parsed
form: evaluation and references), ``semantics`` (what the operators and functions mean),
``parser`` (the grammar, :func:`parse_expression`) and ``templates`` (string values,
:func:`parse_template`, :func:`render`...). Import from the package itself: this module is its
surface.
"""

from __future__ import annotations

from workbench.project.expressions.errors import EvaluationError, ExpressionError, UnknownVariable
from workbench.project.expressions.nodes import (
    BoolOp as BoolOp,
    Call as Call,
    Compare as Compare,
    Default as Default,
    Expr,
    Literal as Literal,
    Not as Not,
    Path as Path,
    Reference,
)
from workbench.project.expressions.parser import MAX_DEPTH as MAX_DEPTH
from workbench.project.expressions.parser import parse_expression
from workbench.project.expressions.semantics import _type_name as _type_name  # for mapper_calls.py
from workbench.project.expressions.templates import Template, iter_templates, parse_template, references, render

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
