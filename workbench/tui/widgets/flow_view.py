"""The flow of an entry point: Start, step cards with `+` insertion points between them, nested
`if` / `foreach` steps indented, End, then the Error Handler with its steps.

Keys move between nodes; the view posts messages and the app edits the project. `set_status`
shows a run's per-step status on the cards (keyed by StepAddress string, e.g. "1.then.0").
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from textual.binding import Binding
from textual.containers import VerticalScroll

from workbench.project.address import StepAddress
from workbench.project.view import ProjectView, child_lists
from workbench.tui.issues import Issues
from workbench.tui.messages import (
    DeleteStepRequested,
    EditEntryRequested,
    EditStepRequested,
    InsertStepRequested,
    InspectStepRequested,
    MoveStepRequested,
)
from workbench.tui.widgets.step_card import FlowNode, Heading, InsertPoint, StartNode, StepCard

BRANCH_TITLES = {"then": "then", "else": "else", "steps": "do"}
PAGE = 60  # nodes mounted first: a few screens
GROW = 4  # then a few more each time the focus gets within MARGIN nodes of the last mounted one
MARGIN = 12
WINDOW = 120  # nodes mounted at most


def next_address(address: str) -> str:
    """"1.then.0" -> "1.then.1": the slot after a step."""
    return str(StepAddress.parse(address).next)


class FlowView(VerticalScroll, can_focus=False):
    BINDINGS = [
        # Run and Cancel first: at 80 columns the footer has room for a few bindings only. The
        # ids are the app's, so a keymap that remaps them remaps these too.
        Binding("r,f5", "app.run_entry", "Run", id="run-entry"),
        Binding("escape", "app.cancel_run", "Cancel", id="cancel-run"),
        Binding("up", "move_focus(-1)", "Previous", show=False, id="flow-previous"),
        Binding("down", "move_focus(1)", "Next", show=False, id="flow-next"),
        Binding("enter", "open", "Open", id="flow-open"),
        Binding("v", "inspect", "Inspect", show=False, id="inspect-step"),  # what a step did in the run
        Binding("i,plus,insert", "insert", "Insert", id="insert-step"),
        Binding("shift+up,K", "move_step(-1)", "Up", id="move-step-up"),
        Binding("shift+down,J", "move_step(1)", "Down", id="move-step-down"),
        Binding("delete,x", "delete_step", "Delete", id="delete-step"),
        Binding("escape", "app.focus_tree", "Tree", show=False, id="flow-to-tree"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entry = ""
        self._shown: dict[str, Any] | None = None  # the entry's data as last shown
        self.statuses: dict[str, tuple[str, float | None]] = {}
        self.progress: dict[str, tuple[int, int, int]] = {}
        self.run_error: tuple[str, dict[str, Any]] | None = None  # (address, error)
        # A long flow is mounted a page at a time, as the focus gets near its end: 2,000 steps
        # would otherwise be 4,000 widgets to build before the first one shows.
        self._specs: list[tuple[str, Callable[[], Any]]] = []  # (node key or "", make the widget)
        self._mounted = 0  # specs[_lo:_mounted] are mounted, in order, as _widgets
        self._lo = 0
        self._widgets: list[Any] = []
        self._flow_nodes: list[FlowNode] = []  # the mounted focusable nodes, in order
        self._cards: dict[str, StepCard] = {}  # the mounted cards by address
        self._growing = False
        self._issues = Issues()
        self._op_label: Callable[[str], str] = lambda call: ""

    # -- building -------------------------------------------------------------------------------
    def show(self, entry: str, view: ProjectView, issues: Issues, op_label: Callable[[str], str]) -> None:
        focused = self.app.focused
        keep = focused.key if isinstance(focused, FlowNode) and focused.parent is self else None
        if entry != self.entry:
            self.clear_statuses()
        raw = view.entrypoints.get(entry, {})
        self._issues, self._op_label = issues, op_label
        if entry == self.entry and raw == self._shown:
            for card in self._cards.values():  # same flow: only diagnostics or labels changed
                card.update_view(issues.for_step(entry, card.address), op_label)
            return
        self.entry, self._shown = entry, copy.deepcopy(raw)
        specs: list[tuple[str, Callable[[], Any]]] = [("start:start", lambda: StartNode(raw))]
        self._steps(specs, view.steps(entry, "steps"), StepAddress.top(0))
        specs.append(("", lambda: Heading("■ End", classes="flow-end")))
        specs.append(("", lambda: Heading("⚠ Error Handler", classes="flow-error-handler")))
        self._steps(specs, view.steps(entry, "onError"), StepAddress.top(0, "onError"))
        self._specs, self._lo, self._mounted, self._widgets, self._flow_nodes, self._cards = specs, 0, 0, [], [], {}
        with self.app.batch_update():
            self.remove_children()
            self._grow(PAGE)
        if keep:
            self.call_after_refresh(self.focus_key, keep)

    def _steps(self, specs: list, steps: list, first: StepAddress) -> None:
        depth = first.depth
        for index, step in enumerate(steps):
            at = first.at(index)
            address = str(at)
            specs.append((f"insert:{address}", lambda a=address, d=depth: InsertPoint(a, d)))
            if not isinstance(step, dict):
                step = {}
            specs.append((f"step:{address}", lambda a=address, s=step, d=depth: self._make_card(a, s, d)))
            for branch, children in child_lists(step):
                specs.append(("", lambda b=branch, d=depth: Heading(BRANCH_TITLES[b], d + 1, classes="flow-branch")))
                self._steps(specs, children, at.child(branch))
        end = str(first.at(len(steps)))
        specs.append((f"insert:{end}", lambda a=end, d=depth: InsertPoint(a, d)))

    def _make_card(self, address: str, step: dict[str, Any], depth: int) -> StepCard:
        card = StepCard(address, step, depth, self._issues.for_step(self.entry, address), self._op_label)
        self._cards[address] = card
        return card

    def _restore_run(self, card: StepCard) -> None:
        """A card mounted during or after a run shows what the run did to it."""
        address = card.address
        status = self.statuses.get(address)
        if status is not None:
            card.set_status(*status)
        if address in self.progress:
            card.set_progress(*self.progress[address])
        if self.run_error is not None and self.run_error[0] == address:
            card.set_run_error(self.run_error[1])

    def _grow(self, count: int) -> bool:
        """Mount the next `count` nodes; False when all are mounted."""
        if self._mounted >= len(self._specs):
            return False
        widgets = [make() for _, make in self._specs[self._mounted: self._mounted + count]]
        self._mounted += len(widgets)
        self._widgets += widgets
        self._flow_nodes += [w for w in widgets if isinstance(w, FlowNode)]
        self.mount_all(widgets)
        self._trim(top=True)
        for widget in widgets:
            if isinstance(widget, StepCard):
                self._restore_run(widget)
        return True

    def _grow_to(self, key: str) -> bool:
        """Mount through the node `key` (and a page after it); False when there is no such node."""
        index = next((i for i, (k, _) in enumerate(self._specs) if k == key), None)
        if index is None:
            return False
        if not self._lo <= index < self._mounted:
            self._window_at(index)
        return True

    def _window_at(self, index: int) -> None:
        """Mount the window of nodes around spec `index` (a jump: a search, an error's step)."""
        self._lo = self._mounted = max(0, index - PAGE // 2)
        self._widgets, self._flow_nodes, self._cards = [], [], {}
        self.remove_children()
        self._grow(PAGE)

    def _grow_up(self, count: int) -> None:
        """Mount the `count` nodes above the window (moving up through a long flow)."""
        if self._lo == 0 or not self._widgets:
            return
        start = max(0, self._lo - count)
        widgets = [make() for _, make in self._specs[start: self._lo]]
        first = self._widgets[0]
        self._lo = start
        self._widgets = widgets + self._widgets
        self._flow_nodes = [w for w in widgets if isinstance(w, FlowNode)] + self._flow_nodes
        self.mount_all(widgets, before=first)
        for widget in widgets:
            if isinstance(widget, StepCard):
                self._restore_run(widget)
        self._trim(top=False)

    def _trim(self, *, top: bool) -> None:
        """Keep at most WINDOW nodes mounted: a long flow costs what a short one does."""
        excess = len(self._widgets) - WINDOW
        if excess <= 0:
            return
        if top:
            gone, self._widgets = self._widgets[:excess], self._widgets[excess:]
            self._lo += excess
        else:
            gone, self._widgets = self._widgets[-excess:], self._widgets[:-excess]
            self._mounted -= excess
        focused = self.app.focused
        if focused in gone:  # never the focused node: keep the window as it was
            self._widgets = gone + self._widgets if top else self._widgets + gone
            self._lo, self._mounted = (self._lo - excess, self._mounted) if top else (self._lo, self._mounted + excess)
            return
        dropped = set(gone)
        self._flow_nodes = [n for n in self._flow_nodes if n not in dropped]
        for widget in gone:
            if isinstance(widget, StepCard) and self._cards.get(widget.address) is widget:
                del self._cards[widget.address]
        height = sum(w.outer_size.height for w in gone) if top else 0
        self.remove_children(gone)
        if height:  # what was above the view went: the view stays where it was
            self.scroll_to(y=max(0, self.scroll_y - height), animate=False, immediate=True)

    # -- a run's status per step (run_actions.py) -----------------------------------------------
    def set_status(self, address: str, status: str, duration_ms: float | None = None) -> None:
        """Show a step's run status: pending, running, ok, failed, skipped or cancelled."""
        self.statuses[address] = (status, duration_ms)
        self._apply_status(address, status, duration_ms)

    def set_progress(self, address: str, done: int, total: int, failed: int) -> None:
        """A foreach's progress bar: done/total, failed."""
        first = address not in self.progress
        self.progress[address] = (done, total, failed)
        self._card(address, lambda card: card.set_progress(done, total, failed))
        if first:  # the bar appears: keep the card on screen, as small screens would hide it
            self.call_after_refresh(self.reveal_step, address)

    def set_run_error(self, address: str, error: dict[str, Any]) -> None:
        """Highlight the step the run's error came from."""
        self.run_error = (address, error)
        self._card(address, lambda card: card.set_run_error(error))

    def reveal_step(self, address: str) -> None:
        self._grow_to(f"step:{address}")
        self._card(address, lambda card: card.call_after_refresh(card.scroll_visible, animate=False))

    def clear_statuses(self) -> None:
        self.statuses.clear()
        self.progress.clear()
        self.run_error = None
        for card in self._cards.values():
            if card.status or card.progress or card.run_error:
                card.clear_run()

    def _apply_status(self, address: str, status: str, duration_ms: float | None) -> None:
        self._card(address, lambda card: card.set_status(status, duration_ms))

    def _card(self, address: str, apply: Callable[[StepCard], Any]) -> None:
        card = self._cards.get(address)
        if card is not None:  # not mounted yet: it gets its status when it is
            apply(card)

    # -- focus ----------------------------------------------------------------------------------
    @property
    def nodes(self) -> list[FlowNode]:
        """The mounted focusable nodes, in order."""
        return list(self._flow_nodes)

    @property
    def current(self) -> FlowNode | None:
        focused = self.app.focused
        return focused if isinstance(focused, FlowNode) and focused.parent is self else None

    def focus_key(self, key: str) -> bool:
        if not self._grow_to(key):
            return False
        node = next((n for n in self._flow_nodes if n.key == key), None)
        if node is not None:
            node.focus()
        return node is not None

    def focus_first(self) -> None:
        nodes = self._flow_nodes
        # The first step of the main flow, else Start (not an Error Handler step).
        target = next((n for n in nodes if n.role == "step" and not n.address.startswith("onError")), None)
        target = target or (nodes[0] if nodes else None)
        if target:
            target.focus()

    def focus_step(self, address: str) -> None:
        if not self.focus_key(f"step:{address}"):
            self.focus_first()

    def action_move_focus(self, delta: int) -> None:
        nodes, current = self._flow_nodes, self.current
        if not nodes:
            return
        index = (nodes.index(current) if current in nodes else -delta) + delta
        # At once, not after the queued messages as focus() does: ~12 ms sooner on screen.
        self.screen.set_focus(nodes[max(0, min(index, len(nodes) - 1))])
        if self._growing:
            return
        if index >= len(nodes) - MARGIN and self._mounted < len(self._specs):
            self._growing = True  # after this key is drawn: the next few nodes, before they are needed
            self.call_after_refresh(self._grow_later, 1)
        elif index < MARGIN and self._lo > 0:
            self._growing = True
            self.call_after_refresh(self._grow_later, -1)

    def _grow_later(self, direction: int) -> None:
        self._growing = False
        if direction > 0:
            self._grow(GROW)
        else:
            self._grow_up(GROW)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("move_step", "delete_step"):
            current = self.current
            # Dimmed (None), not hidden, elsewhere: the footer stays the same from node to node.
            return True if current is not None and current.role == "step" else None
        return True

    # -- actions --------------------------------------------------------------------------------
    def open_node(self, node: FlowNode) -> None:
        if node.role == "insert":
            self.post_message(InsertStepRequested(self.entry, node.address))
        elif node.role == "step" and self.statuses.get(node.address, ("pending",))[0] != "pending":
            self.post_message(InspectStepRequested(self.entry, node.address))  # it ran: what it did
        elif node.role == "step":
            self.post_message(EditStepRequested(self.entry, node.address))
        elif node.role == "start":
            self.post_message(EditEntryRequested(self.entry))

    def action_open(self) -> None:
        if self.current is not None:
            self.open_node(self.current)

    def action_inspect(self) -> None:
        current = self.current
        if current is not None and current.role == "step":
            self.post_message(InspectStepRequested(self.entry, current.address))

    def action_insert(self) -> None:
        self.post_message(InsertStepRequested(self.entry, self.insert_address()))

    def insert_address(self) -> str:
        """Where `insert` puts a step: at a `+`, after a step, or first after Start."""
        current = self.current
        if current is None or current.role == "start":
            return "0"
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
