"""A project as an interactive client holds it: load, reload on an external change, edit, and
diagnostics. A plain class with no Textual in it; the app calls it from worker threads.

One store operation at a time (a lock): an edit never interleaves with a reload or a check, and
the once-a-second change poll skips a beat rather than wait for an edit being written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from workbench.project.view import PROJECT_FILE, ProjectView

T = TypeVar("T")


class NotLoaded(RuntimeError):
    """There is no workbench.toml here (yet)."""


class ProjectSession:
    def __init__(self, root: Path | str, *, env: Mapping[str, str] | None = None,
                 memory: Mapping[str, Any] | None = None) -> None:
        self.root = Path(root).resolve()
        self.env: Mapping[str, str] = {} if env is None else env
        self.memory: dict[str, Any] = dict(memory or {})  # in-process values that rank like --set
        self.store: Any = None  # ProjectStore, once loaded
        self.lock = threading.RLock()

    # -- reading -----------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return (self.root / PROJECT_FILE).is_file()

    @property
    def loaded(self) -> bool:
        return self.store is not None

    def view(self) -> ProjectView:
        """What the tree and the flow show: the store's data once loaded, the files before that."""
        store = self.store
        if store is None:
            return ProjectView.read(self.root)
        with self.lock:
            return ProjectView.of(store, env=self.env, memory=self.memory)

    def resolve_config(self):
        return self._loaded_store().resolve_config(env=self.env, memory=self.memory)

    # -- loading -----------------------------------------------------------------------------------
    def load(self) -> Any:
        """Load the store (again, from scratch). Raises ProjectFileError without workbench.toml."""
        from workbench.project.store import ProjectStore

        with self.lock:
            self.store = ProjectStore.open(self.root)
            return self.store

    def ensure_loaded(self) -> Any:
        with self.lock:
            return self.store if self.store is not None else self.load()

    def reload(self) -> None:
        with self.lock:
            self._loaded_store().reload()

    def changed_on_disk(self) -> bool:
        """Whether an external edit is waiting to be read. False while an edit is being written,
        or when the files cannot be read right now: the next poll tries again."""
        store = self.store
        if store is None or not self.lock.acquire(blocking=False):
            return False
        try:
            return store.changed_on_disk()
        except Exception:  # noqa: BLE001 - a vanished folder, permissions: try again later
            return False
        finally:
            self.lock.release()

    def create(self, name: str, description: str = "") -> Any:
        from workbench.project.scaffold import scaffold

        scaffold(self.root, name=name, description=description)
        return self.load()

    # -- editing and checking ----------------------------------------------------------------------
    def edit(self, change: Callable[[Any], T]) -> T:
        """Apply `change(store)` on top of what is on disk now. Raises EditError and the like.
        The whole change holds the write lock, and `editing()` re-reads the files first: a form's
        `EditBase.rebase` check and its write see the same files (project/edit_base.py)."""
        with self.lock:
            store = self.ensure_loaded()
            with store.editing():
                return change(store)

    def check(self) -> list[Any]:
        from workbench.project.diagnostics import check

        with self.lock:
            return check(self._loaded_store(), env=self.env, memory=self.memory)

    def _loaded_store(self) -> Any:
        if self.store is None:
            raise NotLoaded("the project is not loaded")
        return self.store
