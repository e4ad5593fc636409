"""The hint line under a form field: check's verdict, a configurable it is bound to, or nothing."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class FieldHint(Static):
    """Redrawn only when what it says changes: a form checks its fields on every key, and an
    update lays the form out again."""

    def __init__(self) -> None:
        super().__init__(classes="field-hint")
        self.shown: tuple = ("", "", [])
        self.display = False

    def show(self, text: Text) -> None:
        shown = (text.plain, str(text.style), text.spans)  # Text's == leaves out its style
        if shown != self.shown:
            self.shown = shown
            self.update(text)
            self.display = bool(text.plain)
