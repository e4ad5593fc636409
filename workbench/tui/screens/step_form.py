"""The form of one step. For a call: the operation's parameters from its schema (the payload with
a Fields/TOML/JSON editor) and the result variable. Other kinds have their own few fields.
Save inserts the step (store.add_step) or updates it (store.update_step)."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from workbench.tui.errors import guarded
from workbench.tui.field_checks import FieldsEdited, check_later, problems_under
from workbench.tui.schema import FieldSpec, fields_of
from workbench.tui.screens.configurable_form import declare_drafts
from workbench.tui.screens.form_base import FormScreen
from workbench.tui.screens.step_panel import KINDS
from workbench.tui.widgets.schema_form import FieldRow, FormError, SchemaFields

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL = FieldSpec("label", "text", description="an optional caption for the card")
RESULT = FieldSpec("result", "text", description="the variable that keeps the result, e.g. createdUser")
KIND_FIELDS: dict[str, list[FieldSpec]] = {
    "log": [FieldSpec("log", "text", True, description="the message; ${...} inserts values"),
            FieldSpec("level", "choice", choices=("debug", "info", "warning", "error"), default="info")],
    "set": [FieldSpec("set", "text", True, description="the variable name"),
            FieldSpec("value", "any", description="a TOML value, ${...}, or text")],
    "if": [FieldSpec("if", "text", True, description="a condition, e.g. ${user.active} == true")],
    "foreach": [FieldSpec("foreach", "text", True, description="a list, e.g. ${rows}"),
                FieldSpec("as", "text", default="item", description="the name of each item"),
                FieldSpec("concurrency", "integer", default=1, description="items run at once (1-256)"),
                RESULT],
    "sync": [FieldSpec("sync", "text", True, description="connection.users or connection.groups"),
             FieldSpec("desired", "any", description="the resources the server should have, e.g. ${people}"),
             FieldSpec("scope", "text", description="a SCIM filter of the resources it manages, e.g. externalId pr"),
             FieldSpec("matchOn", "text", description="the key shared by source and server"),
             FieldSpec("deprovision", "choice", choices=("deactivate", "delete", "none"), default="deactivate"),
             FieldSpec("maxChanges", "any", description="refuse a plan over this many changes, or a share: 10%"),
             FieldSpec("concurrency", "integer", default=4, description="changes applied at once"),
             FieldSpec("clearMissing", "boolean", default=False, description="a null clears the attribute"),
             RESULT],
    "return": [FieldSpec("return", "any", description="the value the run returns")],
    "fail": [FieldSpec("fail", "text", True, description="the error message")],
}
_PAST = {"create": "created", "replace": "replaced", "patch": "patched", "delete": "deleted"}


def suggest_result(operation: str) -> str:
    """createUser -> createdUser, getUser -> user, listUsers -> users."""
    m = re.match(r"^([a-z]+)([A-Z].*)?$", operation)
    if not m or not m.group(2):
        return operation + "Result"
    verb, rest = m.group(1), m.group(2)
    if verb in _PAST:
        return _PAST[verb] + rest
    return rest[:1].lower() + rest[1:]


class StepFormScreen(FormScreen):
    DIALOG_CLASSES = "tall"
    base: Any = None  # EditBase of the step (or slot) as opened: set by the opener (step_actions)

    def __init__(self, entry: str, address: str, kind: str, *, call: str = "", op: Any = None,
                 step: dict[str, Any] | None = None, configurables: tuple[str, ...] = (),
                 connection_label: str = "", focus_path: tuple | None = None) -> None:
        super().__init__()
        self.focus_path = focus_path  # the field a diagnostic is about: focused when the form opens
        self.entry, self.address, self.kind = entry, address, kind
        self.call, self.op = call, op
        self.step = dict(step or {})
        self.is_new = step is None
        self.configurables = configurables
        self.connection_label = connection_label
        self.SAVE_LABEL = "Insert step" if self.is_new else "Save step"

    def title_text(self) -> Text:
        verb = "Add" if self.is_new else "Edit"
        if self.kind == "call":
            connection, _, operation = self.call.partition(".")
            label = self.op.label if self.op else operation
            title = Text.assemble((f"{verb} step  ", "bold"), (connection, "bold cyan"), " → ", (label, "bold"),
                                  (f"   at {self.address}", "dim"))
            if self.op is not None:
                title.append(f"\n{self.op.description}", style="dim")
                title.append(f"\nreturns {self.op.result}", style="dim italic")
            return title
        return Text.assemble((f"{verb} step  ", "bold"), (KINDS.get(self.kind, (self.kind,))[0], "bold cyan"),
                             (f"   at {self.address}", "dim"))

    def form_fields(self) -> ComposeResult:
        step = self.step
        if self.kind == "call":
            _, _, operation = self.call.partition(".")
            result = step.get("result") if not self.is_new else suggest_result(operation)
            yield FieldRow(RESULT, "result", result, title="Result", bindable=False)
            if self.op is not None:
                from workbench.tui.screens.use_mapper import mapper_choice

                yield from mapper_choice(self)  # "use a data mapper", when some fit the payload
                from workbench.tui.widgets.payload_lists import payload_attributes

                params = fields_of(self.op.params)
                for spec in params:  # the payload's type (scim.User): its editor knows the shape
                    if spec.kind == "mapping" and spec.key == "payload":
                        spec.attributes = payload_attributes(self.app, self.call, self.op)
                yield SchemaFields(params, step.get("args") or {}, path="args",
                                   configurables=self.configurables, mapping_editor=True, classes="params")
            else:
                yield Static(Text(f"unknown operation {self.call}: arguments are kept as they are", style="yellow"))
            yield FieldRow(LABEL, "label", step.get("label"), title="Label", bindable=False)
        else:
            yield SchemaFields(KIND_FIELDS[self.kind] + [LABEL], step, configurables=self.configurables,
                               classes="kind-fields")

    def on_mount(self) -> None:  # FormScreen's runs too (Textual calls each class's handler)
        if self.focus_path:
            self.call_after_refresh(self.focus_field, self.focus_path)

    def focus_field(self, path: tuple) -> None:
        """Focus the field at `path` (relative to the step's table), or the nearest one that holds it."""
        dotted = ".".join(str(part) for part in path)
        best, best_len = None, 0
        for widget in self.query("FieldRow, PayloadEditor"):
            wpath = widget.path  # type: ignore[attr-defined]
            if (dotted == wpath or dotted.startswith(wpath + ".")) and len(wpath) > best_len:
                best, best_len = widget, len(wpath)
        if best is None:
            return
        if isinstance(best, FieldRow):
            best.control.focus()
            return
        rest = dotted[best_len + 1:]
        if best.focus_at(tuple(int(p) if p.isdigit() else p for p in rest.split("."))):  # an element's field
            return
        rows = [row for row in best.rows() if row.pair[0] and (rest == row.pair[0] or rest.startswith(row.pair[0] + "."))]
        target = rows[0].query(".payload-value").first() if rows and best.mode == "fields" else None
        (target or best.query("Input, TextArea").first()).focus()

    async def on_select_changed(self, event) -> None:
        if getattr(event.select, "id", "") == "use-mapper" and event.value is not event.select.NULL:
            from workbench.tui.screens.use_mapper import use_mapper

            event.stop()
            await use_mapper(self, str(event.value))

    # -- the Validator's verdict, as you type ---------------------------------------------------
    def on_fields_edited(self, event: FieldsEdited) -> None:
        event.stop()
        self.check_fields()

    def check_fields(self) -> None:
        draft = self.draft()
        entry, address = self.entry, self.address
        check_later(self, lambda v: v.step(entry, address, draft), self.show_problems)

    def show_problems(self, problems: list) -> None:
        top = self.query(SchemaFields)
        if top:
            top.first().show_problems(problems)  # its rows and editors, nested ones too
        for row in self.query(FieldRow):
            if row.path in ("result", "label"):
                row.set_problems(problems_under(problems, (row.path,)))

    def draft(self) -> dict[str, Any]:
        """The step as being edited, unparsed values as they are typed (for the Validator)."""
        if self.kind != "call":
            fields = self.query_one(SchemaFields).to_model(strict=False)
            return {self.kind: fields.pop(self.kind, None) or "", **fields}
        step: dict[str, Any] = {"call": self.call}
        params = self.query(SchemaFields)
        args = params.first().to_model(strict=False) if params else dict(self.step.get("args") or {})
        if args:
            step["args"] = args
        return step

    def to_model(self) -> dict[str, Any]:
        """The step as written to workbench.toml (its kind key first)."""
        if self.kind != "call":
            fields = self.query_one(SchemaFields).to_model()
            kind_value = fields.pop(self.kind, None)
            return {self.kind: kind_value if kind_value is not None else "", **fields}
        problems: list[str] = []
        rows = {row.path: row for row in self.query(FieldRow) if row.path in ("result", "label")}
        result = rows["result"].text.strip() if "result" in rows else str(self.step.get("result") or "")
        if result and not NAME_RE.match(result):
            rows["result"].show_error("a variable name: letters, digits and _")
            problems.append(f"result {result!r} is not a variable name")
        label = rows["label"].text.strip() if "label" in rows else str(self.step.get("label") or "")
        args = dict(self.step.get("args") or {})
        params = self.query(SchemaFields)
        if params:
            try:
                args = params.first().to_model()
            except FormError as exc:
                problems += exc.problems
        if problems:
            raise FormError(problems)
        step: dict[str, Any] = {"call": self.call}
        if label:
            step["label"] = label
        if result:
            step["result"] = result
        if args:
            step["args"] = args
        for key, value in self.step.items():  # keys this form does not know survive
            if key not in ("call", "label", "result", "args"):
                step[key] = value
        return step

    @guarded
    def save(self) -> None:
        try:
            step = self.to_model()
        except FormError as exc:
            self.app.notify("\n".join(exc.problems), title="Cannot save the step", severity="error")
            return
        entry, address, drafts, is_new, base = self.entry, self.address, dict(self.drafts), self.is_new, self.base

        def change(store) -> str:
            if is_new:
                at = base.insert_at(store) if base else address  # first: a conflict writes nothing
                declare_drafts(store, drafts, step)
                return store.add_step(entry, step, at=at)
            at, merged = base.rebase_step(store, step) if base else (address, step)
            declare_drafts(store, drafts, merged)
            store.update_step(entry, at, merged)
            return str(at)
        self.app.apply_edit("insert step" if is_new else "save step", change, then=self.dismiss)

