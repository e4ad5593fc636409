"""The overview shown when no single item is selected: what the project holds, and the keys."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.tui.outline import Outline

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

    def show(self, outline: Outline, section: str = "") -> None:
        text = Text.assemble((outline.name, "bold"), "\n")
        if outline.description:
            text.append(outline.description + "\n", style="dim")
        text.append("\n")
        counts = ((len(outline.connections), "connection"), (len(outline.entrypoints), "entry point"),
                  (len(outline.configurables), "configurable"))
        text.append("  ·  ".join(f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts) + "\n\n")
        if section == "connections":
            for name, decl in outline.connections.items():
                text.append(f"  {name}", style="bold")
                text.append(f"  {decl.get('connector', '?')}\n", style="dim")
            text.append("\n")
        elif section == "entrypoints":
            for name, entry in outline.entrypoints.items():
                text.append(f"  {name}", style="bold")
                text.append(f"  {entry.get('schedule') or 'on demand'}\n", style="dim")
            text.append("\n")
        for error in outline.errors:
            text.append(f"✗ {error}\n", style="red")
        for key, what in KEYS:
            text.append(f"  {key:<8}", style="bold cyan")
            text.append(f"{what}\n")
        self.query_one("#overview-text", Static).update(text)
