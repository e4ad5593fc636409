"""What every compiled step shares: `Node` (the base of each kind), the outcomes a node raises
(`StepError`, `Return`), `NOTHING`, the context variables a call step sets, `_compile_value`
(templates parsed once) and the helpers `Execution` reports with (`ms`, `error_dict`, `summarize`)."""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from workbench.project.expressions import parse_template
from workbench.project.policy import parse_duration

if TYPE_CHECKING:
    from workbench.runtime.execution import Execution

NOTHING = object()  # "this step produced no value"
current_step: contextvars.ContextVar[tuple[str, int | None] | None] = contextvars.ContextVar("wb_step", default=None)
# The arguments a call step rendered (the engine sets a fresh list per step): the inspector's.
rendered_args: contextvars.ContextVar[list | None] = contextvars.ContextVar("wb_args", default=None)


class StepError(Exception):
    """A step failed; `error` is what `${error}` holds in onError."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


class Return(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def error_dict(exc: BaseException) -> dict[str, Any]:
    from workbench.connectors.base import ConnectorError

    if isinstance(exc, ConnectorError):
        return exc.to_dict()
    if isinstance(exc, ValidationError):
        return {"message": describe_validation(exc), "type": "ValidationError"}
    return {"message": str(exc) or type(exc).__name__, "type": type(exc).__name__}


def describe_validation(exc: ValidationError) -> str:
    """In the project's words (no "Value error,", never the value)."""
    from workbench.connectors.base import describe_errors

    return "; ".join(describe_errors(exc.errors(include_url=False)))


def summarize(value: Any, limit: int = 80) -> str:
    """A short description of a step's result for the step line."""
    if value is None or value is NOTHING:
        return ""
    if isinstance(value, dict):
        parts = [f"{key} {value[key]}" for key in ("id", "userName", "displayName", "status")
                 if isinstance(value.get(key), (str, int))]
        text = ", ".join(parts) if parts else f"{len(value)} keys"
    elif isinstance(value, (list, tuple)):
        text = f"{len(value)} items"
    elif isinstance(value, str):
        text = value
    elif type(value) is int:  # as json.dumps writes it, at a tenth of its cost (a step per request)
        text = str(value)
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- compiled steps -----------------------------------------------------------------------------


def _compile_value(value: Any) -> Callable[[Mapping[str, Any]], Any]:
    """A function that renders `value` in a scope. Templates are parsed once here; containers are
    rebuilt on each call so connectors never share (and mutate) the same dict."""
    if isinstance(value, str):
        if "$" not in value:
            return lambda scope: value
        return parse_template(value).evaluate
    if isinstance(value, Mapping):
        items = [(key, _compile_value(item)) for key, item in value.items()]
        return lambda scope: {key: fn(scope) for key, fn in items}
    if isinstance(value, (list, tuple)):
        parts = [_compile_value(item) for item in value]
        return lambda scope: [fn(scope) for fn in parts]
    return lambda scope: value


class Node:
    produces = False  # whether its value counts as "the last value" of a foreach item

    idempotent = False  # whether running its body twice is harmless (a retry policy asks)

    renders = False  # whether it renders arguments for the inspector (rendered_args): a call

    def __init__(self, step, path: str) -> None:
        self.path = path
        self.kind = step.kind
        self.label = step.label or self.default_label(step)
        self.retry = step.retry
        self.timeout = parse_duration(step.timeout) if step.timeout is not None else None
        self.continues = step.onError == "continue"

    def default_label(self, step) -> str:
        return self.kind

    def children(self) -> list[list[Node]]:
        return []

    async def run(self, run: Execution, scope: dict, item: int | None) -> tuple[Any, str | None]:
        raise NotImplementedError

