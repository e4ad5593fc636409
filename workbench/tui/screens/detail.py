"""The whole text of lines that the screen cuts with `…`: output lines, problems. Wrapped, and
scrollable; esc, enter or d closes it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from workbench.tui.widgets.footer import StableFooter


class DetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,d", "dismiss(None)", "Close", id="close-details")]

    def __init__(self, title: str, text: str | Text) -> None:
        super().__init__(classes="modal")
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog detail-dialog"):
            yield Static(Text(self.title_text, style="bold"), classes="form-title")
            with VerticalScroll(classes="detail-body"):
                yield Static(self.text, id="detail-text")
        yield StableFooter()

    def on_mount(self) -> None:
        self.query_one(".detail-body").focus()
