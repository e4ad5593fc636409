"""Form widgets generated from a pydantic schema (see tui/schema.py).

`SchemaFields(fields, values)` lays out one row per field: nested models as indented groups,
discriminated unions as a choice that shows the chosen variant's fields. Every text field takes a
literal, an `${...}` expression, or (ctrl+g, or the ⚙ button) a new configurable. `to_model()`
gives the dict to write to the project; keys the schema does not know are kept as they were.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Select, Static

from workbench.tui.field_checks import FieldsEdited, problems_under, split_path, verdict_text
from workbench.tui.messages import ConfigurableRequested
from workbench.tui.widgets.field_hint import FieldHint
from workbench.tui.schema import FieldSpec, bound_configurable, is_expression, parse_text, placeholder, to_text


class FormError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _label(spec: FieldSpec, title: str | None = None) -> Text:
    text = Text.assemble((title or spec.key, "bold"), ("*" if spec.required else "", "red"))
    if spec.secret:
        text.append(" ••", style="magenta")
    if spec.description:
        text.append("  " + spec.description, style="dim")
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


class FieldRow(Vertical):
    """One scalar field: a label, an input (or a choice), and a hint line."""

    BINDINGS = [Binding("ctrl+g", "new_configurable", "New configurable", id="new-configurable")]

    def __init__(self, spec: FieldSpec, path: str, value: Any = None, *, title: str | None = None,
                 configurables: tuple[str, ...] = (), bindable: bool = True, prefix: str = "") -> None:
        super().__init__(classes="field-row")
        self.spec, self.path, self.title = spec, path, title
        self.initial = value
        self.configurables = configurables
        self.bindable = bindable and spec.kind != "choice"
        self.prefix = prefix  # suggests configurable names: prefix + Key
        self.problems: list = []  # the Validator's verdict on this field (FieldProblem)

    def compose(self) -> ComposeResult:
        yield Static(_label(self.spec, self.title), classes="field-label")
        with Horizontal(classes="field-line"):
            if self.spec.kind == "choice":
                options = [(c, c) for c in self.spec.choices]
                value = self.initial if self.initial in self.spec.choices else Select.NULL
                prompt = placeholder(self.spec) or "choose"
                yield Select(options, value=value, prompt=prompt, allow_blank=not self.spec.required
                             or value is Select.NULL, compact=True, classes="field-input")
            else:
                text = to_text(self.spec, self.initial)
                from workbench.tui.expression_paths import suggestions as offered

                suggestions = offered(self, self.configurables)  # ${config.X}, a service's ${request...}
                if self.spec.kind == "boolean":
                    suggestions += ["true", "false"]
                yield Input(text, placeholder=placeholder(self.spec), compact=True, classes="field-input",
                            password=self.spec.secret and bool(text) and not is_expression(text),
                            suggester=SuggestFromList(suggestions, case_sensitive=False) if suggestions else None)
            if self.bindable:
                button = Button("⚙", compact=True, classes="bind-button", tooltip="New configurable (ctrl+g)")
                button.can_focus = False
                yield button
        yield FieldHint()

    def on_mount(self) -> None:
        self._update_hint()

    @property
    def control(self) -> Input | Select:
        return self.query_one(".field-input")  # type: ignore[return-value]

    @property
    def text(self) -> str:
        control = self.control
        if isinstance(control, Select):
            return "" if control.value is Select.NULL else str(control.value)
        return control.value

    def set_text(self, text: str) -> None:
        control = self.control
        if isinstance(control, Input):
            control.value = text
        self._update_hint()

    def value(self, strict: bool = True) -> Any:
        try:
            return parse_text(self.spec, self.text)
        except ValueError as exc:
            if strict:
                raise ValueError(f"{self.path}: {exc}") from None
            return self.text

    def check(self) -> str | None:
        try:
            value = self.value()
        except ValueError as exc:
            return str(exc)
        if value is None and self.spec.required:
            return f"{self.path} is required"
        return None

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.spec.secret:
            event.input.password = bool(event.value) and not is_expression(event.value)
        self._update_hint()
        self.post_message(FieldsEdited())

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.has_class("field-input"):
            self.post_message(FieldsEdited())

    def set_problems(self, problems: list) -> None:
        """Show the Validator's verdict on this field (kept behind a syntax error)."""
        if problems != self.problems:
            self.problems = problems
            self._update_hint()

    def _update_hint(self, error: str | None = None) -> None:
        hint = self.query_one(FieldHint)
        name = bound_configurable(self.text)
        if error is None:
            try:
                parse_text(self.spec, self.text)
            except ValueError as exc:
                error = str(exc)
        if error is None and self.problems:
            error = verdict_text(self.problems)
        if error:
            hint.show(Text("✗ " + error, style="red"))
        elif name:
            known = name in self.configurables
            hint.show(Text.assemble(("⚙ configurable ", "dim"), (name, "bold magenta"),
                                    ("" if known else "  (not declared yet)", "yellow")))
        else:
            hint.show(Text())

    def show_error(self, error: str) -> None:
        self._update_hint(error)

    def bind(self, name: str) -> None:
        """Bind the field to a configurable: `${config.name}`."""
        if name not in self.configurables:
            self.configurables = (*self.configurables, name)
        self.set_text(f"${{config.{name}}}")
        self.control.focus()

    def action_new_configurable(self) -> None:
        if not self.bindable:
            self.app.notify("a choice field cannot be bound to a configurable", severity="warning")
            return
        key = self.spec.key
        suggestion = self.prefix + (key[:1].upper() + key[1:] if self.prefix else key)
        self.post_message(ConfigurableRequested(self, suggestion, self.spec.config_type, self.spec.secret,
                                                self.spec.description))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.has_class("bind-button"):
            event.stop()
            self.action_new_configurable()


class ModelGroup(Vertical):
    """A nested model: its title and its fields, indented."""

    def __init__(self, spec: FieldSpec, path: str, values: Any, **options: Any) -> None:
        super().__init__(classes="model-group")
        self.spec, self.path = spec, path
        self.values = values if isinstance(values, dict) else {}
        self.options = options

    def compose(self) -> ComposeResult:
        yield Static(_label(self.spec), classes="field-label")
        yield SchemaFields(self.spec.children, self.values, path=self.path, classes="nested", **self.options)

    def to_model(self, strict: bool = True) -> dict[str, Any] | None:
        return self.query_one(SchemaFields).to_model(strict) or None


class UnionGroup(Vertical):
    """A discriminated union (e.g. auth): a choice of variant, then that variant's fields."""

    def __init__(self, spec: FieldSpec, path: str, values: Any, **options: Any) -> None:
        super().__init__(classes="union-group")
        self.spec, self.path = spec, path
        self.values = values if isinstance(values, dict) else {}
        self.options = options
        default = spec.default.get(spec.discriminator) if isinstance(spec.default, dict) else None
        self.default_tag = default
        self.initial_tag = str(self.values.get(spec.discriminator) or default or spec.variants[0].tag)

    def compose(self) -> ComposeResult:
        yield Static(_label(self.spec), classes="field-label")
        options = [(v.label, v.tag) for v in self.spec.variants]
        tags = [v.tag for v in self.spec.variants]
        value = self.initial_tag if self.initial_tag in tags else tags[0]
        yield Select(options, value=value, allow_blank=False, compact=True, classes="variant-select")
        for variant in self.spec.variants:
            values = self.values if variant.tag == self.initial_tag else {}
            fields = SchemaFields(variant.fields, values, path=self.path, classes="nested variant",
                                  skip=(self.spec.discriminator,), **self.options)
            fields.tag = variant.tag
            fields.display = variant.tag == value
            yield fields

    @property
    def tag(self) -> str:
        return str(self.query_one(".variant-select", Select).value)

    def variants(self) -> list[SchemaFields]:
        return [child for child in self.children if isinstance(child, SchemaFields)]

    def on_select_changed(self, event: Select.Changed) -> None:
        if not event.select.has_class("variant-select"):
            return
        event.stop()
        for fields in self.variants():
            fields.display = fields.tag == event.value

    def to_model(self, strict: bool = True) -> dict[str, Any] | None:
        tag = self.tag
        fields = next((f for f in self.variants() if f.tag == tag), None)
        if fields is None:  # not composed yet
            return dict(self.values) or None
        values = fields.to_model(strict)
        if not values and tag == self.default_tag and not self.values:
            return None  # the default, as it was: leave it out of the file
        return {self.spec.discriminator: tag, **values}


class SchemaFields(Vertical):
    """The fields of one model."""

    def __init__(self, fields: list[FieldSpec], values: dict[str, Any] | None = None, *, path: str = "",
                 skip: tuple[str, ...] = (), configurables: tuple[str, ...] = (), prefix: str = "",
                 mapping_editor: bool = False, classes: str = "") -> None:
        super().__init__(classes="schema-fields " + classes)
        self.fields = [f for f in fields if f.key not in skip]
        self.values = dict(values or {})
        self.path = path
        self.skip = skip
        self.tag = ""
        self.options = {"configurables": configurables, "prefix": prefix, "mapping_editor": mapping_editor}
        known = {f.key for f in fields}
        self.extras = {k: v for k, v in self.values.items() if k not in known}  # kept as they are

    def compose(self) -> ComposeResult:
        for spec in self.fields:
            path = f"{self.path}.{spec.key}" if self.path else spec.key
            value = self.values.get(spec.key)
            if spec.kind == "model":
                yield ModelGroup(spec, path, value, **self.options)
            elif spec.kind == "union" and spec.variants:
                yield UnionGroup(spec, path, value, **self.options)
            elif spec.kind == "mapping" and self.options["mapping_editor"] and not isinstance(value, str):
                # (an expression such as ${hireToUser(hire)} stays one line of text)
                from workbench.tui.widgets.payload_editor import PayloadEditor

                yield PayloadEditor(spec, path, value, configurables=self.options["configurables"])
            else:
                yield FieldRow(spec, path, value, configurables=self.options["configurables"],
                               prefix=self.options["prefix"])

    def _parts(self):
        for child in self.children:
            if isinstance(child, (FieldRow, ModelGroup, UnionGroup)) or hasattr(child, "to_model"):
                yield child

    def to_model(self, strict: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        problems: list[str] = []
        for part in self._parts():
            try:
                if isinstance(part, FieldRow):
                    if strict and (problem := part.check()):
                        part.show_error(problem)
                        problems.append(problem)
                        continue
                    value = part.value(strict)
                else:
                    value = part.to_model(strict)
            except FormError as exc:
                problems += exc.problems
                continue
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if value is not None:
                out[part.spec.key] = value
        if problems:
            raise FormError(problems)
        for key, value in self.extras.items():
            out.setdefault(key, value)
        return out

    def rows(self) -> list[FieldRow]:
        return list(self.query(FieldRow))

    def show_problems(self, problems: list) -> None:
        """Give each field (and each payload editor) the problems at its path."""
        for row in self.rows():
            row.set_problems(problems_under(problems, split_path(row.path)))
        for editor in self.query(".payload-editor"):
            editor.set_problems(problems_under(problems, split_path(editor.path)))  # type: ignore[attr-defined]

    def row(self, path: str) -> FieldRow | None:
        return next((r for r in self.rows() if r.path == path), None)

    def focus_first(self) -> None:
        for widget in self.query("Input, Select, TextArea"):
            if widget.display and widget.focusable:
                widget.focus()
                return
