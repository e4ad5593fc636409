"""Running automations from the app and watching them: a mixin of WorkbenchApp.

A run is a `RunSession`. The engine runs in a thread worker with its own event loop, so its
work (HTTP, history writes) never holds the UI loop; its sink formats each event and appends it
to the RunFeed's deque. A timer takes the events in batches: one `write_lines` for the Output
panel and one status update per touched step card. Replays of past runs go the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work

from workbench.tui.errors import describe, guarded
from workbench.tui.issues import locate
from workbench.tui.messages import ReplayLoaded, RunEnded, RunRefused
from workbench.tui.outline import child_lists
from workbench.tui.run_feed import RunFeed, RunFormat

if TYPE_CHECKING:
    from workbench.tui.widgets.output_panel import OutputPanel

DRAIN_SECONDS = 0.05  # how often the Output panel takes new lines
CANCELLED_EARLY = "cancelled before it started"
BATCH = 2000  # events handled per tick at most, so one tick never holds the UI for long


def card_address(path: str) -> str:
    """The flow's address of a runtime step path: "1.then.0" -> "steps.1.then.0"."""
    return path if path.startswith("onError") else f"steps.{path}"


@dataclass(eq=False)
class RunSession:
    entry: str
    replay: str = ""  # the run id, for a replay of the history
    engine: Any = None
    run_id: str = ""
    ended: bool = False  # the worker is done (no second run of this entry before that)
    cancel_requested: bool = False
    finished: dict[str, Any] | None = None  # the run.finished event
    statuses: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    progress: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # step path -> label
    error_address: str = ""
    previous: RunSession | None = None  # the entry's last session, shown again if this one is refused
    prefix: str = ""  # "[entry] " before its lines while several runs share the output

    def track(self, data: dict[str, Any]) -> str | None:
        """Record one event; returns the step address whose card changed, if any."""
        kind = data.get("event")
        if kind in ("step.started", "step.finished"):
            path = str(data.get("step", ""))
            address = card_address(path)
            self.labels[path] = str(data.get("label", ""))
            if self.statuses.get(address, ("",))[0] == "failed":
                return None  # a failed item keeps its card red for the rest of the run
            if kind == "step.started":
                self.statuses[address] = ("running", None)
            else:
                self.statuses[address] = (str(data.get("status")), data.get("durationMs"))
            return address
        if kind == "foreach.progress":
            address = card_address(str(data.get("step", "")))
            self.progress[address] = (int(data.get("done", 0)), int(data.get("total", 0)), int(data.get("failed", 0)))
            return address
        if kind == "run.started":
            self.run_id = str(data.get("run", ""))
        elif kind == "run.finished":
            self.finished = data
            error = data.get("error") or {}
            if error.get("step") is not None:
                self.error_address = card_address(str(error["step"]))
            # Steps never reached were not run: no "pending" left behind. Steps cut short by a
            # cancel have no step.finished: they show as cancelled.
            cut = "cancelled" if data.get("status") == "cancelled" else "running"
            self.statuses = {a: (cut, None) if s[0] == "running" else s
                             for a, s in self.statuses.items() if s[0] != "pending"}
        return None


def main_step_addresses(steps: list[Any], container: str = "steps") -> list[str]:
    out = []
    for index, step in enumerate(steps):
        address = f"{container}.{index}"
        out.append(address)
        if isinstance(step, dict):
            for branch, children in child_lists(step):
                out += main_step_addresses(children, f"{address}.{branch}")
    return out


class RunActions:
    """Mixed into WorkbenchApp (uses its store, env, memory, lock, flow and notify)."""

    run_format: RunFormat = RunFormat()
    run_in_thread = True  # False: an async worker on the app's loop (bench/tui_output.py compares)

    # -- state (created on first use, so the app's __init__ stays as it was) -------------------
    @property
    def runs(self) -> dict[str, RunSession]:
        """The latest session of each entry point (live, ended, or a replay)."""
        if "_runs" not in self.__dict__:
            self.__dict__["_runs"] = {}
        return self.__dict__["_runs"]

    @property
    def run_feed(self) -> RunFeed:
        if "_run_feed" not in self.__dict__:
            self.__dict__["_run_feed"] = RunFeed(self.run_format)
        return self.__dict__["_run_feed"]

    @property
    def output(self) -> OutputPanel:
        return self.query_one("#output-panel")  # type: ignore[return-value]

    def live_runs(self) -> list[RunSession]:
        return [s for s in self.runs.values() if not s.ended and not s.replay]

    # -- starting ------------------------------------------------------------------------------
    def start_run(self, entry: str) -> None:
        current = self.runs.get(entry)
        if current is not None and not current.ended and not current.replay:
            self.notify(f"{entry} is already running (esc cancels it)", title="Run", severity="warning", timeout=4)
            return
        session = RunSession(entry, previous=current)
        others = self.live_runs()
        self.runs[entry] = session
        for live in [*others, session] if others else []:
            live.prefix = f"[{live.entry}] "
        addresses = main_step_addresses(self.outline.steps(entry))
        session.statuses = {address: ("pending", None) for address in addresses}
        self._show_output()
        self.output.show_summary(self._summary(session), "running")
        self.show_run_status(entry, fresh=True)
        self._start_draining()
        sink = self._sink(session)  # made here, on the UI thread: one feed for every run
        if self.run_in_thread:
            self._run_in_thread(session, sink)
        else:
            self._run_on_loop(session, sink)
        self.refresh_bindings()

    def _engine(self, session: RunSession):
        from workbench.runtime import Engine

        self.loaded.wait(timeout=30)
        if self.store is None:
            raise RuntimeError("the project is not loaded")
        engine = Engine(self.store, env=self.env, memory=self.memory)
        session.engine = engine
        with self.lock:
            engine.preflight(session.entry)  # missing values are reported before anything runs
        return engine

    def _sink(self, session: RunSession) -> Callable[[Any], None]:
        push = self.run_feed.sink(session)

        def sink(event: Any) -> None:
            push(event)
            if session.cancel_requested and event.EVENT == "run.started":
                session.engine.cancel()  # a cancel that came before the run existed
        return sink

    @work(thread=True, group="run", exit_on_error=False)
    def _run_in_thread(self, session: RunSession, sink: Callable[[Any], None]) -> None:
        from workbench.runtime import PreflightError

        try:
            engine = self._engine(session)
            if session.cancel_requested:
                self.post_message(RunEnded(session, None, CANCELLED_EARLY))
                return
            result = asyncio.run(engine.run(session.entry, sink))
        except PreflightError as error:
            self.post_message(RunRefused(session, error.diagnostics))
            return
        except Exception as error:  # noqa: BLE001 - shown in the summary, never fatal
            self.post_message(RunEnded(session, None, describe(error)))
            return
        self.post_message(RunEnded(session, result))

    @work(group="run", exit_on_error=False)
    async def _run_on_loop(self, session: RunSession, sink: Callable[[Any], None]) -> None:
        from workbench.runtime import PreflightError

        try:
            engine = await asyncio.to_thread(self._engine, session)
            result = await engine.run(session.entry, sink)
        except PreflightError as error:
            self.post_message(RunRefused(session, error.diagnostics))
            return
        except Exception as error:  # noqa: BLE001
            self.post_message(RunEnded(session, None, describe(error)))
            return
        self.post_message(RunEnded(session, result))

    # -- the worker's answers ----------------------------------------------------------------
    @guarded
    def on_run_refused(self, message: RunRefused) -> None:
        session = message.session
        session.ended = True
        if self.runs.get(session.entry) is session:
            self.runs.pop(session.entry)
            if session.previous is not None:
                self.runs[session.entry] = session.previous
            elif self.views_ready and self.flow.entry == session.entry:
                self.flow.clear_statuses()  # the "pending" marks of a run that did not start
        self.show_run_status(session.entry, fresh=True)
        errors = [d for d in message.diagnostics if d.severity == "error"]
        missing = [d for d in errors if d.code == "missing-value"]
        self.output.show_summary(Text.assemble(("✗ not run", "bold red"), " · ", (session.entry, "bold"),
                                               (f" · {len(errors)} problem(s)", "red")), "failed")
        if not self.output.written:
            self.output.display = False  # nothing to show but this: the notification says it, with room
        self.refresh_bindings()
        if missing:
            names = [str(locate(d)[0][1]) for d in missing if locate(d)[0]]
            self.notify("Required values are missing: " + ", ".join(names) + ". Set them here (enter edits).",
                        title=f"{session.entry} cannot run", severity="error", timeout=10)
            if names:
                self.show_item("configurables", names[0], focus=True)
            return
        lines = "\n".join(f"✗ {d.message}" for d in errors[:3]) or "the project cannot run"
        self.notify(lines + ("\n… see Problems (p)" if len(errors) > 3 else ""),
                    title=f"{session.entry} cannot run", severity="error", timeout=10)
        self._check()

    @guarded
    def on_run_ended(self, message: RunEnded) -> None:
        session = message.session
        session.ended = True
        session.previous = None  # not needed any more: no chain of old sessions
        self.refresh_bindings()
        if message.error:  # no run.finished event will come: say how it ended here
            self._drain_feed()
            finished: dict[str, Any] = {"event": "run.finished", "status": "failed", "durationMs": None,
                                        "error": {"message": message.error}}
            if message.error == CANCELLED_EARLY:
                finished = {"event": "run.finished", "status": "cancelled", "durationMs": 0}
            session.track(finished)
            self._finish(session)

    def on_unmount(self) -> None:
        """Quitting cancels the runs (recorded as cancelled): their threads must not keep the
        process alive, nor call a sandbox that is being stopped."""
        for session in self.live_runs():
            session.cancel_requested = True
            if session.engine is not None:
                session.engine.cancel()

    # -- cancel, history, toggles ---------------------------------------------------------------
    def _session_to_cancel(self) -> RunSession | None:
        live = self.live_runs()
        selected = self.runs.get(self.selected_entry())
        if selected in live:
            return selected
        return live[0] if len(live) == 1 else None

    @guarded
    def action_cancel_run(self) -> None:
        session = self._session_to_cancel()
        if session is None:
            return
        session.cancel_requested = True
        if session.engine is not None:
            session.engine.cancel()  # thread-safe: the run ends as "cancelled"
        self.notify(f"cancelling {session.entry}…", title="Run", timeout=3)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            # Only while a run goes, and not over a dialog or in a text field: there escape and
            # ctrl+c keep their usual meaning.
            from textual.widgets import Input, TextArea

            return (len(self.screen_stack) == 1 and not isinstance(self.focused, (Input, TextArea))
                    and self._session_to_cancel() is not None)
        return super().check_action(action, parameters)  # type: ignore[misc]

    @guarded
    def action_toggle_http(self) -> None:
        panel = self.output
        panel.set_show_http(not panel.show_http)
        self._show_output()
        self.notify("HTTP exchanges shown" if panel.show_http else "HTTP exchanges hidden", timeout=2)

    def action_toggle_output(self) -> None:
        panel = self.output
        panel.display = not panel.display

    @guarded
    def action_run_history(self) -> None:
        from workbench.tui.screens.run_history import RunHistoryScreen

        self.push_screen(RunHistoryScreen(self.root, self.run_format.duration), self.replay_run)

    def replay_run(self, run_id: str | None) -> None:
        if run_id:
            self._load_replay(run_id)

    @work(thread=True, group="replay", exclusive=True, exit_on_error=False)
    def _load_replay(self, run_id: str) -> None:
        try:
            from workbench.runtime.history import find_run, read_events

            events = read_events(find_run(self.root, run_id))
        except Exception as error:  # noqa: BLE001 - a vanished or unreadable file
            self.post_message(ReplayLoaded(run_id, [], describe(error)))
            return
        self.post_message(ReplayLoaded(run_id, events))

    @guarded
    def on_replay_loaded(self, message: ReplayLoaded) -> None:
        if message.error:
            self.notify(message.error, title="Replay", severity="error", timeout=8)
            return
        first = message.events[0] if message.events else {}
        session = RunSession(str(first.get("entry", "")), replay=message.run_id, ended=True)
        current = self.runs.get(session.entry)
        if current is None or current.ended:
            self.runs[session.entry] = session  # its cards show the replayed statuses
            self.show_run_status(session.entry, fresh=True)
        self._show_output()
        self.output.write([(f"── replay of run {self.run_format.clean(message.run_id)} ──", False)])
        self.run_feed.push_all(session, message.events)
        self._start_draining()

    # -- the output: batches on a timer ------------------------------------------------------------
    def _show_output(self) -> None:
        self.output.display = True

    def _start_draining(self) -> None:
        timer = self.__dict__.get("_drain_timer")
        if timer is None:
            self.__dict__["_drain_timer"] = self.set_interval(DRAIN_SECONDS, self._drain_feed, name="run-output")
        else:
            timer.resume()

    @guarded
    def _drain_feed(self) -> None:
        items = self.run_feed.take(BATCH)
        if not items:
            timer = self.__dict__.get("_drain_timer")
            if timer is not None and not self.live_runs():
                timer.pause()  # idle: no ticks until the next run or replay
            return
        lines: list[tuple[str, bool]] = []
        touched: dict[RunSession, set[str]] = {}
        finished: list[RunSession] = []
        for item in items:
            for line in item.lines:
                lines.append((line, item.http))
            session = item.session
            address = session.track(item.data)
            if address is not None:
                touched.setdefault(session, set()).add(address)
            elif session.finished is item.data:
                finished.append(session)
        self.output.write(lines)
        for session, addresses in touched.items():
            self.show_run_status(session.entry, addresses, session=session)
        for session in finished:
            self._finish(session)

    def _finish(self, session: RunSession) -> None:
        status = str((session.finished or {}).get("status", ""))
        self.output.show_summary(self._summary(session), status)
        self.show_run_status(session.entry, fresh=True, session=session)
        if session.error_address and self._shows(session):
            self.call_after_refresh(self.flow.reveal_step, session.error_address)

    def _summary(self, session: RunSession) -> Text:
        from workbench.tui.widgets.output_panel import summary_text

        error = (session.finished or {}).get("error") or {}
        label = session.labels.get(str(error.get("step")), "") if error else ""
        fmt = self.run_format
        return summary_text(session.entry, session.finished, duration=fmt.duration, step_label=label,
                            clean=fmt.clean, replay=session.replay)

    # -- step cards ----------------------------------------------------------------------------------
    def _shows(self, session: RunSession) -> bool:
        """Whether the flow on screen is this session's entry, and this session is its latest."""
        return (getattr(self, "views_ready", False) and self.runs.get(session.entry) is session
                and self.flow.entry == session.entry and self.current == ("entrypoints", session.entry))

    def show_run_status(self, entry: str, addresses: set[str] | None = None, *, fresh: bool = False,
                        session: RunSession | None = None) -> None:
        """Show a session's statuses on the flow's cards (all of them when `fresh`)."""
        latest = self.runs.get(entry)
        if session is not None and session is not latest:
            return
        if not getattr(self, "views_ready", False) or self.flow.entry != entry:
            return
        flow = self.flow
        if latest is None:
            return  # no run of it here: the flow keeps what it shows
        if fresh:
            flow.clear_statuses()
            addresses = set(latest.statuses) | set(latest.progress)
        for address in addresses or ():
            status = latest.statuses.get(address)
            if status is not None:
                flow.set_status(address, *status)
            progress = latest.progress.get(address)
            if progress is not None:
                flow.set_progress(address, *progress)
        if fresh and latest.error_address and latest.finished:
            flow.set_run_error(latest.error_address, latest.finished.get("error") or {})
