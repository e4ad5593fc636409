"""The app's data mapper actions: open the editor on a mapper, add one (mixed into the App)."""

from __future__ import annotations

from typing import Any

from workbench.tui.errors import guarded


def mapper_outputs(specs: dict[str, Any] | None) -> list[str]:
    """Every type a connector exports, as a mapper's output names it ("scim.User")."""
    from workbench.connectors import catalogue

    found = specs.values() if specs else catalogue.all_specs()
    return [f"{spec.id}.{name}" for spec in found for name in getattr(spec, "types", {})]


class MapperActions:
    # What the app provides (app.py, project_io.py).
    project_view: Any  # workbench.project.view.ProjectView
    root: Any  # Path
    current: tuple[str, str]
    specs: dict[str, Any] | None
    store: Any  # ProjectStore | None
    @guarded
    def open_mapper(self, name: str) -> None:
        self._mapper_editor(name, self.project_view.datamappers.get(name))

    @guarded
    def action_add_mapper(self) -> None:
        taken = set(self.project_view.datamappers)
        name = next(f"mapper{n}" if n else "mapper" for n in range(len(taken) + 1)
                    if (f"mapper{n}" if n else "mapper") not in taken)
        self._mapper_editor(name, None)

    def _mapper_editor(self, name: str, decl: dict[str, Any] | None) -> None:
        from workbench.tui.screens.mapper_editor import MapperEditor

        if self.store is None:
            self.notify("the project is still loading", severity="warning")
            return
        screen = MapperEditor(name, decl, self.store.project, self.root, mapper_outputs(self.specs))

        def done(saved: str | None) -> None:
            if saved:
                self.tree.select_ref(("datamappers", saved, ""), quiet=True)
                self.current = ("datamappers", saved)
        self.push_screen(screen, done)
