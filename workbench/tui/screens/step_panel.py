"""The step panel, opened from a `+` in the flow: the step kinds, then each connection, which
expands to its operations by label (scimClient → Create User). Type to filter; enter chooses."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static, Tree

from workbench.tui.widgets.footer import StableFooter

KINDS = {
    "log": ("Log", "write a message to the run log"),
    "set": ("Set variable", "keep a value in a variable"),
    "if": ("If", "run steps when a condition holds"),
    "foreach": ("For each", "run steps for every item of a list"),
    "return": ("Return", "end the run with a value"),
    "fail": ("Fail", "end the run with an error"),
}
Choice = tuple[str, str]  # ("kind", "log") or ("call", "scimClient.createUser")


class StepPanel(ModalScreen[Choice | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="close-step-panel"),
        Binding("down", "focus_tree", "Choose", show=False),
    ]

    def __init__(self, connections: list[tuple[str, Any]], where: str) -> None:
        super().__init__(classes="modal")
        self.connections = connections  # (name, ConnectorSpec or None)
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog step-panel-dialog"):
            yield Static(Text.assemble(("Add Step", "bold"), (f"  at {self.where} · type to filter · enter chooses",
                                                                "dim")))
            yield Input(placeholder="Filter: log, if, create user…", id="step-filter", compact=True)
            tree: Tree[Choice | None] = Tree("steps", id="step-tree")
            tree.show_root = False
            yield tree
        yield StableFooter()

    def on_mount(self) -> None:
        self.fill("")
        self.query_one("#step-filter", Input).focus()

    def fill(self, query: str) -> None:
        words = query.lower().split()

        def match(*texts: str) -> bool:
            haystack = " ".join(texts).lower()
            return all(w in haystack for w in words)

        tree = self.query_one("#step-tree", Tree)
        tree.clear()
        kinds = tree.root.add(Text("Steps", style="bold"), data=None, expand=True)
        for kind, (label, description) in KINDS.items():
            if match(kind, label, description):
                kinds.add_leaf(Text.assemble(label, ("  " + description, "dim")), data=("kind", kind))
        group = tree.root.add(Text("Connections", style="bold"), data=None, expand=True)
        for name, spec in self.connections:
            if spec is None:
                if match(name):
                    group.add_leaf(Text.assemble(name, ("  connector not available", "red")), data=None)
                continue
            ops = [op for op in spec.operations.values() if match(name, spec.name, op.label, op.name)]
            if not ops:
                continue
            node = group.add(Text.assemble((name, "bold"), ("  " + spec.name, "dim")), data=None,
                             expand=bool(words))
            for op in ops:
                node.add_leaf(op.label, data=("call", f"{name}.{op.name}"))
        if not self.connections:
            group.add_leaf(Text("no connections yet: add one with c", style="dim"), data=None)
        first = self.first_choice()
        if first is not None and words:
            tree.move_cursor(first)

    def first_choice(self):
        tree = self.query_one("#step-tree", Tree)
        stack = list(tree.root.children)
        while stack:
            node = stack.pop(0)
            if node.data is not None:
                return node
            stack = list(node.children) + stack
        return None

    def on_input_changed(self, event: Input.Changed) -> None:
        self.fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        tree = self.query_one("#step-tree", Tree)
        node = tree.cursor_node if tree.cursor_node is not None and tree.cursor_node.data else self.first_choice()
        if node is not None and node.data:
            self.dismiss(node.data)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        if event.node.data:
            self.dismiss(event.node.data)

    def action_focus_tree(self) -> None:
        tree = self.query_one("#step-tree", Tree)
        tree.focus()
