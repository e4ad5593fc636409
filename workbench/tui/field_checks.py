"""Field checks as you type: the headless Validator's verdict next to each field.

A form calls `check_later(widget, compute, apply)` when a field changes: `compute(validator)`
runs in a thread worker (off the keystroke path; a newer check replaces an older one) and
`apply(problems)` runs back on the app's thread. The Validator is built once per project
state (the app's ProjectView is rebuilt after every load and edit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from textual.message import Message

_PREFIX = re.compile(r"^(?:connection \S+|\S+ args|\S+): (?=\S)")


class FieldsEdited(Message):
    """A field of a form changed: the form checks its fields again."""


def validator(app: Any) -> Any:
    """The Validator of the app's project as it is now, or None before it has loaded."""
    from workbench.project.validator import Validator

    session = getattr(app, "project_session", None)
    store = getattr(session, "store", None)
    if store is None:
        return None
    project, view = store.project, getattr(app, "project_view", None)
    cached = getattr(app, "_field_validator", None)
    if cached is not None and cached[0] is project and cached[1] is view:
        return cached[2]
    with session.lock:
        built = Validator(project, session.resolve_config())
    app._field_validator = (project, view, built)
    return built


def check_later(widget: Any, compute: Callable[[Any], list], apply: Callable[[list], None]) -> None:
    """Run `compute(validator)` in a thread; then `apply(problems)` on the app's thread."""
    from textual.worker import get_current_worker

    app = widget.app

    def work() -> None:
        checker = validator(app)
        problems = compute(checker) if checker is not None else None
        if problems is None or get_current_worker().is_cancelled:
            return
        app.call_from_thread(_apply, apply, problems)

    widget.run_worker(work, thread=True, exclusive=True, group="field-checks", exit_on_error=False)


def _apply(apply: Callable[[list], None], problems: list) -> None:
    from textual.css.query import NoMatches

    try:
        apply(problems)
    except NoMatches:  # the form closed meanwhile
        pass


def short(message: str) -> str:
    """A problem's words at its field: without the "scimClient.createUser args: " lead-in."""
    return _PREFIX.sub("", message, count=1)


def split_path(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split(".") if part)


def problems_under(problems: list, path: tuple, *, exact: bool = False) -> list:
    n = len(path)
    return [p for p in problems if tuple(p.path[:n]) == path and (not exact or len(p.path) == n)]


def verdict_text(problems: list) -> str:
    first = short(problems[0].message)
    return first + (f"  (+{len(problems) - 1} more)" if len(problems) > 1 else "")


def field_of(diagnostics: list, entry: str, address: str) -> tuple | None:
    """The field (its path in the step's table) the first of a step's diagnostics is about."""
    from workbench.project.address import StepAddress, split_key_path

    base = ("entrypoints", entry, *StepAddress.parse(address).key_path)
    for diag in diagnostics:
        path = split_key_path(diag.key)
        if tuple(path[: len(base)]) == base and len(path) > len(base):
            return tuple(path[len(base):])
    return None
