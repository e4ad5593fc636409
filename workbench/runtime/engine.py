"""The engine: runs one entry point of a project and streams events to a sink.

    engine = Engine(store, overrides={"newUserName": "ada"})
    result = await engine.run("provisionUser", sink=print)   # RunResult(status, result, error, run_id)

Before any step the project is checked (`diagnostics.check`); any error raises PreflightError and
nothing is called. Steps are compiled once per run into small nodes (templates parsed up front),
so a step costs little more than its own work. Connections open on first use, one per
connection per run, and close when the run ends. Every event is redacted (configured secrets
become `••••`), written to the run history, then given to the sink; Python log records written
while a run is active are masked too (log_masking.py).

Semantics worth knowing:
- Variables set inside a `foreach` body are local to that item. With `result`, the loop
  collects each item's value (that of the last `call` or `set` it ran), in input order.
- A failing item stops the loop from starting new items; the items in flight finish, then the
  first error goes to `onError`.
- `onError` steps see `${error}`: message, type, step (its path), item (in a loop), and status,
  scimType, detail when the server sent them. The run then ends as failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.runtime.execution import Execution, RunResult, Sink
from workbench.runtime.history import new_run_id
from workbench.runtime.resume import ResumeError, ResumeState

__all__ = ["Engine", "PreflightError", "RunResult", "Sink"]


class PreflightError(Exception):
    """The run did not start: the project has errors or a required value is missing.
    `diagnostics` holds every diagnostic (warnings too); nothing was called."""

    def __init__(self, diagnostics: list) -> None:
        self.diagnostics = diagnostics
        errors = [d.message for d in diagnostics if d.severity == "error"]
        super().__init__("; ".join(errors) or "the project cannot run")


class Engine:
    def __init__(
        self,
        store,
        *,
        overrides: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        memory: Mapping[str, Any] | None = None,
        history: bool = True,
        keep: int | None = None,
        plan: bool = False,
        force: bool = False,
        resume: str | None = None,
        resumable: bool = True,
        cancellable: bool = True,
        history_options: Mapping[str, Any] | None = None,
        trace: bool = False,
    ) -> None:
        self.store = store
        self.trace = trace  # the history keeps every foreach item's full events, not one record each
        self.resumable = resumable  # keep what a later --resume needs (a service's request is gone by then)
        # False: cancel() does nothing, the run ends early only when the task running it is
        # cancelled (a service's request), so its steps need no task of their own (~10 µs a run).
        self.cancellable = cancellable
        self.history_options = dict(history_options or {})  # HistoryWriter's: a server's `prune`, `background`
        self.plan = plan  # a plan: sync steps plan only, other writing calls are not run
        self.force = force  # sync steps apply a plan over their maxChanges
        self.resume = resume  # the id of a run to continue (runtime/resume.py)
        self.overrides = dict(overrides or {})
        self.env = env
        self.memory = memory
        self.history = history
        self.keep = keep  # runs kept in the history (default: WB_HISTORY_LIMIT or 200)
        self.diagnostics: list = []
        self._active: Execution | None = None
        self._items: dict[str, bool] = {}  # items_in(), per entry

    def entry_name(self, entry: str | None = None) -> str:
        """The entry point to run: `entry`, or the only one. Raises PreflightError."""
        from workbench.project.diagnostic import ERROR, Diagnostic

        names = list(self.store.project.entrypoints)
        if entry is not None and entry in names:
            return entry
        if entry is None and len(names) == 1:
            return names[0]
        if entry is None:
            message = "the project has no entry point" if not names else (
                "the project has several entry points; choose one with --entry: " + ", ".join(names))
        else:
            message = f"unknown entry point {entry!r} (known: {', '.join(names) or 'none'})"
        raise PreflightError(self.diagnostics + [Diagnostic(ERROR, "unknown-entrypoint", message)])

    def preflight(self, entry: str | None = None) -> str:
        """Check the project and pick the entry point. Raises PreflightError; returns its name."""
        from workbench.project.diagnostics import check, has_errors

        self.diagnostics = check(self.store, env=self.env, overrides=self.overrides, memory=self.memory)
        project_file = getattr(self.store, "project_file", None)
        if project_file is not None and project_file.error:
            raise PreflightError(self.diagnostics)  # its syntax error says it all: no "no entry point"
        name = self.entry_name(entry)
        if has_errors(self.diagnostics):
            raise PreflightError(self.diagnostics)
        return name

    async def run(self, entry: str | None = None, sink: Sink | None = None, *, run_id: str | None = None,
                  scope: Mapping[str, Any] | None = None, secrets: tuple = (), checked: bool = False,
                  trigger: dict | None = None, config=None, compiled: tuple | None = None) -> RunResult:
        """Run an entry point. Raises PreflightError before any step; otherwise returns the
        result, also when the run failed or was cancelled with `cancel()`. If the task running
        this is cancelled from outside, the run is recorded as cancelled and CancelledError
        propagates. `scope` adds variables (a service's `request`), `secrets` values to mask,
        `trigger` what started the run (run.started); `checked`: the caller ran `preflight` on
        this store already, and `config` is its resolved config (a service: once per version);
        `compiled`: the entry's (steps, onError) from `compile_entry` (a service: once per version)."""
        if checked and entry is not None:
            name = entry
        else:
            name = self.preflight(entry if entry is not None or self.resume is None else self.resumed_entry())
        if self.store.project.entrypoints[name].kind == "service" and "request" not in (scope or {}):
            from workbench.project.diagnostic import ERROR, Diagnostic

            raise PreflightError(self.diagnostics + [Diagnostic(
                ERROR, "service-entry", f"{name} is a service: it runs per request (`workbench serve`)")])
        state = self.resume_state(name) if self.resume else None
        if config is None:
            config = self.store.resolve_config(env=self.env, overrides=self.overrides, memory=self.memory)
        run = Execution(self, name, config, sink, run_id or new_run_id(), state)
        run.extra, run.trigger, run.compiled = scope, trigger, compiled
        for secret in secrets:
            run.redactor.add(secret)
        if not self.cancellable:  # cancel() does nothing: the engine may run many at once
            return await run.execute()
        self._active = run
        try:
            return await run.execute()
        finally:
            self._active = None

    def items_in(self, entry: str) -> bool:
        """Whether the entry has a foreach (whose items hold their events back, compact.py)."""
        found = self._items.get(entry)
        if found is None:
            found = self._items[entry] = _has_foreach(self.store.project.entrypoints[entry])
        return found

    def raw_steps(self, entry: str) -> list[Any]:
        """The entry's top-level steps as written (for the resume fingerprints)."""
        data = getattr(getattr(self.store, "project_file", None), "data", {}) or {}
        steps = ((data.get("entrypoints") or {}).get(entry) or {}).get("steps")
        return steps if isinstance(steps, list) else []

    def resumed_entry(self) -> str:
        return ResumeState.load(self.store.root, self.resume).entry

    def resume_state(self, entry: str) -> ResumeState:
        """The state of the run to continue, checked against the project. Raises ResumeError."""
        state = ResumeState.load(self.store.root, self.resume)
        if state.entry != entry:
            raise ResumeError(f"run {self.resume} ran {state.entry!r}, not {entry!r}")
        state.check(self.raw_steps(entry))
        return state

    def cancel(self) -> None:
        """Cancel the current run (safe from any thread): in-flight requests are cancelled,
        connections closed, and `run()` returns with status "cancelled"."""
        run = self._active
        if run is not None:
            run.cancel()


def _has_foreach(entry) -> bool:
    from workbench.project.model import ForeachStep

    def walk(steps) -> bool:
        for step in steps or ():
            if isinstance(step, ForeachStep):
                return True
            if any(walk(getattr(step, name, None)) for name in ("then", "else_", "steps")):
                return True
        return False

    return walk(entry.steps) or walk(entry.onError)
