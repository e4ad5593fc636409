"""The problems list: a one-line summary of the diagnostics, unfolding into a list (`p`)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from workbench.tui.issues import MARKS
from workbench.tui.messages import ProblemChosen


class ProblemsList(Vertical):
    BINDINGS = [
        Binding("d", "details", "Details", id="problem-details"),
        Binding("escape", "app.focus_tree", "Tree", show=False, id="problems-to-tree"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.diagnostics: list[Any] = []
        self.checked = False

    def compose(self) -> ComposeResult:
        yield Static(Text("checking…", style="dim"), id="problems-summary")
        options = OptionList(id="problems-options")
        options.display = False
        yield options

    @property
    def expanded(self) -> bool:
        return self.query_one(OptionList).display

    def show(self, diagnostics: list[Any]) -> None:
        self.diagnostics, self.checked = list(diagnostics), True
        errors = sum(d.severity == "error" for d in diagnostics)
        warnings = len(diagnostics) - errors
        if not diagnostics:
            summary = Text("✓ no problems", style="green")
        else:
            summary = Text.assemble(
                (f"{MARKS['error']} {errors} error{'s' if errors != 1 else ''}", "bold red" if errors else "dim"),
                "  ",
                (f"{MARKS['warning']} {warnings} warning{'s' if warnings != 1 else ''}",
                 "yellow" if warnings else "dim"),
                ("   p: " + ("hide" if self.expanded else "show"), "dim"),
            )
        self.query_one("#problems-summary", Static).update(summary)
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([Option(self._line(d), id=str(i)) for i, d in enumerate(diagnostics)])
        if highlighted is not None and diagnostics:
            options.highlighted = min(highlighted, len(diagnostics) - 1)
        if not diagnostics and self.expanded:
            self.toggle(False)

    def _line(self, diag: Any) -> Text:
        style = "red" if diag.severity == "error" else "yellow"
        where = diag.key or diag.file + (f":{diag.line}" if diag.line else "")
        text = Text.assemble((MARKS[diag.severity] + " ", style), diag.message, (f"  {where}", "dim"))
        text.no_wrap, text.overflow = True, "ellipsis"
        return text

    def toggle(self, show: bool | None = None) -> bool:
        options = self.query_one(OptionList)
        options.display = (not options.display) if show is None else show
        self.set_class(options.display, "-expanded")
        if self.checked:
            self.show(self.diagnostics)
        if options.display and self.diagnostics:
            options.focus()
            if options.highlighted is None:
                options.highlighted = 0
        return options.display

    def action_details(self) -> None:
        """The highlighted problem, whole: message, where, and hints (the list cuts it with …)."""
        from workbench.tui.screens.detail import DetailScreen

        index = self.query_one(OptionList).highlighted
        if index is None or index >= len(self.diagnostics):
            return
        diag = self.diagnostics[index]
        text = Text.assemble((MARKS[diag.severity] + " ", "red" if diag.severity == "error" else "yellow"),
                             diag.message, "\n\n", (diag.location(), "dim"), f"\ncode: {diag.code}")
        for hint in diag.hints:
            text.append(f"\nhint: {hint}")
        self.app.push_screen(DetailScreen("Problem", text))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        if index < len(self.diagnostics):
            self.post_message(ProblemChosen(self.diagnostics[index]))
