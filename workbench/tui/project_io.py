"""The app's I/O with the project, in workers: load the store and the connector catalogue, run the
diagnostics, apply edits through the ProjectStore API, and reload when the files change on disk.

A mixin of WorkbenchApp: results come back as messages (messages.py) handled here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual import work

from workbench.tui.errors import describe, guarded
from workbench.tui.issues import Issues
from workbench.tui.messages import (
    CatalogueLoaded,
    DiagnosticsReady,
    EditApplied,
    EditFailed,
    LoadFailed,
    StoreLoaded,
)
from workbench.tui.outline import PROJECT_FILE, Outline


class ProjectIO:
    """Mixed into WorkbenchApp (uses its root, env, store, lock and views)."""

    # -- workers -----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load_store(self) -> None:
        try:
            from workbench.project.store import ProjectStore

            with self.lock:
                store = ProjectStore.open(self.root)
        except Exception as error:  # noqa: BLE001 - shown, never fatal
            self.post_message(LoadFailed(describe(error)))
            return
        self.post_message(StoreLoaded(store))

    @work(thread=True, exclusive=True, group="reload", exit_on_error=False)
    def _reload_store(self) -> None:
        try:
            with self.lock:
                self.store.reload()
        except Exception as error:  # noqa: BLE001
            self.post_message(LoadFailed(describe(error)))
            return
        self.post_message(StoreLoaded(self.store))

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
        if self.store is None:
            return
        try:
            from workbench.project.diagnostics import check

            with self.lock:
                diagnostics = check(self.store, env=self.env, memory=self.memory)
        except Exception as error:  # noqa: BLE001
            self.post_message(LoadFailed(f"check failed: {describe(error)}"))
            return
        self.post_message(DiagnosticsReady(diagnostics))

    @work(thread=True, group="edit", exit_on_error=False)
    def _run_edit(self, what: str, change: Callable[[Any], Any], then, on_error) -> None:
        self.loaded.wait(timeout=30)
        if self.store is None:
            self.post_message(EditFailed(what, "the project is not loaded", on_error))
            return
        try:
            with self.lock:
                if self.store.changed_on_disk():
                    self.store.reload()  # apply the edit on top of what is on disk now
                result = change(self.store)
        except Exception as error:  # noqa: BLE001 - EditError, ProjectFileError, OSError...
            self.post_message(EditFailed(what, describe(error), on_error))
            return
        self.post_message(EditApplied(what, result, then))

    def apply_edit(self, what: str, change: Callable[[Any], Any], *, then: Callable[[Any], Any] | None = None,
                   on_error: Callable[[str], Any] | None = None) -> None:
        """Run `change(store)` in a worker; then refresh the views and call `then(result)`.
        Errors (EditError has a clear message) are notified, and passed to `on_error`."""
        self._run_edit(what, change, then, on_error)

    # -- worker results ---------------------------------------------------------------------------
    def on_store_loaded(self, message: StoreLoaded) -> None:
        first_load = self.store is None
        self.store = message.store
        self.loaded.set()
        self._disk_warned = False
        self.refresh_views()
        if first_load:
            self.log.info(f"project loaded in {(time.perf_counter() - self.started) * 1000:.0f} ms")
            if self.specs is None:
                self._load_catalogue()
        self._check()

    def on_load_failed(self, message: LoadFailed) -> None:
        self.notify(message.error, title="Project", severity="error", timeout=10)

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

    @guarded
    def on_edit_applied(self, message: EditApplied) -> None:
        self.refresh_views()
        self._check()
        if message.then is not None:
            message.then(message.result)

    def on_edit_failed(self, message: EditFailed) -> None:
        self.notify(message.error, title=f"Could not {message.what}", severity="error", timeout=8)
        if message.on_error is not None:
            message.on_error(message.error)

    # -- files changed on disk ---------------------------------------------------------------------
    def _poll_disk(self) -> None:
        store = self.store
        if store is None or not self.lock.acquire(blocking=False):
            return  # not loaded yet, or an edit is being written
        try:
            changed = store.changed_on_disk()
        except Exception:  # noqa: BLE001 - a vanished folder, permissions: try again later
            return
        finally:
            self.lock.release()
        if not changed:
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

        name, description = answer
        scaffold(self.root, name=name, description=description)
        self.has_project = True
        self.outline = Outline.read(self.root, self.env, self.memory)
        self.refresh_views()
        self._load_store()
        self.notify(f"created {PROJECT_FILE}", timeout=3)
