"""Run history: past runs from `.workbench/runs`, newest first. Enter replays one into the Output
panel (the screen returns its id); escape closes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from workbench.tui.errors import describe
from workbench.tui.messages import RunsListed
from workbench.tui.widgets.footer import StableFooter
from workbench.tui.widgets.output_panel import STATUS_MARKS


def run_row(run: Any, duration: Any) -> Text:
    mark, style = STATUS_MARKS.get(run.status, ("?", "dim"))
    text = Text.assemble((f"{mark} {run.status:<9}", style), " ", (run.entry, "bold"), "  ",
                         (_local_time(run.started), ""), "  ",
                         (duration(run.duration_ms) if run.duration_ms is not None else "-", "dim"), "  ",
                         (run.id, "dim"))
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _local_time(iso_text: str) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso_text


class RunHistoryScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="close-history")]

    def __init__(self, root: Path, duration: Any) -> None:
        super().__init__(classes="modal")
        self.root = root
        self.duration = duration
        self.runs: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog history-dialog"):
            yield Static("[b]Run history[/b]  [dim]enter: replay into the output · esc: close[/dim]")
            yield OptionList(id="history-runs")
        yield StableFooter()

    def on_mount(self) -> None:
        self.query_one("#history-runs", OptionList).focus()
        self._list_runs()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _list_runs(self) -> None:
        try:
            from workbench.runtime.history import list_runs

            self.post_message(RunsListed(list(reversed(list_runs(self.root)))))
        except Exception as error:  # noqa: BLE001 - an unreadable folder is shown, not fatal
            self.post_message(RunsListed([], describe(error)))

    def on_runs_listed(self, message: RunsListed) -> None:
        self.runs = message.runs
        options = self.query_one("#history-runs", OptionList)
        options.clear_options()
        if message.error:
            options.add_option(Option(Text(f"✗ {message.error}", style="red"), disabled=True))
        elif not self.runs:
            options.add_option(Option(Text("no runs yet: press r to run the automation", style="dim"),
                                      disabled=True))
        else:
            options.add_options([Option(run_row(run, self.duration), id=run.id) for run in self.runs])
            options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss(event.option.id)
