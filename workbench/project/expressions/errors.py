"""The errors of the expression language: :class:`ExpressionError` (syntax), :class:`UnknownVariable`
(a path that does not exist) and :class:`EvaluationError` (a type error), with the excerpt of the
source their messages show."""

from __future__ import annotations

_EXCERPT = 120  # longest source shown in an error message


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
