"""Shown when DIR holds no project: offer to create one (workbench.project.scaffold)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input

from workbench.tui.errors import guarded
from workbench.tui.screens.form_base import FormScreen, labelled, show_hint


class CreateProjectScreen(FormScreen):
    SAVE_LABEL = "Create project"

    def __init__(self, shown_path: str, default_name: str) -> None:
        super().__init__()
        self.shown_path = shown_path
        self.default_name = default_name

    def title_text(self) -> Text:
        return Text.assemble(("No project here", "bold"),
                             (f"\nThere is no workbench.toml in {self.shown_path}. Create a project?", "dim"))

    def form_fields(self):
        yield labelled("Integration name", Input(self.default_name, id="project-name", compact=True), required=True)
        yield labelled("Description", Input(id="project-description", compact=True), "optional")

    def action_cancel(self) -> None:
        self.app.exit(return_code=0)

    @guarded
    def save(self) -> None:
        name_input = self.query_one("#project-name", Input)
        name = name_input.value.strip()
        if not name:
            show_hint(name_input, "a name is required")
            return
        description = self.query_one("#project-description", Input).value.strip()
        self.dismiss((name, description))
