"""The connector palette: a search box over the catalogue, with one card per connector.

Search uses the catalogue's `SearchIndex` with a capped number of hits, so a keystroke stays cheap
with thousands of connectors. Enter picks the highlighted card.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from workbench.tui.widgets.footer import StableFooter

MAX_HITS = 30


def card(spec: Any, width: int = 66) -> Text:
    """name, package label, version, category; then a one-line description."""
    head = Text.assemble((spec.name, "bold"), "  ", (spec.package, "cyan"), " ", (spec.version, "dim"),
                         "  ", (f"[{spec.category}]", "magenta"))
    description = spec.description if len(spec.description) <= width else spec.description[: width - 1] + "…"
    return Text("\n").join([head, Text(description, style="dim")])


class ConnectorPalette(ModalScreen[Any]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="close-palette"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(self, index: Any) -> None:
        super().__init__(classes="modal")
        self.index = index  # workbench.connectors.catalogue.SearchIndex
        self.hits: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog palette-dialog"):
            yield Static("[b]Add Connection[/b]  [dim]type to search · enter to choose · esc to close[/dim]")
            yield Input(placeholder="Search connectors (name, category, operation…)", id="palette-search",
                        compact=True)
            yield OptionList(id="palette-cards")
        yield StableFooter()

    def on_mount(self) -> None:
        self.search("")
        self.query_one("#palette-search", Input).focus()

    def search(self, query: str) -> None:
        self.hits = self.index.search(query, limit=MAX_HITS)
        cards = self.query_one("#palette-cards", OptionList)
        cards.clear_options()
        cards.add_options([Option(card(spec), id=spec.id) for spec in self.hits])
        if self.hits:
            cards.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.choose(self.query_one("#palette-cards", OptionList).highlighted)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.choose(event.option_index)

    def choose(self, position: int | None) -> None:
        if position is not None and 0 <= position < len(self.hits):
            self.dismiss(self.hits[position])

    def action_move(self, delta: int) -> None:
        cards = self.query_one("#palette-cards", OptionList)
        if self.hits:
            current = cards.highlighted or 0
            cards.highlighted = max(0, min(current + delta, len(self.hits) - 1))
