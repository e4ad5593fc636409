"""The project tree: Connections, Entry Points, Data Mappers and Configurations, with counts and marks."""

from __future__ import annotations

from contextlib import contextmanager

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from workbench.project.view import ProjectView
from workbench.tui.issues import MARKS, Issues, worst
from workbench.tui.messages import ItemChosen, ItemDeleteRequested
from workbench.tui.widgets.fitted_tree import FittedTree


@contextmanager
def _nothing():
    yield


NodeRef = tuple[str, str, str]  # (section, name, action)
SECTIONS = (
    ("connections", "Connections", "+ Add connection"),
    ("entrypoints", "Entry Points", "+ Add entry point"),
    ("datamappers", "Data Mappers", "+ Add data mapper"),
    ("configurables", "Configurations", "+ Add configurable"),
)
STYLES = {"error": "bold red", "warning": "yellow"}


def _told(diagnostics: list) -> list:
    """An item's diagnostics its line tells, but a configurable's missing value (its ✗ says so)."""
    return [d for d in diagnostics if d.code != "missing-value" or not d.key.startswith("configurables.")]


def problem_line(diagnostics: list) -> Text | None:
    from workbench.tui.field_jump import first_line

    return first_line(_told(diagnostics))


def _mark(diagnostics: list) -> Text:
    level = worst(diagnostics)
    return Text(" " + MARKS[level], style=STYLES[level]) if level else Text("")


class ProjectTree(FittedTree[NodeRef]):
    BINDINGS = [
        Binding("delete,x", "delete_item", "Delete", id="delete-item"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__("project", data=("", "", ""), **kwargs)
        self.show_root = False
        self.auto_expand = False  # enter opens an item; space folds a section
        self.guide_depth = 2
        self.issues = Issues()  # as last shown: a problem line's diagnostic

    def show(self, view: ProjectView, issues: Issues) -> None:
        """Rebuild the nodes, keeping the cursor on the same item."""
        current = self.cursor_node.data if self.cursor_node else None
        self.issues = issues
        folded = {n.data[0] for n in self.root.children if not n.is_expanded}
        with self.prevent(Tree.NodeHighlighted):
            self.clear()
            for section, title, add_label in SECTIONS:
                node = self.root.add(self._section_label(section, title, view, issues), data=(section, "", ""),
                                     expand=section not in folded)
                for name, label in self._items(section, view, issues):
                    node.add_leaf(label, data=(section, name, ""))
                    if line := problem_line(issues.for_item(section, name)):  # enter: the field it names
                        node.add_leaf(Text("  ") + line, data=(section, name, "problem"))
                node.add_leaf(Text(add_label, style="dim"), data=(section, "", "add"))
            _ = self.last_line  # lay out the lines now, so the cursor moves below stay quiet
            if current:
                self.select_ref(current, quiet=True)

    def select_ref(self, ref: NodeRef, *, quiet: bool = False) -> None:
        """Move the cursor to an item (or its section); quiet: without opening it."""
        node = self.find(ref) or (self.find((ref[0], "", "")) if ref[0] else None)
        if node is None:
            return
        with self.prevent(Tree.NodeHighlighted) if quiet else _nothing():
            if node.parent and not node.parent.is_expanded:
                node.parent.expand()
            _ = self.last_line
            self.move_cursor(node)

    def find(self, ref: NodeRef) -> TreeNode[NodeRef] | None:
        stack = list(self.root.children)
        while stack:
            node = stack.pop(0)
            if node.data == tuple(ref):
                return node
            stack.extend(node.children)
        return None

    def _section_label(self, section: str, title: str, view: ProjectView, issues: Issues) -> Text:
        count = len(getattr(view, section))
        label = Text.assemble(Text(title, style="bold"), Text(f" {count}", style="dim"))
        return label + _mark(issues.for_section(section))

    def _items(self, section: str, view: ProjectView, issues: Issues):
        if section == "connections":
            for name, decl in view.connections.items():
                yield name, Text.assemble(name, (f" {decl.get('connector', '?')}", "dim"),
                                          _mark(issues.for_item(section, name)))
        elif section == "entrypoints":
            for name, entry in view.entrypoints.items():
                clock = (" ◷", "cyan") if entry.get("schedule") else ""
                if entry.get("kind") == "service":  # its route: POST /hires
                    clock = (f" {str(entry.get('method') or 'POST').upper()} {entry.get('path') or '?'}", "dim")
                yield name, Text.assemble(name, clock, _mark(issues.for_item(section, name)))
        elif section == "datamappers":
            for name, mapper in view.datamappers.items():
                yield name, Text.assemble(name, (f" → {mapper.get('output', '?')}", "dim"),
                                          _mark(issues.for_item(section, name)))
        else:
            for row in view.config_rows():
                diagnostics = issues.for_item(section, row.name)
                secret = (" ••", "magenta") if row.secret else ""
                if diagnostics:
                    status = _mark(diagnostics)
                else:
                    status = (Text("") if row.is_set is None else Text(" ✓", style="green") if row.is_set
                              else Text(" ✗", style="bold red"))
                yield row.name, Text.assemble(row.name, secret, status)

    # -- events -----------------------------------------------------------------------------
    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        section, name, action = event.node.data or ("", "", "")
        if section and action != "add":
            self.post_message(ItemChosen(section, name))

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        section, name, action = event.node.data or ("", "", "")
        if action == "problem":
            from workbench.tui.field_jump import jump_to_field, shown

            jump_to_field(self.app, shown(_told(self.issues.for_item(section, name))))
            return
        self.post_message(ItemChosen(section, name, action, focus=True))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "delete_item" and self.app.form_open():  # type: ignore[attr-defined]
            return False
        return True

    def action_delete_item(self) -> None:
        node = self.cursor_node
        if node and node.data and node.data[1] and node.data[2] != "problem":  # not from a problem's line
            self.post_message(ItemDeleteRequested(node.data[0], node.data[1]))
