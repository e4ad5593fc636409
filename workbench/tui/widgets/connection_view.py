"""The centre's connection pane: one connection form at a time, or a note in its place.

It keeps the form it shows, so nobody looks it up by a fixed id: a form being removed and its
replacement may be in the DOM together for a moment (removal is asynchronous).
"""

from __future__ import annotations

from typing import Any

from textual.containers import Container
from textual.widget import Widget
from textual.widgets import Static

from workbench.tui.widgets.connection_form import ConnectionForm


class ConnectionView(Container):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.form: ConnectionForm | None = None

    def show_connection(self, name: str, decl: dict[str, Any], specs: dict[str, Any] | None, view: Any, *,
                        focus: bool = False, force: bool = False) -> bool:
        """The form of connection `name` (kept when it is up to date or edited, unless `force`).
        False while the connector catalogue is loading: call again when it has."""
        form = self.form
        if form is not None and form.original == name and not force:
            fresh = {k: v for k, v in decl.items() if k != "connector"}
            if form.values == fresh or form.is_dirty:  # up to date, or keep the person's edits
                if focus:
                    form.focus_first()
                return True
        if specs is None:
            self.show_note("loading connectors…")
            return False
        spec = specs.get(str(decl.get("connector")))
        if spec is None:
            self.show_note(f"✗ unknown connector {decl.get('connector')!r} for {name}. Fix it in workbench.toml.",
                           classes="placeholder error")
            return True
        self.show_form(self._form(spec, name, decl, view), focus)
        return True

    def new_form(self, spec: Any, view: Any) -> None:
        """An empty form for a new connection of this connector."""
        self.show_form(self._form(spec, None, {}, view), focus=True)

    @staticmethod
    def _form(spec: Any, name: str | None, decl: dict[str, Any], view: Any) -> ConnectionForm:
        return ConnectionForm(spec, name, decl, taken=set(view.connections), configurables=tuple(view.configurables))

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
