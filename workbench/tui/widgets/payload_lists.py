"""The payload editor's multi-valued attributes (a User's `emails`, `phoneNumbers`, `addresses`,
a Group's `members`): a list of sub-forms, one an element, each sub-attribute a field (value,
type, primary, ...), with + add (ctrl+o) and ✕ remove. The shape comes from the connector's
exported type (`TypeSpec.attribute_tree()`: the attributes `check` validates the payload by).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Static

from workbench.tui.schema import FieldSpec, parse_text, to_text

# SCIM attribute types -> the form's kinds (what parse_text turns the text into)
KINDS = {"boolean": "boolean", "integer": "integer", "decimal": "number"}


def payload_attributes(app: Any, call: str, op: Any) -> tuple:
    """The attributes of the type a call's payload is (`op.payload_type` of the call's
    connector), or () when unknown: the payload editor then shows plain key/value rows."""
    type_name = getattr(op, "payload_type", "")
    if not type_name:
        return ()
    decl = app.project_view.connections.get(call.partition(".")[0], {})
    spec = (getattr(app, "specs", None) or {}).get(str(decl.get("connector")))
    type_spec = spec.types.get(type_name) if spec is not None else None
    try:
        return tuple(type_spec.attribute_tree()) if type_spec is not None else ()
    except Exception:  # noqa: BLE001 - a connector's schema library missing: plain rows
        return ()


def list_attributes(attributes: tuple) -> dict[str, Any]:
    """The multi-valued complex attributes by lowercased name (SCIM names are case-insensitive)."""
    return {a.name.lower(): a for a in attributes if a.multi_valued and a.sub}


class ListEdited(Message):
    """An element was added or removed: the payload editor checks its value again."""


def is_element_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


class SubField(Horizontal):
    """One sub-attribute of an element: `value  [kim@example.com]`."""

    def __init__(self, attr: Any, value: Any, offered: list[str]) -> None:
        super().__init__(classes="sub-field")
        self.attr = attr
        self.spec = FieldSpec(attr.name, KINDS.get(attr.type, "text"), attr.required)
        self.initial = value
        self.offered = offered

    def compose(self) -> ComposeResult:
        label = Text.assemble(self.attr.name, ("*" if self.attr.required else "", "red"))
        label.no_wrap, label.overflow = True, "ellipsis"
        yield Static(label, classes="sub-key")
        offered = list(self.attr.canonical) + (["true", "false"] if self.spec.kind == "boolean" else []) + self.offered
        hint = "/".join(self.attr.canonical) or ("" if self.attr.type in ("string", "reference") else self.attr.type)
        yield Input(to_text(self.spec, self.initial), placeholder=hint, compact=True, classes="sub-value",
                    suggester=SuggestFromList(offered, case_sensitive=False) if offered else None)

    @property
    def text(self) -> str:
        inputs = self.query(Input)
        return inputs.first().value if inputs else to_text(self.spec, self.initial)

    def value(self, where: str) -> Any:
        try:
            return parse_text(self.spec, self.text)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None


class ElementForm(Vertical):
    """One element of the list: its sub-attributes as fields; keys the schema does not know are kept."""

    def __init__(self, attr: Any, item: dict[str, Any], offered: list[str], defaults: dict | None = None) -> None:
        super().__init__(classes="payload-element")
        self.attr, self.item, self.offered = attr, item, offered
        self.defaults = defaults  # a skeleton's element: not part of the value while only its defaults are set
        spelled = {key.lower(): key for key in item}
        self.subs = [sub for sub in attr.sub if not sub.read_only or sub.name.lower() in spelled]
        known = {sub.name.lower() for sub in self.subs}
        self.extras = {k: v for k, v in item.items() if k.lower() not in known}
        self.keys = {sub.name: spelled.get(sub.name.lower(), sub.name) for sub in self.subs}  # as written

    def compose(self) -> ComposeResult:
        with Horizontal(classes="element-bar"):
            yield Static(classes="element-title")
            remove = Button("✕ remove", compact=True, classes="remove-element", tooltip="Remove this element")
            yield remove
        spelled = {key.lower(): key for key in self.item}
        for sub in self.subs:
            yield SubField(sub, self.item.get(spelled.get(sub.name.lower(), sub.name)), self.offered)

    def number(self, index: int) -> None:
        self.query_one(".element-title", Static).update(Text(f"{self.attr.name}[{index}]", style="bold"))

    def fields(self) -> list[SubField]:
        return list(self.query(SubField))

    def value(self, where: str) -> dict[str, Any] | None:
        """The element; None for a skeleton's element nothing was typed in (type = "work" alone is no email)."""
        if self.defaults is not None and all(
                f.text.strip() in ("", to_text(f.spec, self.defaults.get(self.keys[f.attr.name]))) for f in self.fields()):
            return None
        out: dict[str, Any] = {}
        for field in self.fields():
            if field.text.strip():  # a blank sub-field is not part of the element
                out[self.keys[field.attr.name]] = field.value(f"{where}.{field.attr.name}")
        for key, value in self.extras.items():
            out.setdefault(key, value)
        return out


class ListAttribute(Vertical):
    """A multi-valued attribute as a list of element forms."""

    BINDINGS = [Binding("ctrl+o", "add_element", "Add element", id="payload-add-element")]

    def __init__(self, attr: Any, key: str, items: list[dict[str, Any]], offered: list[str],
                 skeleton: bool = False) -> None:
        super().__init__(classes="payload-list")
        self.attr, self.key, self.items, self.offered = attr, key, items, offered
        self.skeleton = skeleton  # the items are a new value's usual ones: left out until one is filled in

    def compose(self) -> ComposeResult:
        subs = ", ".join(sub.name for sub in self.attr.sub if not sub.read_only)
        title = Text.assemble((self.key, "bold"), ("*" if self.attr.required else "", "red"),
                              (f"  a list of {{ {subs} }}", "dim"))
        title.no_wrap, title.overflow = True, "ellipsis"
        yield Static(title, classes="list-title")
        for item in self.items:
            yield ElementForm(self.attr, item, self.offered, defaults=item if self.skeleton else None)
        yield Button(f"+ add {self.attr.name} (ctrl+o)", compact=True, classes="add-element")

    def on_mount(self) -> None:
        self.renumber()

    def elements(self) -> list[ElementForm]:
        return list(self.query(ElementForm))

    def renumber(self) -> None:
        for index, element in enumerate(self.elements()):
            element.number(index)

    def value(self) -> list[dict[str, Any]]:
        items = [element.value(f"{self.key}[{i}]") for i, element in enumerate(self.elements())]
        return [item for item in items if item is not None]

    async def action_add_element(self) -> None:
        element = ElementForm(self.attr, {}, self.offered)
        await self.mount(element, before=self.query_one(".add-element"))
        self.renumber()
        fields = element.fields()
        if fields:
            fields[0].query_one(Input).focus()
        self.post_message(ListEdited())

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.has_class("add-element"):
            await self.action_add_element()
        elif event.button.has_class("remove-element"):
            element = event.button.query_ancestor(ElementForm)
            await element.remove()
            self.renumber()
            self.query_one(".add-element").focus()
            self.post_message(ListEdited())

    def focus_at(self, rest: tuple) -> bool:
        """Focus the element field at `rest` ((0, "value"), or (0,)): True when there is one."""
        elements = self.elements()
        index = rest[0] if rest and isinstance(rest[0], int) else 0
        if not elements or index >= len(elements):
            self.query_one(".add-element").focus()
            return True
        fields = elements[index].fields()
        name = str(rest[1]).lower() if len(rest) > 1 else ""
        field = next((f for f in fields if f.attr.name.lower() == name), fields[0] if fields else None)
        if field is not None:
            field.query_one(Input).focus()
        return field is not None

    def mark(self, found: list[tuple[tuple, str]]) -> None:
        """Mark the fields with problems (paths below this attribute: (0, "value")), the words as tooltips."""
        self.set_class(any(not rest for rest, _ in found), "payload-list-problem")
        for index, element in enumerate(self.elements()):
            for field in element.fields():
                words = next((w for rest, w in found if rest[:1] == (index,) and len(rest) > 1
                              and str(rest[1]).lower() == field.attr.name.lower()), None)
                if words is None and field.attr.required and not field.text.strip():
                    words = f"{self.key}[{index}].{field.attr.name} is required"
                field.set_class(words is not None, "sub-field-problem")
                field.tooltip = words
