"""The overview shown when no single item is selected: what the project holds, and the keys."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.project.view import ProjectView

KEYS = (
    ("c", "add a connection (connector palette)"),
    ("a", "add an entry point (automation)"),
    ("g", "configurations"),
    ("i / +", "insert a step in a flow"),
    ("k", "check the project"),
    ("r", "run the selected automation"),
    ("p", "show or hide the problems"),
    ("ctrl+p", "all commands"),
)


class Overview(VerticalScroll, can_focus=False):
    def compose(self):
        yield Static(id="overview-text")

    def show(self, view: ProjectView, section: str = "") -> None:
        text = Text.assemble((view.name, "bold"), "\n")
        if view.description:
            text.append(view.description + "\n", style="dim")
        text.append("\n")
        counts = ((len(view.connections), "connection"), (len(view.entrypoints), "entry point"),
                  (len(view.configurables), "configurable"))
        text.append("  ·  ".join(f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts) + "\n\n")
        if section == "connections":
            for name, decl in view.connections.items():
                text.append(f"  {name}", style="bold")
                text.append(f"  {decl.get('connector', '?')}\n", style="dim")
            text.append("\n")
        elif section == "entrypoints":
            for name, entry in view.entrypoints.items():
                text.append(f"  {name}", style="bold")
                text.append(f"  {entry.get('schedule') or 'on demand'}\n", style="dim")
            text.append("\n")
        for error in view.errors:
            text.append(f"✗ {error}\n", style="red")
        for key, what in KEYS:
            text.append(f"  {key:<8}", style="bold cyan")
            text.append(f"{what}\n")
        self.query_one("#overview-text", Static).update(text)
