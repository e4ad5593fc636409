"""Runs as an interactive client holds them: start, cancel, the events of each run, and the
history. A plain class with no Textual in it: the app calls `execute` in a worker thread and
feeds the events it gets to `RunSession.track`.

A `RunSession` is one run (or the replay of a recorded one) of an entry point: its step
statuses and foreach progress keyed by StepAddress string, as the engine's events name them,
and the step inspector's records (`inspector`, runtime/inspect.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

CANCELLED_EARLY = "cancelled before it started"


@dataclass(eq=False)
class RunSession:
    entry: str
    replay: str = ""  # the run id, for a replay of the history
    resume: str = ""  # the id of the run this one continues (`--resume`)
    plan: bool = False  # a plan (`--plan`): sync steps plan only, no write is sent
    force: bool = False  # sync steps apply a plan over their maxChanges (`--force`)
    engine: Any = None
    run_id: str = ""
    ended: bool = False  # the worker is done (no second run of this entry before that)
    cancel_requested: bool = False
    finished: dict[str, Any] | None = None  # the run.finished event
    statuses: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    progress: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # step address -> label
    error_address: str = ""
    previous: RunSession | None = None  # the entry's last session, shown again if this one is refused
    prefix: str = ""  # "[entry] " before its lines while several runs share the output
    sync_steps: frozenset[str] = frozenset()  # in a plan: the sync steps, whose log lines are kept
    plan_logs: dict[str, list[str]] = field(default_factory=dict)  # "address" or "address[item]" -> lines
    inspector: Any = None  # RunInspector: what each step received, returned and sent

    def __post_init__(self) -> None:
        from workbench.runtime.inspect import RunInspector

        self.inspector = RunInspector()

    @property
    def live(self) -> bool:
        return not self.ended and not self.replay

    def track(self, data: dict[str, Any]) -> str | None:
        """Record one event; returns the step address whose card changed, if any."""
        self.inspector.add(data)
        kind = data.get("event")
        if kind in ("step.started", "step.finished"):
            address = str(data.get("step", ""))
            self.labels[address] = str(data.get("label", ""))
            if self.statuses.get(address, ("",))[0] == "failed":
                return None  # a failed item keeps its card red for the rest of the run
            if kind == "step.started":
                self.statuses[address] = ("running", None)
            else:
                self.statuses[address] = (str(data.get("status")), data.get("durationMs"))
            return address
        if kind == "foreach.progress":
            address = str(data.get("step", ""))
            self.progress[address] = (int(data.get("done", 0)), int(data.get("total", 0)), int(data.get("failed", 0)))
            return address
        if kind == "log":
            if self.sync_steps and data.get("step") in self.sync_steps:  # a sync's plan, as a diff
                item = data.get("item")
                key = str(data["step"]) if item is None else f"{data['step']}[{item}]"
                self.plan_logs.setdefault(key, []).append(str(data.get("message", "")))
            return None
        if kind == "run.started":
            self.run_id = str(data.get("run", ""))
        elif kind == "run.finished":
            self.finished = data
            error = data.get("error") or {}
            if error.get("step") is not None:
                self.error_address = str(error["step"])
            # Steps never reached were not run: no "pending" left behind. Steps cut short by a
            # cancel have no step.finished: they show as cancelled.
            cut = "cancelled" if data.get("status") == "cancelled" else "running"
            self.statuses = {a: (cut, None) if s[0] == "running" else s
                             for a, s in self.statuses.items() if s[0] != "pending"}
        return None


class AlreadyRunning(RuntimeError):
    pass


class RunController:
    """The latest session of each entry point, and the runs going now."""

    def __init__(self, project: Any) -> None:
        self.project = project  # workbench.project.session.ProjectSession
        self.runs: dict[str, RunSession] = {}

    def live(self) -> list[RunSession]:
        return [s for s in self.runs.values() if s.live]

    # -- starting and ending -----------------------------------------------------------------------
    def begin(self, entry: str, addresses: list[str], *, resume: str = "", plan: bool = False, force: bool = False,
              sync_steps: Iterable[str] = ()) -> RunSession:
        """A new session for `entry`, its steps pending. Raises AlreadyRunning. In a plan, the log
        lines of `sync_steps` (their plans) are kept in `plan_logs`."""
        current = self.runs.get(entry)
        if current is not None and current.live:
            raise AlreadyRunning(f"{entry} is already running (esc cancels it)")
        session = RunSession(entry, resume=resume, plan=plan, force=force, previous=current,
                             sync_steps=frozenset(sync_steps) if plan else frozenset())
        others = self.live()
        self.runs[entry] = session
        for live in [*others, session] if others else []:
            live.prefix = f"[{live.entry}] "
        session.statuses = {address: ("pending", None) for address in addresses}
        return session

    def execute(self, session: RunSession, sink: Callable[[Any], None]) -> Any:
        """Run it here (a worker thread): preflight, then the engine. Returns the RunResult;
        raises PreflightError (nothing ran) or CancelledEarly."""
        from workbench.runtime import Engine

        project = self.project
        store = project.ensure_loaded()
        engine = Engine(store, env=project.env, memory=project.memory, resume=session.resume or None,
                        plan=session.plan, force=session.force)
        session.engine = engine
        with project.lock:
            engine.preflight(session.entry)  # missing values are reported before anything runs
        if session.cancel_requested:
            raise CancelledEarly(CANCELLED_EARLY)

        def watch(event: Any) -> None:
            sink(event)
            if session.cancel_requested and getattr(event, "EVENT", "") == "run.started":
                engine.cancel()  # a cancel that came before the run existed
        return asyncio.run(engine.run(session.entry, watch))

    def resumable(self, entry: str) -> str:
        """The id of the entry's last run when a resume could continue it (it failed, was cancelled,
        or collected failures), else "". Never a plan's: a resume would skip the writes the plan did not send."""
        session = self.runs.get(entry)
        finished = session.finished if session is not None and not session.live and not session.plan else None
        if not finished or not session.run_id:
            return ""
        if finished.get("status") in ("failed", "cancelled") or finished.get("failedItems"):
            return session.run_id
        return ""

    def refused(self, session: RunSession) -> bool:
        """Preflight refused it: the entry shows its previous session again. True when it had none."""
        session.ended = True
        if self.runs.get(session.entry) is not session:
            return False
        self.runs.pop(session.entry)
        if session.previous is not None:
            self.runs[session.entry] = session.previous
            return False
        return True

    def ended(self, session: RunSession) -> None:
        session.ended = True
        session.previous = None  # not needed any more: no chain of old sessions

    def cancel(self, session: RunSession) -> None:
        session.cancel_requested = True
        if session.engine is not None:
            session.engine.cancel()  # thread-safe: the run ends as "cancelled"

    def cancel_all(self) -> None:
        for session in self.live():
            self.cancel(session)

    def to_cancel(self, selected_entry: str) -> RunSession | None:
        """The run esc cancels: the selected entry's, or the only one going."""
        live = self.live()
        selected = self.runs.get(selected_entry)
        if selected in live:
            return selected
        return live[0] if len(live) == 1 else None

    # -- history -----------------------------------------------------------------------------------
    def history(self) -> list[Any]:
        """Recorded runs, newest first."""
        from workbench.runtime.history import list_runs

        return list(reversed(list_runs(self.project.root)))

    def replay(self, run_id: str) -> tuple[RunSession, list[dict[str, Any]]]:
        """A session for a recorded run, and its events (files of any age: the step addresses
        they hold are read in the one form). Raises KeyError or OSError."""
        from workbench.project.address import AddressError, StepAddress
        from workbench.runtime.history import find_run, read_events

        events = read_events(find_run(self.project.root, run_id))
        for event in events:
            for holder in (event, event.get("error") or {}):
                step = holder.get("step") if isinstance(holder, dict) else None
                if isinstance(step, str):
                    try:
                        holder["step"] = str(StepAddress.parse(step))
                    except AddressError:
                        pass
        first = events[0] if events else {}
        session = RunSession(str(first.get("entry", "")), replay=run_id, ended=True)
        current = self.runs.get(session.entry)
        if current is None or current.ended:
            self.runs[session.entry] = session  # its cards show the replayed statuses
        return session, events


class CancelledEarly(RuntimeError):
    pass
