"""Looking back at runs from the app: the run history (h), a replay of a past run in the Output
panel, and the step inspector (enter / v on a card that ran). The replay reads the history in a
thread worker and feeds its events to the RunFeed, as a live run's sink does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work

from workbench.runtime.controller import RunController, RunSession
from workbench.tui.errors import describe, guarded
from workbench.tui.messages import ReplayLoaded
from workbench.tui.run_feed import RunFeed, RunFormat

if TYPE_CHECKING:
    from workbench.tui.widgets.output_panel import OutputPanel


class ReplayActions:
    """The history, replay and inspector handlers of WorkbenchApp. What they use is the app's."""

    run_format: RunFormat
    run_controller: RunController
    run_feed: RunFeed
    runs: dict[str, RunSession]  # RunActions
    output: OutputPanel  # RunActions
    show_run_status: Callable[..., None]  # RunActions
    _show_output: Callable[[], None]  # RunActions
    _start_draining: Callable[[], None]  # RunActions
    project_view: Any  # workbench.project.view.ProjectView
    root: Any  # Path

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
            session, events = self.run_controller.replay(run_id)
        except Exception as error:  # noqa: BLE001 - a vanished or unreadable file
            self.post_message(ReplayLoaded(run_id, None, [], describe(error)))
            return
        self.post_message(ReplayLoaded(run_id, session, events))

    @guarded
    def on_replay_loaded(self, message: ReplayLoaded) -> None:
        if message.error:
            self.notify(message.error, title="Replay", severity="error", timeout=8)
            return
        session = message.session
        if self.runs.get(session.entry) is session:  # its cards show the replayed statuses
            self.show_run_status(session.entry, fresh=True)
        self._show_output()
        self.output.write([(f"── replay of run {self.run_format.clean(message.run_id)} ──", False)])
        self.run_feed.push_all(session, message.events)
        self._start_draining()

    # -- the step inspector ------------------------------------------------------------------------
    @guarded
    def on_inspect_step_requested(self, message: Any) -> None:
        """What a step did in the entry's latest run or replay; `e` in there edits the step."""
        from workbench.tui.messages import EditStepRequested
        from workbench.tui.screens.step_inspector import StepInspectorScreen

        entry, address = message.entry, message.address
        session = self.runs.get(entry)
        if session is None or session.inspector.step(address) is None:
            self.notify("this step has not run: r runs the automation, h replays a past run", title="Inspector",
                        severity="warning", timeout=4)
            return
        view = self.project_view

        def var_of(at: str) -> str:  # the variable a step's result is in: its `${...}` paths start there
            step = view.step_at(entry, at) or {}
            return str(step.get("result") or step.get("set") or "")

        def then(choice: str | None) -> None:
            if choice == "edit":
                self.post_message(EditStepRequested(entry, address))
        self.push_screen(StepInspectorScreen(session.inspector, address, var_of=var_of,
                                             duration=self.run_format.duration), then)
