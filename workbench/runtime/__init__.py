"""The headless runtime: the engine, its events, run history and schedules. Never imports textual.

`from workbench.runtime import Engine, RunResult, PreflightError` and `workbench.runtime.events`.
"""

from workbench.runtime.engine import Engine, PreflightError, RunResult

__all__ = ["Engine", "PreflightError", "RunResult"]
