"""No error may crash the app: handlers that touch the project are wrapped in `guarded`, which
turns an exception into a notification (and records it, so tests can assert there were none)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any


def describe(error: BaseException) -> str:
    """A message a person can act on: EditError and ProjectFileError already read well."""
    name = type(error).__name__
    text = str(error) or name
    if name in ("EditError", "EditConflict", "ProjectFileError", "ScaffoldError", "UnknownConnector", "ValueError"):
        return text
    return f"{name}: {text}"


def report(node: Any, error: BaseException, what: str = "") -> None:
    app = node.app
    message = describe(error)
    errors = getattr(app, "internal_errors", None)
    if errors is not None and type(error).__name__ not in ("EditError", "EditConflict", "ProjectFileError"):
        errors.append(error)
    app.log.error(f"{what or 'error'}: {message}")
    app.notify(message, title=what or "Error", severity="error", timeout=8)


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Catch and report any exception raised by a handler or action (sync or async)."""
    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def run_async(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except Exception as error:  # noqa: BLE001 - the point of this wrapper
                report(self, error, method.__name__.removeprefix("action_").replace("_", " "))
        return run_async

    @functools.wraps(method)
    def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the point of this wrapper
            report(self, error, method.__name__.removeprefix("action_").replace("_", " "))
    return run
