"""The app's connection handlers: the connection form in the centre, a new connection from the
palette, and discarding a form's changes (mixed into WorkbenchApp)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import ContentSwitcher

from workbench.tui.errors import guarded


class ConnectionActions:
    # What the app provides (app.py, project_io.py).
    project_view: Any  # workbench.project.view.ProjectView
    specs: dict[str, Any] | None
    search_index: Any
    catalogue_error: str
    store: Any  # ProjectStore | None
    views_ready: bool
    current: tuple[str, str]
    tree: Any  # ProjectTree
    _after_catalogue: list[Callable[[], Any]]
    _show: Callable[..., None]
    _load_catalogue: Callable[[], Any]

    @property
    def connection_view(self):
        return self.query_one("#connection-view")

    @property
    def connection_form(self):
        return self.connection_view.form if self.views_ready else None

    def _show_connection(self, name: str, focus: bool, *, force: bool = False) -> None:
        view = self.project_view
        shown = self.connection_view.show_connection(name, view.connections.get(name, {}), self.specs,
                                                     view, focus=focus, force=force)
        if not shown and self._reshow not in self._after_catalogue:
            self._after_catalogue.append(self._reshow)  # the form comes with the catalogue

    def _reshow(self) -> None:
        self._show(*self.current, focus=False, force=True)

    def new_connection(self, spec: Any) -> None:
        """After the palette: an empty form for this connector in the centre."""
        if spec is None:
            return
        self.connection_view.new_form(spec, self.project_view)
        self.current = ("connections", "<new>")
        self.query_one("#view", ContentSwitcher).current = "connection-view"

    def discard_connection_form(self, form: Any) -> None:
        def discard() -> None:
            target = ("connections", form.original) if form.original else ("", "")
            self.connection_view.clear()  # its drafts (configurables made in it) go with it
            self._show(*target, focus=False, force=True)
            self.tree.focus()

        if form.is_dirty:  # new or not: every form with changes asks
            self._confirm_discard(discard)
        else:
            discard()

    def _confirm_discard(self, then: Callable[[], Any]) -> None:
        from workbench.tui.screens.confirm import ConfirmScreen

        self.push_screen(ConfirmScreen("Discard the unsaved changes of this form?", yes="Discard", no="Keep"),
                         lambda yes: then() if yes else None)

    @guarded
    def action_add_connection(self) -> None:
        if self.search_index is None:
            if self.catalogue_error:
                self.notify(f"connectors could not be loaded: {self.catalogue_error}", severity="error")
                return
            self._after_catalogue.append(self.action_add_connection)
            if self.specs is None and self.store is not None:
                self._load_catalogue()
            return
        from workbench.tui.screens.palette import ConnectorPalette

        self.push_screen(ConnectorPalette(self.search_index), self.new_connection)

