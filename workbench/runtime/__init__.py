"""The headless runtime: the engine, its events, run history and schedules. Never imports textual.

`from workbench.runtime import Engine, RunResult, PreflightError` and `workbench.runtime.events`.
The exports load on first use, so `workbench.runtime.controller` costs nothing at the app's start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.runtime.engine import Engine, PreflightError, ResumeError, RunResult

__all__ = ["Engine", "PreflightError", "ResumeError", "RunResult"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from workbench.runtime import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
