"""The connection form: a Connection Name plus fields generated from the connector's schema.

Used for a new connection (after the palette) and to edit one (selected in the tree). Save writes
`workbench.toml` through the store (add_connection / update_connection, rename when renamed).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from workbench.tui.errors import guarded
from workbench.tui.field_checks import FieldsEdited, check_later
from workbench.tui.schema import FieldSpec, fields_of
from workbench.tui.widgets.schema_form import FieldRow, FormError, SchemaFields

NAME_FIELD = FieldSpec("name", "text", required=True, description="How steps refer to it, e.g. scimClient")


def suggest_name(connector_id: str, taken: set[str]) -> str:
    base = "".join(part[:1].upper() + part[1:] for part in connector_id.replace("-", "_").split("_"))
    base = base[:1].lower() + base[1:] + "Client"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


def _base(name: str, decl: dict[str, Any]) -> Any:
    from workbench.project.edit_base import EditBase  # (imports the store: not at start-up)

    return EditBase.item("connections", name, decl)


class ConnectionForm(VerticalScroll):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save connection", id="save-connection"),
        Binding("escape", "revert", "Revert", id="revert-connection"),
    ]

    def __init__(self, spec: Any, name: str | None, values: dict[str, Any], *, taken: set[str],
                 configurables: tuple[str, ...]) -> None:
        super().__init__(classes="form connection-form")
        self.spec = spec
        self.original = name  # None for a new connection
        self.values = {k: v for k, v in values.items() if k != "connector"}
        self.taken = taken
        self.configurables = configurables
        self.initial: Any = None
        self.drafts: dict[str, Any] = {}  # configurables made from this form: declared when it is saved
        self.base = _base(name, values) if name else None  # the connection as opened: see edit_base

    @property
    def is_new(self) -> bool:
        return self.original is None

    def compose(self) -> ComposeResult:
        spec = self.spec
        yield Static(self._title(), classes="form-title")
        yield Static(Text(f"{spec.package} {spec.version} · {spec.category} · {spec.description}", style="dim"),
                     classes="form-subtitle")
        name = self.original or suggest_name(spec.id, self.taken)
        yield FieldRow(NAME_FIELD, "name", name, title="Connection Name", bindable=False)
        yield SchemaFields(fields_of(spec.connection), self.values, configurables=self.configurables,
                           prefix=spec.id)
        with Horizontal(classes="form-buttons"):
            yield Button("Save Connection", variant="primary", id="save-connection", compact=True)
            yield Button("Revert" if not self.is_new else "Cancel", id="revert-connection", compact=True)

    def _title(self) -> Text:
        title = "New connection" if self.is_new else f"Connection {self.original}"
        return Text.assemble((title, "bold"), "  ", (self.spec.name, "bold cyan"))

    def on_mount(self) -> None:
        self.initial = self.snapshot()
        self.check_fields()

    # -- the Validator's verdict, as you type ---------------------------------------------------
    def on_fields_edited(self, event: FieldsEdited) -> None:
        event.stop()
        self.check_fields()

    def check_fields(self) -> None:
        try:
            fields = self.fields.to_model(strict=False)
        except Exception:  # noqa: BLE001 - not composed yet
            return
        name, connector = self.original or self.name_row.text.strip(), self.spec.id
        check_later(self, lambda v: v.connection(name, fields, connector=connector), self.fields.show_problems)

    # -- model ----------------------------------------------------------------------------------
    @property
    def name_row(self) -> FieldRow:
        return self.query_one(FieldRow)

    @property
    def fields(self) -> SchemaFields:
        return self.query_one(SchemaFields)

    def to_model(self) -> tuple[str, dict[str, Any]]:
        """(name, fields) to save; FormError lists what is wrong."""
        problems = []
        name = self.name_row.text.strip()
        if not name:
            problems.append("Connection Name is required")
        elif name != self.original and name in self.taken:
            problems.append(f"a connection named {name!r} already exists")
        try:
            fields = self.fields.to_model()
        except FormError as exc:
            problems += exc.problems
            fields = {}
        if problems:
            raise FormError(problems)
        return name, fields

    def snapshot(self) -> Any:
        try:
            return self.name_row.text, self.fields.to_model(strict=False)
        except Exception:  # noqa: BLE001 - only used to compare
            return None

    @property
    def is_dirty(self) -> bool:
        return self.initial is not None and (self.snapshot() != self.initial or bool(self.drafts))

    def focus_first(self) -> None:
        """Runs after a refresh: by then the form may have been discarded or not composed yet.
        The field the connection's first diagnostic is about, if any; else the name."""
        from textual.css.query import NoMatches

        try:
            row = self.problem_row()
            (row or self.name_row).control.focus(scroll_visible=row is not None)
        except NoMatches:
            return
        if row is None:
            self.scroll_home(animate=False)

    def problem_row(self) -> FieldRow | None:
        from workbench.project.address import split_key_path

        issues = getattr(self.app, "issues", None)
        if self.original is None or issues is None:
            return None
        base = ("connections", self.original)
        for diag in issues.for_item("connections", self.original):
            path = split_key_path(diag.key)
            if tuple(path[:2]) == base and (row := self.fields.row(".".join(str(p) for p in path[2:]))):
                return row
        return None

    # -- actions --------------------------------------------------------------------------------
    @guarded
    def action_save(self) -> None:
        try:
            name, fields = self.to_model()
        except FormError as exc:
            if "Connection Name" in exc.problems[0] or "already exists" in exc.problems[0]:
                self.name_row.show_error(exc.problems[0])
            self.app.notify("\n".join(exc.problems), title="Cannot save the connection", severity="error")
            return
        original, connector, drafts, base = self.original, self.spec.id, dict(self.drafts), self.base

        def change(store) -> str:
            from workbench.tui.screens.configurable_form import declare_drafts

            mine = {"connector": connector, **{k: v for k, v in fields.items() if v is not None}}
            item = base.rebase(store, mine) if base is not None and original is not None else mine
            declare_drafts(store, drafts, item)
            if original is None:
                store.add_connection(name, connector, fields)
            else:
                if name != original:
                    store.rename("connections", original, name)
                item = dict(item)  # may be the store's own table (an unchanged save): not popped from
                store.update_connection(name, item.pop("connector"), item)
            return name

        def saved(saved_name: str) -> None:
            was_new = self.is_new
            self.original, self.values = saved_name, fields  # the form now edits the saved connection
            self.base = _base(saved_name, self.app.project_view.connections.get(saved_name, {}))
            self.drafts.clear()
            self.initial = self.snapshot()
            self.query_one(".form-title", Static).update(self._title())
            self.query_one("#revert-connection", Button).label = "Revert"
            self.app.notify(f"connection {saved_name} saved", timeout=3)
            self.app.show_item("connections", saved_name)
            if was_new:
                self.app.action_focus_tree()  # it now appears under Connections

        self.app.apply_edit(f"save connection {name}", change, then=saved)

    def action_revert(self) -> None:
        self.app.discard_connection_form(self)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save-connection":
            self.action_save()
        elif event.button.id == "revert-connection":
            self.action_revert()
