"""The centre's connection pane: one connection form at a time, or a note in its place.

It keeps the form it shows, so nobody looks it up by a fixed id: a form being removed and its
replacement may be in the DOM together for a moment (removal is asynchronous).
"""

from __future__ import annotations

from textual.containers import Container
from textual.widget import Widget
from textual.widgets import Static

from workbench.tui.widgets.connection_form import ConnectionForm


class ConnectionView(Container):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.form: ConnectionForm | None = None

    def show_form(self, form: ConnectionForm, focus: bool = False) -> None:
        self._replace(form)
        if focus:
            self.call_after_refresh(form.focus_first)

    def show_note(self, text: str, classes: str = "placeholder") -> None:
        self._replace(Static(text, classes=classes))

    def clear(self) -> None:
        self._replace(None)

    def _replace(self, widget: Widget | None) -> None:
        self.form = widget if isinstance(widget, ConnectionForm) else None
        self.remove_children()
        if widget is not None:
            self.mount(widget)
