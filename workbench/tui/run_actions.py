"""Running automations from the app and watching them: the run handlers of WorkbenchApp.

A run is a `RunSession` of the app's `RunController` (workbench.runtime.controller). The engine runs in a thread worker with its own event loop, so its
work (HTTP, history writes) never holds the UI loop; its sink formats each event and appends it
to the RunFeed's deque. A timer takes the events in batches: one `write_lines` for the Output
panel and one status update per touched step card. Replays of past runs go the same way.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work

from workbench.runtime.controller import CANCELLED_EARLY, AlreadyRunning, CancelledEarly, RunController, RunSession
from workbench.tui.errors import describe, guarded
from workbench.tui.issues import locate
from workbench.tui.messages import RunEnded, RunRefused
from workbench.tui.run_feed import RunFeed, RunFormat

if TYPE_CHECKING:
    from workbench.tui.widgets.output_panel import OutputPanel

DRAIN_SECONDS = 0.05  # how often the Output panel takes new lines
BATCH = 2000  # events handled per tick at most
SLICE = 100  # taken at a time, until the tick's time budget is spent
TICK_BUDGET = 0.008  # seconds of UI time per tick


class RunActions:
    """The run handlers of WorkbenchApp. The state is the app's, declared here and made in its
    __init__: the RunController (sessions, engines, history) and the RunFeed (events to lines)."""

    run_format: RunFormat = RunFormat()
    run_controller: RunController
    run_feed: RunFeed
    drain_timer: Any
    _drain_again: bool = False
    # What the app provides (app.py, project_io.py).
    project_view: Any  # workbench.project.view.ProjectView
    root: Any  # Path
    current: tuple[str, str]
    flow: Any  # FlowView
    views_ready: bool
    _check: Callable[[], Any]
    form_open: Callable[[], bool]
    show_item: Callable[..., None]

    @property
    def runs(self) -> dict[str, RunSession]:
        """The latest session of each entry point (live, ended, or a replay)."""
        return self.run_controller.runs

    @property
    def output(self) -> OutputPanel:
        return self.query_one("#output-panel")  # type: ignore[return-value]

    def live_runs(self) -> list[RunSession]:
        return self.run_controller.live()

    # -- starting ------------------------------------------------------------------------------
    def selected_entry(self) -> str:
        section, name = self.current
        if section == "entrypoints" and name:
            return name
        entries = list(self.project_view.entrypoints)
        return entries[0] if len(entries) == 1 else ""

    @guarded
    def action_run_entry(self, entry: str = "") -> None:
        """Run an automation (the selected one by default) and watch it in the Output panel."""
        entry = entry or self.selected_entry()
        if not entry:
            self.notify("select an automation to run", severity="warning")
            return
        self.start_run(entry)

    @guarded
    def action_resume_run(self) -> None:
        """Continue the selected automation's last run, when it failed or was cancelled."""
        entry = self.selected_entry()
        run_id = self.run_controller.resumable(entry) if entry else ""
        if not run_id:
            self.notify("nothing to resume: the last run of this automation did not fail", severity="warning")
            return
        self.start_run(entry, resume=run_id)

    def start_run(self, entry: str, *, resume: str = "", plan: bool = False, force: bool = False) -> None:
        """Run an entry point; `plan`: sync steps plan only and nothing is written (the Plan screen
        shows their plans when it ends); `force`: sync steps apply a plan over their maxChanges."""
        from workbench.project.view import step_kind

        view = self.project_view
        addresses = [str(a) for a in view.addresses(entry)]
        sync_steps = [a for a in addresses if step_kind(view.step_at(entry, a)) == "sync"] if plan else []
        try:
            session = self.run_controller.begin(entry, addresses, resume=resume, plan=plan, force=force,
                                                sync_steps=sync_steps)
        except AlreadyRunning as error:
            self.notify(str(error), title="Run", severity="warning", timeout=4)
            return
        # The engine's thread holds the GIL in 5 ms slices by default: keys would wait 100 ms and
        # more behind a busy foreach. 1 ms slices keep the UI thread answering while runs go.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        self._show_output()
        self.output.show_summary(self._summary(session), "running")
        self.show_run_status(entry, fresh=True)
        self._start_draining()
        self._run_in_thread(session, self.run_feed.sink(session))  # the sink made here: one feed for all
        self.refresh_bindings()

    @work(thread=True, group="run", exit_on_error=False)
    def _run_in_thread(self, session: RunSession, sink: Callable[[Any], None]) -> None:
        from workbench.runtime import PreflightError, ResumeError

        try:
            result = self.run_controller.execute(session, sink)
        except PreflightError as error:
            self.post_message(RunRefused(session, error.diagnostics))
            return
        except ResumeError as error:  # the steps it would skip changed: said, and nothing ran
            self.post_message(RunEnded(session, None, str(error)))
            return
        except CancelledEarly:
            self.post_message(RunEnded(session, None, CANCELLED_EARLY))
            return
        except Exception as error:  # noqa: BLE001 - shown in the summary, never fatal
            self.post_message(RunEnded(session, None, describe(error)))
            return
        self.post_message(RunEnded(session, result))

    # -- the worker's answers ----------------------------------------------------------------
    @guarded
    def on_run_refused(self, message: RunRefused) -> None:
        session = message.session
        if self.run_controller.refused(session) and self.views_ready and self.flow.entry == session.entry:
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
        self.run_controller.ended(session)
        self.refresh_bindings()
        problem = getattr(message.result, "history_error", None)
        if problem:  # the run went on, but will not be in the history
            self.notify(problem, title="Run history", severity="warning", timeout=8)
        if message.error:  # no run.finished event will come: say how it ended here
            self._drain_feed()
            finished: dict[str, Any] = {"event": "run.finished", "status": "failed", "durationMs": None,
                                        "error": {"message": message.error}}
            if message.error == CANCELLED_EARLY:
                finished = {"event": "run.finished", "status": "cancelled", "durationMs": 0}
            session.track(finished)
            self._finish(session)
        elif session.plan and session.finished is not None:
            self._plan_ended(session)  # its run.finished came first

    def on_unmount(self) -> None:
        """Quitting cancels the runs (recorded as cancelled): their threads must not keep the
        process alive, nor call a sandbox that is being stopped."""
        self.run_controller.cancel_all()

    # -- cancel, history, toggles ---------------------------------------------------------------
    def _session_to_cancel(self) -> RunSession | None:
        return self.run_controller.to_cancel(self.selected_entry())

    @guarded
    def action_cancel_run(self) -> None:
        session = self._session_to_cancel()
        if session is None:
            return
        self.run_controller.cancel(session)
        self.notify(f"cancelling {session.entry}…", title="Run", timeout=3)

    def selected_service(self) -> str:
        """The selected entry point when it is a service, else ""."""
        entry = self.selected_entry()  # type: ignore[attr-defined]
        data = self.project_view.entrypoints.get(entry) if entry else None  # type: ignore[attr-defined]
        return entry if isinstance(data, dict) and data.get("kind") == "service" else ""

    @guarded
    def action_try_it(self) -> None:
        """Try it: the selected service, served in-process while the panel is open."""
        from workbench.tui.screens.try_it import TryItScreen

        entry = self.selected_service()
        if entry:
            self.push_screen(TryItScreen(entry, self.project_view.entrypoints[entry]))  # type: ignore[attr-defined]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "try_it" and not self.selected_service():
            return False  # shown for a service only
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

    # -- the output: batches on a timer ------------------------------------------------------------
    def _show_output(self) -> None:
        self.output.display = True

    def _start_draining(self) -> None:
        if self.drain_timer is None:
            self.drain_timer = self.set_interval(DRAIN_SECONDS, self._drain_feed, name="run-output")
        else:
            self.drain_timer.resume()

    @guarded
    def _drain_feed(self) -> None:
        # A time budget, not a count: a busy run must not hold the keys up for long. What is
        # left is taken right after the keys queued meanwhile (call_later queues behind them).
        deadline = time.perf_counter() + TICK_BUDGET
        items = self.run_feed.take(SLICE)
        while len(self.run_feed) and time.perf_counter() < deadline and len(items) < BATCH:
            items += self.run_feed.take(SLICE)
        if len(self.run_feed) and not self._drain_again:
            self._drain_again = True
            self.call_later(self._drain_more)
        if not items:
            if self.drain_timer is not None and not self.live_runs():
                self.drain_timer.pause()  # idle: no ticks until the next run or replay
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

    def _drain_more(self) -> None:
        self._drain_again = False
        self._drain_feed()

    def _finish(self, session: RunSession) -> None:
        status = str((session.finished or {}).get("status", ""))
        self.output.show_summary(self._summary(session), status)
        self.show_run_status(session.entry, fresh=True, session=session)
        if session.error_address and self._shows(session):
            self.call_after_refresh(self.flow.reveal_step, session.error_address)
        if session.plan and session.ended:
            self._plan_ended(session)  # its worker's RunEnded came first

    # -- plans -------------------------------------------------------------------------------------
    @guarded
    def action_plan_run(self) -> None:
        """Run the selected automation as a plan (`workbench run --plan`), then show the plans."""
        entry = self.selected_entry()  # type: ignore[attr-defined]
        if not entry:
            self.notify("select an automation to plan", severity="warning")
            return
        self.start_run(entry, plan=True)

    def _plan_ended(self, session: RunSession) -> None:
        """A plan run has ended, events and worker both: the Plan screen, whose `a` / `F` apply."""
        from workbench.tui.screens.plan_screen import PlanScreen, plan_sections

        status = (session.finished or {}).get("status")
        if status == "cancelled" or self.runs.get(session.entry) is not session:
            return
        if self.form_open():  # type: ignore[attr-defined]  # a form or a dialog is not taken from the person
            self.notify("its diff is in the output (P plans again)", title=f"{session.entry} planned", timeout=6)
            return
        entry = session.entry

        def apply(choice: str | None) -> None:
            if choice:
                self.start_run(entry, force=choice == "force")
        self.push_screen(PlanScreen(entry, plan_sections(session), session.finished), apply)

    def _summary(self, session: RunSession) -> Text:
        from workbench.tui.widgets.output_panel import summary_text

        error = (session.finished or {}).get("error") or {}
        label = session.labels.get(str(error.get("step")), "") if error else ""
        fmt = self.run_format
        resumable = not session.replay and self.run_controller.resumable(session.entry) == session.run_id != ""
        return summary_text(session.entry, session.finished, duration=fmt.duration, step_label=label,
                            clean=fmt.clean, replay=session.replay, resumable=resumable)

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
