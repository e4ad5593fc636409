"""A table value (a step's payload): key/value rows, or the whole value as TOML or JSON.

ctrl+t switches Fields → TOML → JSON. The editor validates as you type; switching converts the
current value, and refuses while it does not parse.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Select, Static, TextArea

from workbench.tui.field_checks import FieldsEdited, short
from workbench.tui.messages import ConfigurableRequested
from workbench.tui.schema import (
    FieldSpec,
    flatten,
    parse_value,
    toml_document,
    toml_key,
    unflatten,
    value_text,
)
from workbench.tui.widgets.payload_lists import (
    ListAttribute,
    ListEdited,
    is_element_list,
    list_attributes,
)
from workbench.tui.widgets.schema_form import _label

MODES = (("Fields", "fields"), ("TOML", "toml"), ("JSON", "json"))


def dump(value: dict[str, Any], mode: str) -> str:
    if mode == "json":
        return json.dumps(value, indent=2, ensure_ascii=False)
    return toml_document(value)


def load(text: str, mode: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    if mode == "json":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {exc.lineno}: {exc.msg}") from None
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object { ... }")
        return value
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None


class PayloadRow(Horizontal):
    """`key = value`; a dotted key nests (name.givenName)."""

    BINDINGS = [Binding("ctrl+g", "new_configurable", "New configurable", id="new-configurable")]
    DEFAULT_CSS = ".payload-row-problem > .payload-key { color: $error; text-style: bold; }"

    def __init__(self, key: str = "", value: str = "", configurables: tuple[str, ...] = ()) -> None:
        super().__init__(classes="payload-row")
        self.key, self.value = key, value
        self.configurables = configurables

    def compose(self) -> ComposeResult:
        from workbench.tui.expression_paths import suggestions

        yield Input(self.key, placeholder="key", compact=True, classes="payload-key")
        offered = suggestions(self, self.configurables)  # ${config.X}, a service's ${request...}
        yield Input(self.value, placeholder="value", compact=True, classes="payload-value",
                    suggester=SuggestFromList(offered, case_sensitive=False) if offered else None)
        remove = Button("✕", compact=True, classes="remove-row", tooltip="Remove this field")
        remove.can_focus = False
        yield remove

    @property
    def pair(self) -> tuple[str, str]:
        inputs = list(self.query(Input))
        if len(inputs) < 2:  # just mounted, not composed yet
            return self.key, self.value
        return inputs[0].value, inputs[1].value

    def bind(self, name: str) -> None:
        value = self.query_one(".payload-value", Input)
        value.value = f"${{config.{name}}}"
        value.focus()

    def action_new_configurable(self) -> None:
        key = self.pair[0].split(".")[-1].strip('"') or "value"
        self.post_message(ConfigurableRequested(self, key))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.has_class("remove-row"):
            event.stop()
            editor = self.query_ancestor(PayloadEditor)
            self.remove()
            editor.call_after_refresh(editor.ensure_blank_row)


class PayloadEditor(Vertical):
    BINDINGS = [Binding("ctrl+t", "cycle_mode", "Fields/TOML/JSON", id="payload-mode")]

    def __init__(self, spec: FieldSpec, path: str, value: Any = None, *, configurables: tuple[str, ...] = ()) -> None:
        super().__init__(classes="payload-editor")
        self.spec, self.path = spec, path
        self.initial = value if isinstance(value, dict) else {}
        self.configurables = configurables
        self.mode = "fields"
        self.problems: list | None = None  # the Validator's verdict; None until it has come
        self.lists = list_attributes(spec.attributes)  # multi-valued attributes: edited as sub-forms
        self.required = [a.name for a in spec.attributes if a.required]

    def compose(self) -> ComposeResult:
        yield Static(_label(self.spec), classes="field-label")
        with Horizontal(classes="payload-bar"):
            yield Select(MODES, value="fields", allow_blank=False, compact=True, classes="payload-mode")
            yield Static(classes="payload-status")
        with Vertical(classes="payload-rows"):
            yield from self.row_widgets(self.initial or self.spec.skeleton or {}, blank=not self.initial)
        editor = TextArea("", soft_wrap=False, tab_behavior="focus", classes="payload-text")
        editor.display = False
        yield editor

    def row_widgets(self, value: dict[str, Any], blank: bool = False) -> list[Any]:
        """A row per field (a dotted key for a nested one), a list of sub-forms per multi-valued
        attribute, a row for each required attribute the value lacks, and a blank row to add one.
        `blank`: the skeleton of a new value, its fields left blank to fill in (lists as they are)."""
        from workbench.tui.expression_paths import suggestions

        widgets: list[Any] = []
        for key, item in value.items():
            attr = self.lists.get(str(key).lower())
            if attr is not None and is_element_list(item):
                widgets.append(ListAttribute(attr, str(key), list(item), suggestions(self, self.configurables),
                                             skeleton=blank))
            else:
                widgets += [PayloadRow(k, "" if blank else value_text(v), self.configurables)
                            for k, v in flatten({key: item})]
        spelled = {str(key).lower() for key in value}
        widgets += [PayloadRow(name, "", self.configurables) for name in self.required if name.lower() not in spelled]
        return widgets + [PayloadRow(configurables=self.configurables)]

    # -- value --------------------------------------------------------------------------------
    def rows(self) -> list[PayloadRow]:
        return list(self.query(PayloadRow))

    def value(self) -> dict[str, Any]:
        """The current value; ValueError when it does not parse."""
        if self.mode != "fields":
            return load(self.query_one(".payload-text", TextArea).text, self.mode)
        pairs = []
        for part in self.query_one(".payload-rows", Vertical).children:
            if isinstance(part, ListAttribute):
                items = part.value()
                if items:  # no element: not part of the value
                    pairs.append((toml_key(part.key), items))
                continue
            if not isinstance(part, PayloadRow):
                continue
            key, text = part.pair
            if not key.strip():
                if text.strip():
                    raise ValueError(f"a value without a key: {text}")
                continue
            if text.strip():  # a field left blank is not part of the value (write "" for an empty string)
                pairs.append((key, parse_value(text)))
        return unflatten(pairs)

    def to_model(self, strict: bool = True) -> dict[str, Any] | None:
        try:
            value = self.value()
        except ValueError as exc:
            if strict:
                raise ValueError(f"{self.path}: {exc}") from None
            return {"(invalid)": True}
        if not value and self.spec.required and strict:
            raise ValueError(f"{self.path} is required")
        return value or None

    def load(self, value: dict[str, Any]) -> None:
        if self.mode == "fields":
            rows = self.query_one(".payload-rows", Vertical)
            rows.remove_children()
            rows.mount_all(self.row_widgets(value))
        else:
            self.query_one(".payload-text", TextArea).load_text(dump(value, self.mode))
        self._validate()

    # -- modes --------------------------------------------------------------------------------
    def action_cycle_mode(self) -> None:
        order = [m for _, m in MODES]
        self.query_one(".payload-mode", Select).value = order[(order.index(self.mode) + 1) % len(order)]

    def on_select_changed(self, event: Select.Changed) -> None:
        if not event.select.has_class("payload-mode"):
            return
        event.stop()
        new = str(event.value)
        if new == self.mode:
            return
        try:
            value = self.value()
        except ValueError as exc:
            self.app.notify(f"fix the payload first: {exc}", severity="error")
            with event.select.prevent(Select.Changed):
                event.select.value = self.mode
            return
        self.mode = new
        self.query_one(".payload-rows").display = new == "fields"
        text_area = self.query_one(".payload-text", TextArea)
        text_area.display = new != "fields"
        self.load(value)
        if new != "fields":
            text_area.focus()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self._validate()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.has_class("payload-key"):
            self.ensure_blank_row()
        self._validate()

    def on_list_edited(self, event: ListEdited) -> None:
        event.stop()
        self._validate()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter on a key that names a multi-valued attribute (emails): its list of sub-forms."""
        row = event.input.parent
        attr = self.lists.get(event.value.strip().lower()) if event.input.has_class("payload-key") else None
        if attr is None or not isinstance(row, PayloadRow) or row.pair[1].strip():
            return
        event.stop()
        from workbench.tui.expression_paths import suggestions

        part = ListAttribute(attr, event.value.strip(), [], suggestions(self, self.configurables))
        await self.query_one(".payload-rows", Vertical).mount(part, before=row)
        await row.remove()
        self.ensure_blank_row()
        await part.action_add_element()

    def focus_at(self, rest: tuple) -> bool:
        """Focus the element field at `rest` (("emails", 0, "value")) when a list holds it."""
        for part in self.query(ListAttribute):
            if rest and str(rest[0]).lower() == part.key.lower():
                return part.focus_at(tuple(rest[1:]))
        return False

    def ensure_blank_row(self) -> None:
        """Keep one empty row at the end, ready for the next field."""
        rows = self.rows()
        if not rows or rows[-1].pair[0].strip():
            self.query_one(".payload-rows", Vertical).mount(PayloadRow(configurables=self.configurables))

    def set_problems(self, problems: list) -> None:
        """The Validator's verdict on the value (paths relative to the step's table)."""
        self.problems = problems
        self._show_status()

    def _validate(self) -> None:
        self.problems = None  # a new value: the verdict is to come
        self._show_status()
        self.post_message(FieldsEdited())

    def _show_status(self) -> None:
        """A syntax error first; then the Validator's problems; ✓ only when it found none."""
        status = self.query_one(".payload-status", Static)
        try:
            value = self.value()
        except ValueError as exc:
            status.update(Text("✗ " + str(exc), style="red"))
            return
        what = {"fields": "fields", "toml": "TOML", "json": "JSON"}[self.mode]
        keys = f"{len(value)} key{'s' if len(value) != 1 else ''}"
        if self.problems:
            prefix = len(self.path.split("."))
            warning = all(p.severity == "warning" for p in self.problems)
            text = Text(("⚠ " if warning else "✗ ") + short(self.problems[0].message),
                        style="yellow" if warning else "red")
            if len(self.problems) > 1:
                text.append(f"  (+{len(self.problems) - 1} more)", style="dim")
            status.update(text)
            self._mark_rows(prefix)
        elif self.problems is None:
            status.update(Text(f"{what} · {keys} · checking…", style="dim"))  # the verdict is to come
            self._mark_rows(0)
        else:
            status.update(Text(f"✓ valid {what} · {keys}", style="green"))
            self._mark_rows(0)

    def _mark_rows(self, prefix: int) -> None:
        """In Fields mode, a row whose key has a problem is marked (its key in red, the words as its tooltip)."""
        found = [(".".join(str(part) for part in p.path[prefix:]), short(p.message))
                 for p in self.problems or ()] if prefix else []
        required = {name.lower() for name in self.required}
        for row in self.rows():
            key = row.pair[0].strip()
            words = next((w for b, w in found if key and (b == key or b.startswith(key + ".")
                                                          or key.startswith(b + "."))), None)
            if words is None and key.lower() in required and not row.pair[1].strip():
                words = f"{key} is required"  # marked at once: before the verdict comes, before saving
            row.set_class(words is not None, "payload-row-problem")
            row.tooltip = words
        for part in self.query(ListAttribute):
            part.mark([(tuple(p.path[prefix + 1:]), short(p.message)) for p in self.problems or ()
                       if prefix and len(p.path) > prefix and str(p.path[prefix]).lower() == part.key.lower()])

    def on_mount(self) -> None:
        self._validate()
