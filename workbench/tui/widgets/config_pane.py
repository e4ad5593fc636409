"""The Configurations pane: every configurable with its type, whether it is required, its value
(secrets masked) and where the value comes from. Enter edits a value into Config.toml."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Static

from workbench.tui.errors import guarded

SOURCE_STYLES = {"missing": "bold red", "env": "cyan", "file": "cyan", "default": "dim", "Config.toml": "green",
                 "secrets file": "green", "keyring": "blue", "memory": "magenta"}
# Where an edit of a value from that source is saved (store.set_value writes where it lives).
SAVED_TO = {"keyring": "the OS keyring", "secrets file": "Config-secrets.toml"}


class ValueEditor(Vertical):
    """The editor of one value, under the table."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel-value"),
        Binding("ctrl+t", "toggle_reveal", "Reveal", id="reveal-value"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="value-title")
        with Horizontal(id="value-row"):
            yield Input(id="value-input", compact=True)
        yield Static(id="value-hint")

    def action_cancel(self) -> None:
        self.query_ancestor(ConfigPane).close_editor()

    def action_toggle_reveal(self) -> None:
        self.query_ancestor(ConfigPane).action_toggle_reveal()


class ConfigPane(Vertical):
    BINDINGS = [
        Binding("v,ctrl+t", "toggle_reveal", "Reveal", id="reveal-secrets"),
        Binding("n", "new_configurable", "New", id="new-configurable-pane"),
        Binding("u", "unset_value", "Unset", id="unset-value"),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.revealed = False
        self.resolved: Any = None
        self.editing: str | None = None
        self.saves_to = "Config.toml"  # where the value being edited is saved
        self.problems: list = []  # the Validator's verdict on the value being typed
        self.base: Any = None  # EditBase of the value being edited (project/edit_base.py)

    def compose(self) -> ComposeResult:
        yield Static("[b]Configurations[/b]  [dim]enter: edit the value[/dim]", id="config-title")
        table: DataTable = DataTable(id="config-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Name", "Value", "Source", "Type", "Required")
        yield table
        editor = ValueEditor(id="value-editor")
        editor.display = False
        yield editor

    @property
    def table(self) -> DataTable:
        return self.query_one("#config-table", DataTable)

    def show(self, resolved: Any, select: str | None = None) -> None:
        """Fill the table from a ResolvedConfig (store.resolve_config())."""
        self.resolved = resolved
        table = self.table
        keep = select or self.selected_name()
        table.clear()
        for name, rv in resolved.values.items():
            table.add_row(*self._cells(rv), key=name)
        if keep and keep in resolved.values:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        if self.editing and self.editing not in resolved.values:
            self.close_editor()

    def _cells(self, rv: Any) -> list[Any]:
        name = Text(rv.name) + (Text(" ••", style="magenta") if rv.decl.secret else Text(""))
        if rv.error:
            value = Text("(invalid)", style="red")
        else:
            value = Text(_clip(rv.display(reveal=self.revealed)))
        source = rv.source if rv.source != "env" else f"env {_env_name(rv.name)}"
        if rv.source == "memory":
            source = getattr(self.app, "memory_source", "memory")  # e.g. "demo": held by `workbench demo`
        return [name, value, Text(source, style=SOURCE_STYLES.get(rv.source, "")), rv.decl.type,
                "yes" if rv.decl.required else "no"]

    def selected_name(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - an empty or changing table
            return None

    def focus_table(self) -> None:
        self.table.focus()

    # -- editing ---------------------------------------------------------------------------------
    @guarded
    def action_edit_value(self, name: str | None = None) -> None:
        name = name or self.selected_name()
        if not name or self.resolved is None or name not in self.resolved.values:
            return
        rv = self.resolved.values[name]
        editor = self.query_one(ValueEditor)
        title = editor.query_one("#value-title", Static)
        hint = editor.query_one("#value-hint", Static)
        value_input = editor.query_one("#value-input", Input)
        kind = rv.decl.type + (", secret" if rv.decl.secret else "")
        title.update(Text.assemble(("Value of ", "dim"), (name, "bold"), (f"  ({kind})", "dim")))
        editor.display = True
        self.editing = name
        if rv.source == "env":
            value_input.display = False
            hint.update(Text(f"set by {_env_name(name)} in the environment: read-only here", style="cyan"))
            return
        if rv.source == "file":
            value_input.display = False
            hint.update(Text(f"read from the file {_env_name(name)}_FILE names: read-only here", style="cyan"))
            return
        if rv.source == "memory":
            value_input.display = False
            hint.update(Text(f"held in memory by {getattr(self.app, 'memory_source', 'the app')} for this "
                             "session: read-only here", style="magenta"))
            return
        value_input.display = True
        value_input.password = rv.decl.secret and not self.revealed
        from workbench.project.config import format_value

        if rv.source in SAVED_TO:  # the keyring's or the secrets file's value, not Config.toml's reference
            file_value = rv.value
        else:
            file_value = self.app.store.config_values.get(name) if self.app.store else None
        value_input.value = "" if file_value is None else format_value(file_value)
        value_input.placeholder = "" if rv.decl.default is None else f"default: {format_value(rv.decl.default)}"
        self.saves_to = SAVED_TO.get(rv.source, "Config.toml")
        from workbench.project.edit_base import EditBase

        # The value as opened, so a value saved meanwhile in another window is not overwritten (not
        # for the keyring: the file holds only its reference).
        self.base = EditBase.value(self.app.store, name) if self.app.store and rv.source != "keyring" else None
        hint.update(Text(f"enter saves to {self.saves_to} · esc cancels" +
                         (" · ctrl+t reveals" if rv.decl.secret else ""), style="dim"))
        value_input.focus()

    def action_back(self) -> None:
        if self.editing:
            self.close_editor()
        else:
            self.app.action_focus_tree()

    def close_editor(self) -> None:
        self.editing = None
        editor = self.query_one(ValueEditor)
        editor.display = False
        self.focus_table()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "value-input" or not self.editing or self.resolved is None:
            return
        from workbench.tui.field_checks import check_later, short

        rv = self.resolved.values.get(self.editing)
        if rv is None:
            return
        name, text, kind = self.editing, event.value, rv.decl.type

        def show(problems: list) -> None:
            if self.editing != name or self.query_one("#value-input", Input).value != text:
                return  # a newer value is being checked
            hint = self.query_one("#value-hint", Static)
            self.problems = problems
            if problems:
                first = Text("✗ " + short(problems[0].message), style="red")
                if len(problems) > 1:
                    first.append(f"  (+{len(problems) - 1} more)", style="dim")
                hint.update(first)
            else:
                hint.update(Text(f"✓ a valid {kind} · enter saves to {self.saves_to}", style="green"))

        check_later(self, lambda v: v.configurable(name, text, from_text=True), show)

    @guarded
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "value-input" or not self.editing:
            return
        event.stop()
        name, text = self.editing, event.value
        hint = self.query_one("#value-hint", Static)
        missing = [p for p in self.problems if p.code == "missing-value"]
        if missing and not text:
            hint.update(Text(f"✗ {missing[0].message}: not saved", style="red"))
            return

        def saved(where: Any) -> None:
            self.app.notify(f"{name} saved to {where if isinstance(where, str) and where else 'Config.toml'}", timeout=3)
            self.close_editor()

        def failed(error: str) -> None:
            hint.update(Text(f"✗ {error}", style="red"))

        base = self.base

        def change(store) -> Any:
            if base is not None and base.name == name:
                base.check(store)
            return store.set_value(name, text, from_text=True)

        self.app.apply_edit(f"set {name}", change, then=saved, on_error=failed)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit_value(str(event.row_key.value))

    def action_toggle_reveal(self) -> None:
        self.revealed = not self.revealed
        if self.resolved is not None:
            self.show(self.resolved)
        value_input = self.query_one("#value-input", Input)
        if self.editing and self.resolved is not None:
            rv = self.resolved.values.get(self.editing)
            value_input.password = bool(rv and rv.decl.secret and not self.revealed)
        self.app.notify("secrets shown" if self.revealed else "secrets hidden", timeout=2)

    def action_new_configurable(self) -> None:
        self.app.action_new_configurable()

    @guarded
    def action_unset_value(self) -> None:
        name = self.selected_name()
        if not name:
            return

        def done(removed: bool) -> None:
            self.app.notify(f"{name} removed from Config.toml" if removed else f"{name} is not set in Config.toml",
                            timeout=3)

        self.app.apply_edit(f"unset {name}", lambda store: store.unset_value(name), then=done)


def _clip(text: str, width: int = 16) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _env_name(name: str) -> str:
    return "WB_VAR_" + name.upper()
