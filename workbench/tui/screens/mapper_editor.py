"""The data mapper editor: the output type's attributes as a tree (required ones marked with *,
multi-valued ones expandable by their canonical types), the selected target's expression (with
completion of `${input.<field>}`), and a live preview of the output for the mapper's sample or
the first record of a project file, with the problems on the target that causes them.
"Map by name" (ctrl+b) fills the targets whose names match the input's fields, to review.
Saves go through the store (`save_datamapper`): atomic, comments and order kept."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Input, Select, Static, Tree

from workbench.tui.errors import guarded
from workbench.tui.screens.form_base import FormScreen, labelled

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def update_in_place(box: Static, text: Text) -> None:
    """Update the preview (its height is fixed); lay the screen out again only when its line
    count changed, for its scroll extent: a layout of the whole modal is most of what a key costs."""
    lines = text.plain.count("\n")
    box.update(text, layout=lines != getattr(box, "shown_lines", None))
    box.shown_lines = lines


def canonical(text: str, attributes: Any) -> str:
    """One spelling per target, to match the tree's nodes with the file's keys."""
    from workbench.project.mapper_paths import PathError, parse_target

    try:
        path = parse_target(text, attributes)
    except PathError:
        return text
    parts = []
    for seg in path.segments:
        flt = "".join(f"[{k} eq {json.dumps(v)}]" for k, v in seg.filter or ())
        parts.append(seg.name + flt)
    return ".".join(parts)


def targets_of(attributes: Any) -> list[tuple[str, str, bool, list]]:
    """(target, label, required, children) for the attribute tree."""
    out = []
    for attr in attributes:
        if attr.read_only:
            continue
        if attr.multi_valued and attr.sub:
            kinds = next((s.canonical for s in attr.sub if s.name == "type" and s.canonical), ())
            children = []
            for kind in kinds:
                element = f'{attr.name}[type eq "{kind}"]'
                children.append((element, f'[type eq "{kind}"]', False,
                                 [(f"{element}.{s.name}", s.name, s.required, []) for s in attr.sub
                                  if s.name != "type" and not s.read_only]))
            out.append((attr.name, attr.name + " []", attr.required, children))
        elif attr.sub:
            out.append((attr.name, attr.name, attr.required,
                        [(f"{attr.name}.{s.name}", s.name, s.required, []) for s in attr.sub if not s.read_only]))
        else:
            out.append((attr.name, attr.name, attr.required, []))
    return out


def value_of(text: str) -> Any:
    """What a typed value is in the file: true/false and numbers as such, the rest as text."""
    stripped = text.strip()
    if stripped in ("true", "false"):
        return stripped == "true"
    if re.fullmatch(r"-?\d+", stripped):
        return int(stripped)
    return text


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


class MapperEditor(FormScreen):
    DIALOG_CLASSES = "tall"
    BINDINGS = FormScreen.BINDINGS + [Binding("ctrl+b", "map_by_name", "Map by name", id="map-by-name")]

    def __init__(self, name: str, decl: dict[str, Any] | None, project: Any, root: Any,
                 outputs: list[str]) -> None:
        super().__init__()
        from workbench.project.mappers import flat_fields

        self.is_new = decl is None
        self.decl = dict(decl or {"input": "record", "output": outputs[0] if outputs else "scim.User"})
        from workbench.project.edit_base import EditBase

        self.base = None if decl is None else EditBase.item("datamappers", name, decl)  # as opened: see edit_base
        self.mapper_name = name
        self.project, self.root, self.outputs = project, root, outputs
        self.fields: dict[str, Any] = {text: value for _, text, value in flat_fields(self.decl.get("fields") or {})}
        self.record: dict[str, Any] | None = self.decl.get("sample")
        self.target = ""  # the target being edited
        self.attributes: Any = ()
        self.marks: dict[str, list[str]] = {}
        self.SAVE_LABEL = "Add data mapper" if self.is_new else "Save data mapper"

    def title_text(self) -> Text:
        verb = "Add" if self.is_new else "Edit"
        return Text.assemble((f"{verb} data mapper  ", "bold"), (self.mapper_name or "", "bold cyan"),
                             ("\nctrl+b map by name · the preview follows each key", "dim"))

    def form_fields(self) -> ComposeResult:
        if self.is_new:
            yield labelled("Name", Input(self.mapper_name, id="mapper-name", compact=True), "letters, digits, _", True)
        options = [(o, o) for o in self.outputs]
        yield labelled("Output", Select(options, value=self.decl.get("output"), allow_blank=False, compact=True,
                                        id="mapper-output"), "a type a connector exports")
        yield labelled("Input", Input(str(self.decl.get("input") or "record"), id="mapper-input", compact=True),
                       '"record", or a [types] name')
        yield labelled("Preview record", Input("", id="mapper-file", compact=True,
                                               placeholder="the sample; or a CSV/JSON file in the project"),
                       "enter reads its first record")
        with Horizontal(id="mapper-body"):
            yield Tree("attributes", id="mapper-attrs")
            with Vertical(id="mapper-side"):
                yield Static(id="mapper-target")
                yield Input("", id="mapper-expr", compact=True, placeholder="${input.field}, text, or true")
                yield Static(id="mapper-preview")

    def on_mount(self) -> None:  # FormScreen's runs too (Textual calls each class's handler)
        self.load_output()

    # -- the tree ----------------------------------------------------------------------------------
    def load_output(self) -> None:
        from workbench.project.mappers import output_type

        spec, _ = output_type(str(self.query_one("#mapper-output", Select).value))
        self.attributes = spec.attribute_tree() if spec is not None else ()
        self.canon = {canonical(text, self.attributes): text for text in self.fields}
        self.refresh_preview()  # first: the tree's labels show its marks
        self.build_tree()

    def build_tree(self) -> None:
        tree = self.query_one("#mapper-attrs", Tree)
        tree.clear()
        tree.show_root = False
        shown: set[str] = set()

        def add(parent: Any, items: list) -> None:
            for target, label, required, children in items:
                key = canonical(target, self.attributes)
                shown.add(key)
                if children:
                    node = parent.add(self.label(label, required, key), data=key,
                                      expand=any(k.startswith(key) for k in self.canon))
                    add(node, children)
                else:
                    parent.add_leaf(self.label(label, required, key), data=key)

        add(tree.root, targets_of(self.attributes))
        for key, text in self.canon.items():  # targets the schema has no node for
            if key not in shown:
                tree.root.add_leaf(self.label(text, False, key), data=key)

    def label(self, label: str, required: bool, key: str) -> Text:
        text = Text(label)
        if required:
            text.append("*", style="bold red")
        if key in self.canon:
            text.append(" = " + text_of(self.fields[self.canon[key]]), style="dim")
        if self.marks.get(key):
            text.append(" ✗", style="bold red")
        return text

    def relabel(self, only: str | None = None) -> None:
        """The labels again (`only`: that target's; the marks elsewhere did not change)."""
        tree = self.query_one("#mapper-attrs", Tree)
        stack = list(tree.root.children)
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            if only is not None and node.data != only:
                continue
            base = str(node.label).split(" = ")[0].rstrip(" ✗").rstrip("*")
            required = "*" in str(node.label).split(" = ")[0]
            node.set_label(self.label(base, required, node.data))

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        self.target = event.node.data or ""
        text = self.canon.get(self.target)
        expr = self.query_one("#mapper-expr", Input)
        with expr.prevent(Input.Changed):
            expr.value = text_of(self.fields[text]) if text is not None else ""
        self.show_target()

    def show_target(self) -> None:
        words = "; ".join(self.marks.get(self.target, []))
        line = Text.assemble(("target ", "dim"), (self.target or "(choose an attribute)", "bold"))
        if words:
            line.append("\n" + words, style="red")
        box = self.query_one("#mapper-target", Static)
        if line != getattr(box, "shown", None):
            box.shown = line
            box.update(line, layout=False)  # two lines, fixed in app.tcss

    # -- editing ------------------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "mapper-expr" and self.target:
            event.stop()
            self.set_field(self.target, event.value)
            marked = set(self.marks)
            self.refresh_preview()
            self.relabel(only=None if set(self.marks) != marked else self.target)
            self.show_target()
        elif event.input.id == "mapper-input":
            self.refresh_marks()

    def set_field(self, key: str, text: str) -> None:
        existing = self.canon.get(key)
        if not text.strip():
            if existing is not None:
                del self.fields[existing], self.canon[key]
            return
        if existing is None:
            existing = self.canon[key] = key
        self.fields[existing] = value_of(text)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "mapper-output":
            event.stop()
            self.load_output()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "mapper-file":
            return
        event.stop()
        path = event.value.strip()
        if not path:
            self.record = self.decl.get("sample")
        else:
            from workbench.project.mapper_tools import first_record

            try:
                self.record = await asyncio.to_thread(first_record, self.root, path)
            except Exception as exc:  # noqa: BLE001 - ConnectorError, ValueError: shown, never a crash
                self.app.notify(str(exc), title="Cannot read the record", severity="error")
                return
        self.refresh_marks()

    def refresh_marks(self) -> None:
        """The preview again, and the tree's ✗ marks when another record or input changed them."""
        marked = set(self.marks)
        self.refresh_preview()
        if set(self.marks) != marked:
            self.relabel()

    def suggestions(self) -> list[str]:
        from workbench.project.mapper_checks import input_fields
        from workbench.project.mappers import DataMapper

        names = list(self.record or {})
        try:
            names += [n for n in input_fields(self.project, DataMapper.model_validate(self.draft())) if n not in names]
        except Exception:  # noqa: BLE001 - a draft that does not validate yet
            pass
        return [f"${{input.{n}}}" if NAME_RE.match(n) else f'${{input["{n}"]}}' for n in names]

    def draft(self) -> dict[str, Any]:
        out = {k: v for k, v in self.decl.items() if k not in ("fields", "input", "output")}
        out["input"] = self.query_one("#mapper-input", Input).value.strip() or "record"
        out["output"] = str(self.query_one("#mapper-output", Select).value)
        out["fields"] = dict(self.fields)
        return out

    @guarded
    def refresh_preview(self) -> None:
        """Compile the draft and map the record: the output, and the problems on their targets."""
        from workbench.project.mapper_checks import compile_draft, preview
        from workbench.project.mappers import DataMapper

        box = self.query_one("#mapper-preview", Static)
        offered = self.suggestions()
        if offered != getattr(self, "_offered", None):  # a new record or input type: new completions
            self._offered = offered
            self.query_one("#mapper-expr", Input).suggester = SuggestFromList(offered, case_sensitive=False)
        try:
            decl = DataMapper.model_validate(self.draft())
        except Exception as exc:  # noqa: BLE001
            update_in_place(box, Text(str(exc).splitlines()[-1], style="red"))
            return
        if self.record is None:
            update_in_place(box, Text("no sample: name a CSV or JSON file above to preview a record", style="dim"))
            return
        shown = preview(compile_draft(self.mapper_name or "draft", decl), self.record)
        self.marks = {canonical(k, self.attributes): v for k, v in shown.by_target().items()}
        text = Text(json.dumps(shown.output, indent=2, ensure_ascii=False) if shown.output is not None else "",
                    style="green" if not shown.problems else "")
        for keys, message in shown.problems:
            text.append(f"\n✗ {'.'.join(map(str, keys))}: {message}", style="red")
        update_in_place(box, text)
        self.preview = shown

    # -- map by name ----------------------------------------------------------------------------------
    def action_map_by_name(self) -> None:
        from workbench.project.mapper_tools import map_by_name

        names = [s[len("${input."):-1] if s.startswith("${input.") else s for s in self.suggestions()]
        found = map_by_name(names, self.attributes, taken=set(self.canon))
        for target, expr in found.items():
            key = canonical(target, self.attributes)
            if key not in self.canon:
                self.set_field(key, expr)
        self.canon = {canonical(text, self.attributes): text for text in self.fields}
        self.refresh_preview()  # first: the tree's labels show its marks
        self.build_tree()
        self.app.notify(f"{len(found)} target(s) mapped by name: review them", title="Map by name")

    # -- saving -----------------------------------------------------------------------------------------
    @guarded
    def save(self) -> None:
        name = self.mapper_name
        if self.is_new:
            name = self.query_one("#mapper-name", Input).value.strip()
            if not NAME_RE.match(name):
                self.app.notify("a data mapper's name: letters, digits and _", severity="error")
                return
        mapper, is_new, base = self.draft(), self.is_new, self.base
        self.app.apply_edit("save the data mapper", lambda store: store.save_datamapper(
                                name, base.rebase(store, mapper) if base else mapper, new=is_new),
                            then=lambda _: self.dismiss(name))
