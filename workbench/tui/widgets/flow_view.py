"""The flow of an entry point: Start, step cards with `+` insertion points between them, nested
`if` / `foreach` steps indented, End, then the Error Handler with its steps.

Keys move between nodes; the view posts messages and the app edits the project. `set_status`
shows a run's per-step status on the cards (keyed by step address, e.g. "steps.1.then.0").
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from textual.binding import Binding
from textual.containers import VerticalScroll

from workbench.tui.issues import Issues
from workbench.tui.messages import (
    DeleteStepRequested,
    EditEntryRequested,
    EditStepRequested,
    InsertStepRequested,
    MoveStepRequested,
)
from workbench.tui.outline import Outline, child_lists
from workbench.tui.widgets.step_card import FlowNode, Heading, InsertPoint, StartNode, StepCard

BRANCH_TITLES = {"then": "then", "else": "else", "steps": "do"}


def next_address(address: str) -> str:
    """"steps.1.then.0" -> "steps.1.then.1": the slot after a step."""
    head, _, index = address.rpartition(".")
    return f"{head}.{int(index) + 1}"


class FlowView(VerticalScroll, can_focus=False):
    BINDINGS = [
        Binding("up", "move_focus(-1)", "Previous", show=False),
        Binding("down", "move_focus(1)", "Next", show=False),
        Binding("enter", "open", "Open", id="flow-open"),
        Binding("i,plus,insert", "insert", "Insert", id="insert-step"),
        Binding("shift+up,K", "move_step(-1)", "Up", id="move-step-up"),
        Binding("shift+down,J", "move_step(1)", "Down", id="move-step-down"),
        Binding("delete,x", "delete_step", "Delete", id="delete-step"),
        Binding("escape", "app.focus_tree", "Tree", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entry = ""
        self._shown: dict[str, Any] | None = None  # the entry's data as last shown
        self.statuses: dict[str, tuple[str, float | None]] = {}
        self.progress: dict[str, tuple[int, int, int]] = {}
        self.run_error: tuple[str, dict[str, Any]] | None = None  # (address, error)

    # -- building -------------------------------------------------------------------------------
    def show(self, entry: str, outline: Outline, issues: Issues, op_label: Callable[[str], str]) -> None:
        focused = self.app.focused
        keep = focused.key if isinstance(focused, FlowNode) and focused in self.walk_children() else None
        if entry != self.entry:
            self.clear_statuses()
        raw = outline.entrypoints.get(entry, {})
        if entry == self.entry and raw == self._shown:
            for card in self.query(StepCard):  # same flow: only diagnostics or labels changed
                card.update_view(issues.for_step(entry, card.address), op_label)
            return
        self.entry, self._shown = entry, copy.deepcopy(raw)
        nodes: list[Any] = [StartNode(raw)]
        self._steps(nodes, outline.steps(entry, "steps"), "steps", 0, issues, op_label)
        nodes.append(Heading("■ End", classes="flow-end"))
        nodes.append(Heading("⚠ Error Handler", classes="flow-error-handler"))
        self._steps(nodes, outline.steps(entry, "onError"), "onError", 0, issues, op_label)
        with self.app.batch_update():
            self.remove_children()
            self.mount_all(nodes)
        for address, (status, duration) in self.statuses.items():
            self._apply_status(address, status, duration)
        for address, progress in self.progress.items():
            self._card(address, lambda card, p=progress: card.set_progress(*p))
        if self.run_error is not None:
            self._card(self.run_error[0], lambda card, e=self.run_error[1]: card.set_run_error(e))
        if keep:
            self.call_after_refresh(self.focus_key, keep)

    def _steps(self, nodes: list, steps: list, container: str, depth: int, issues: Issues,
               op_label: Callable[[str], str]) -> None:
        for index, step in enumerate(steps):
            address = f"{container}.{index}"
            nodes.append(InsertPoint(address, depth))
            if not isinstance(step, dict):
                step = {}
            nodes.append(StepCard(address, step, depth, issues.for_step(self.entry, address), op_label))
            for branch, children in child_lists(step):
                nodes.append(Heading(BRANCH_TITLES[branch], depth + 1, classes="flow-branch"))
                self._steps(nodes, children, f"{address}.{branch}", depth + 1, issues, op_label)
        nodes.append(InsertPoint(f"{container}.{len(steps)}", depth))

    # -- a run's status per step (run_actions.py) -----------------------------------------------
    def set_status(self, address: str, status: str, duration_ms: float | None = None) -> None:
        """Show a step's run status: pending, running, ok, failed, skipped or cancelled."""
        self.statuses[address] = (status, duration_ms)
        self._apply_status(address, status, duration_ms)

    def set_progress(self, address: str, done: int, total: int, failed: int) -> None:
        """A foreach's progress bar: done/total, failed."""
        self.progress[address] = (done, total, failed)
        self._card(address, lambda card: card.set_progress(done, total, failed))

    def set_run_error(self, address: str, error: dict[str, Any]) -> None:
        """Highlight the step the run's error came from."""
        self.run_error = (address, error)
        self._card(address, lambda card: card.set_run_error(error))

    def reveal_step(self, address: str) -> None:
        self._card(address, lambda card: card.scroll_visible(animate=False))

    def clear_statuses(self) -> None:
        self.statuses.clear()
        self.progress.clear()
        self.run_error = None
        for card in self.query(StepCard):
            if card.status or card.progress or card.run_error:
                card.clear_run()

    def _apply_status(self, address: str, status: str, duration_ms: float | None) -> None:
        self._card(address, lambda card: card.set_status(status, duration_ms))

    def _card(self, address: str, apply: Callable[[StepCard], Any]) -> None:
        for card in self.query(StepCard):
            if card.address == address:
                apply(card)

    # -- focus ----------------------------------------------------------------------------------
    @property
    def nodes(self) -> list[FlowNode]:
        return list(self.query(FlowNode))

    @property
    def current(self) -> FlowNode | None:
        focused = self.app.focused
        return focused if isinstance(focused, FlowNode) and focused.parent is self else None

    def focus_key(self, key: str) -> bool:
        for node in self.nodes:
            if node.key == key:
                node.focus()
                return True
        return False

    def focus_first(self) -> None:
        nodes = self.nodes
        target = next((n for n in nodes if n.role == "step"), None) or (nodes[0] if nodes else None)
        if target:
            target.focus()

    def focus_step(self, address: str) -> None:
        if not self.focus_key(f"step:{address}"):
            self.focus_first()

    def action_move_focus(self, delta: int) -> None:
        nodes, current = self.nodes, self.current
        if not nodes:
            return
        index = nodes.index(current) + delta if current in nodes else 0
        nodes[max(0, min(index, len(nodes) - 1))].focus()

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("move_step", "delete_step"):
            current = self.current
            return current is not None and current.role == "step"  # hidden elsewhere
        return True

    # -- actions --------------------------------------------------------------------------------
    def open_node(self, node: FlowNode) -> None:
        if node.role == "insert":
            self.post_message(InsertStepRequested(self.entry, node.address))
        elif node.role == "step":
            self.post_message(EditStepRequested(self.entry, node.address))
        elif node.role == "start":
            self.post_message(EditEntryRequested(self.entry))

    def action_open(self) -> None:
        if self.current is not None:
            self.open_node(self.current)

    def action_insert(self) -> None:
        self.post_message(InsertStepRequested(self.entry, self.insert_address()))

    def insert_address(self) -> str:
        """Where `insert` puts a step: at a `+`, after a step, or first after Start."""
        current = self.current
        if current is None or current.role == "start":
            return "steps.0"
        if current.role == "insert":
            return current.address
        return next_address(current.address)

    def action_move_step(self, delta: int) -> None:
        current = self.current
        if current is not None and current.role == "step":
            self.post_message(MoveStepRequested(self.entry, current.address, delta))

    def action_delete_step(self) -> None:
        current = self.current
        if current is not None and current.role == "step":
            self.post_message(DeleteStepRequested(self.entry, current.address))
