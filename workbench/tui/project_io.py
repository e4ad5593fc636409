"""The app's I/O with the project, in workers: load the store and the connector catalogue, run the
diagnostics, apply edits, and reload when the files change on disk. The work itself is the
`ProjectSession`'s (workbench.project.session); these are WorkbenchApp's handlers for it.

Worker results come back as Messages that carry data (messages.py). An edit's follow-up (`then`)
stays in the coroutine that awaits the edit, never in a message.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

from textual import work

from workbench.tui.errors import describe, guarded
from workbench.tui.issues import Issues
from workbench.tui.messages import (CatalogueLoaded, DiagnosticsReady, LoadFailed, ProjectConnectorsLoaded,
                                   StoreLoaded)


class ProjectIO:
    """WorkbenchApp's project handlers; the state is the app's `project_session`."""

    # Its own state, made by `init_project_io` (WorkbenchApp.__init__ calls it).
    specs: dict[str, Any] | None  # the whole catalogue, once loaded: connector id -> ConnectorSpec
    project_specs: dict[str, Any]  # the connectors the project uses, loaded first (by id)
    search_index: Any  # the palette's, built with the catalogue
    catalogue_error: str
    _after_catalogue: list[Callable[[], Any]]  # waiting for the catalogue
    _after_load: list[Callable[[], Any]]  # waiting for the store
    _loaded_once: bool
    _disk_warned: bool  # the "changed on disk" warning was shown for the dirty form
    _announce_check: bool  # the next diagnostics were asked for by the user (notify them)
    # What the app provides (app.py).
    project_session: Any  # workbench.project.session.ProjectSession
    project_view: Any  # workbench.project.view.ProjectView
    issues: Issues
    root: Any  # Path
    started: float
    connection_form: Any
    problems: Any  # ProblemsList
    refresh_views: Callable[[], None]

    def init_project_io(self) -> None:
        self.specs = None
        self.project_specs = {}
        self.search_index = None
        self.catalogue_error = ""
        self._after_catalogue = []
        self._after_load = []
        self._loaded_once = False
        self._disk_warned = False
        self._announce_check = False

    # -- workers -----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load_store(self) -> None:
        try:
            store = self.project_session.load()
        except Exception as error:  # noqa: BLE001 - shown, never fatal
            self.post_message(LoadFailed(describe(error)))
            return
        if self.specs is None:  # the flow's labels come with the store (then the whole catalogue)
            self.post_message(ProjectConnectorsLoaded(self._project_connectors()))
        self.post_message(StoreLoaded(store))

    @work(thread=True, exclusive=True, group="reload", exit_on_error=False)
    def _reload_store(self) -> None:
        try:
            self.project_session.reload()
        except Exception as error:  # noqa: BLE001
            self.post_message(LoadFailed(describe(error)))
            return
        self.post_message(StoreLoaded(self.project_session.store))

    def _project_connectors(self) -> dict[str, Any]:
        # The connectors the project uses, each loaded by id, so that the flow's labels never
        # wait for the discovery of every installed one (the palette's catalogue).
        from workbench.connectors import catalogue

        specs = {}
        for connector_id in sorted({str(decl.get("connector")) for decl in self.project_view.connections.values()}):
            try:
                spec = catalogue.find(connector_id)  # an unknown id: `check` says so, with close ones
            except Exception:  # noqa: BLE001 - a broken connector: `check` says why
                spec = None
            if spec is not None:
                specs[connector_id] = spec
        return specs

    @work(thread=True, exclusive=True, group="catalogue", exit_on_error=False)
    def _load_catalogue(self) -> None:
        try:
            from workbench.connectors import catalogue

            specs = catalogue.all_specs()
            self.search_index = catalogue.index_for(specs)
        except Exception as error:  # noqa: BLE001 - a broken connector must not take the app down
            self.post_message(CatalogueLoaded([], describe(error)))
            return
        self.post_message(CatalogueLoaded(specs))

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def _check(self) -> None:
        if not self.project_session.loaded:
            return
        try:
            diagnostics = self.project_session.check()
        except Exception as error:  # noqa: BLE001
            self.post_message(LoadFailed(f"check failed: {describe(error)}"))
            return
        self.post_message(DiagnosticsReady(diagnostics))

    def apply_edit(self, what: str, change: Callable[[Any], Any], *, then: Callable[[Any], Any] | None = None,
                   on_error: Callable[[str], Any] | None = None) -> None:
        """Run `change(store)` in a thread; then refresh the views and call `then(result)`.
        Errors (EditError has a clear message) are notified, and passed to `on_error`."""
        self.run_worker(self._edit(what, change, then, on_error), group="edit", exit_on_error=False)

    async def _edit(self, what: str, change: Callable[[Any], Any], then, on_error) -> None:
        try:
            result = await asyncio.to_thread(self.project_session.edit, change)
        except Exception as error:  # noqa: BLE001 - EditError, ProjectFileError, OSError...
            message = describe(error)
            self.notify(message, title=f"Could not {what}", severity="error", timeout=8)
            # The edit re-read the files first: the views show what another window wrote (a dirty
            # form is kept), and so does the next form or delete's base.
            self.refresh_views()
            if on_error is not None:
                on_error(message)
            return
        self._edited(result, then)

    @guarded
    def _edited(self, result: Any, then: Callable[[Any], Any] | None) -> None:
        self.refresh_views()
        self._check()
        if then is not None:
            then(result)

    # -- worker results ---------------------------------------------------------------------------
    def on_store_loaded(self, message: StoreLoaded) -> None:
        first_load = not self._loaded_once
        self._loaded_once = True
        self._disk_warned = False
        self.refresh_views()
        if first_load:
            self.log.info(f"project loaded in {(time.perf_counter() - self.started) * 1000:.0f} ms")
            if self.specs is None:  # the palette's catalogue, once the flow and its labels are on screen
                self.call_after_refresh(self._load_catalogue)
        pending, self._after_load = self._after_load, []
        for callback in pending:
            callback()
        self._check()

    def on_load_failed(self, message: LoadFailed) -> None:
        self.notify(message.error, title="Project", severity="error", timeout=10)

    def on_project_connectors_loaded(self, message: ProjectConnectorsLoaded) -> None:
        self.project_specs = message.specs  # shown by the StoreLoaded that follows

    def op_label(self, call: str) -> str:
        """A step's operation label ("Create User"): the catalogue's, or while it loads the
        project's connectors'; "" when not known (yet)."""
        connection, _, operation = call.partition(".")
        decl = self.project_view.connections.get(connection, {})
        spec = (self.specs or self.project_specs).get(str(decl.get("connector")))
        op = spec.operations.get(operation) if spec else None
        return op.label if op else ""

    @guarded
    def on_catalogue_loaded(self, message: CatalogueLoaded) -> None:
        self.specs = {spec.id: spec for spec in message.specs}
        self.catalogue_error = message.error
        if message.error:
            self.notify(f"connectors could not be loaded: {message.error}", severity="error", timeout=10)
        self.refresh_views()
        pending, self._after_catalogue = self._after_catalogue, []
        for callback in pending:
            callback()
        # What start-up built (widgets, models, the catalogue) lives as long as the app: out of
        # the collector's way, or each full collection scans it all and a key waits 100 ms.
        gc.freeze()

    def on_diagnostics_ready(self, message: DiagnosticsReady) -> None:
        self.issues = Issues.index(message.diagnostics)
        self.problems.show(message.diagnostics)
        self.refresh_views()
        if self._announce_check:
            self._announce_check = False
            errors, warnings = self.issues.counts
            severity = "error" if errors else "warning" if warnings else "information"
            self.notify(f"{errors} error(s), {warnings} warning(s)" if errors or warnings else "no problems",
                        title="Check", severity=severity, timeout=4)

    # -- files changed on disk ---------------------------------------------------------------------
    def _poll_disk(self) -> None:
        if not self.project_session.changed_on_disk():
            return
        dirty = self.dirty_forms()
        if dirty:
            if not self._disk_warned:
                self._disk_warned = True
                self.notify(f"workbench.toml or Config.toml changed on disk. Your unsaved {dirty[0]} was kept: "
                            "saving it applies your changes on top of the file; cancel it to reload.",
                            title="Changed on disk", severity="warning", timeout=10)
            return
        self._reload_store()

    def dirty_forms(self) -> list[str]:
        """Forms with unsaved changes that a reload would overwrite."""
        out = []
        form = self.connection_form
        if form is not None and form.is_dirty:
            out.append("connection form")
        for screen in self.screen_stack:
            if getattr(screen, "is_dirty", False):
                out.append("form")
        return out

    # -- new project ---------------------------------------------------------------------------------
    @guarded
    def _create_project(self, answer: tuple[str, str] | None) -> None:
        if not answer:
            return
        from workbench.project.scaffold import scaffold
        from workbench.project.view import PROJECT_FILE

        name, description = answer
        scaffold(self.root, name=name, description=description)
        self.project_view = self.project_session.view()
        self.refresh_views()
        self._load_store()
        self.notify(f"created {PROJECT_FILE}", timeout=3)
