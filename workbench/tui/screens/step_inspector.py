"""The step inspector: what one step of a run (live, or replayed from the history) received,
returned and sent. Opened with enter on a step card that has a run status (or `v`).

The data is the session's RunInspector (workbench.runtime.inspect): the step's rendered arguments
(secrets masked), its result as a collapsible JSON tree whose node under the cursor is shown as a
`${...}` path (`c` copies it), its duration, its retries, its HTTP exchanges. A foreach (or a
step in its body) lists the items with their status; `f` shows the failed ones only, enter opens
an item's own inspector. `e` closes and edits the step; esc closes. The screen returns "edit" or None.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from workbench.runtime.inspect import ItemRecord, RunInspector, StepRecord, item_line, status_text, value_path
from workbench.runtime.lines import describe_error, format_duration
from workbench.tui.widgets.fitted_tree import FittedTree
from workbench.tui.widgets.footer import StableFooter

MAX_ITEMS_SHOWN = 1000  # options in the items list (f narrows it to the failed ones)
STATUS_STYLES = {"ok": "green", "failed": "red", "running": "cyan", "skipped": "dim", "cancelled": "yellow"}


def _text(*parts: Any) -> Text:
    text = Text.assemble(*parts)
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def add_json(parent: TreeNode, key: str, value: Any, var: str | None, parts: tuple = (), depth: int = 0) -> None:
    """`value` under `parent` as a tree; each node's data is (var, parts) when it has a `${...}` path."""
    data = (var, parts) if var is not None else None
    if isinstance(value, dict):
        node = parent.add(_text((key, "bold"), (f" {{{len(value)}}}", "dim")), data=data, expand=depth < 2)
        for name, child in value.items():
            add_json(node, str(name), child, var, (*parts, name), depth + 1)
    elif isinstance(value, (list, tuple)):
        node = parent.add(_text((key, "bold"), (f" [{len(value)}]", "dim")), data=data, expand=depth < 2)
        for index, child in enumerate(value):
            add_json(node, f"[{index}]", child, var, (*parts, index), depth + 1)
    else:
        parent.add_leaf(_text((key, "bold"), ": ", (json.dumps(value, ensure_ascii=False, default=str), "")),
                        data=data)


class StepInspectorScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="close-inspector"),
        Binding("c", "copy_path", "Copy ${…}", id="inspector-copy-path"),
        Binding("f", "toggle_failed", "Failed only", id="inspector-failed"),
        Binding("e", "edit", "Edit step", id="inspector-edit"),
    ]

    def __init__(self, inspector: RunInspector, address: str, *, item: int | None = None,
                 var_of: Callable[[str], str] = lambda address: "",
                 duration: Callable[[Any], str] = format_duration) -> None:
        super().__init__(classes="modal")
        self.inspector, self.address, self.item = inspector, address, item
        self.var_of, self.duration = var_of, duration
        self.failed_only = False
        self.path = ""

    @property
    def record(self) -> StepRecord | ItemRecord | None:
        if self.item is not None:
            return self.inspector.item(self.address, self.item)
        return self.inspector.step(self.address)

    @property
    def has_items(self) -> bool:
        return self.item is None and bool(self.inspector.items_of(self.address))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog inspector-dialog"):
            yield Static(id="inspector-title")
            yield Static(id="inspector-status")
            yield FittedTree(Text("step"), id="inspector-tree")
            yield Static(id="inspector-path")
            items = OptionList(id="inspector-items")
            items.display = self.has_items
            yield items
        yield StableFooter()

    def on_mount(self) -> None:
        self.show()
        tree = self.query_one("#inspector-tree", Tree)
        tree.set_class(self.has_items, "-with-items")  # a loop's tree is short: its items get the room
        (self.query_one("#inspector-items", OptionList) if self.has_items else tree).focus()

    # -- showing ---------------------------------------------------------------------------------
    def show(self) -> None:
        record = self.record
        title, status = self.query_one("#inspector-title", Static), self.query_one("#inspector-status", Static)
        tree = self.query_one("#inspector-tree", Tree)
        tree.clear()
        tree.show_root = False
        if record is None:
            title.update(_text((f"step {self.address}", "bold")))
            status.update(_text(("this step has not run", "dim")))
            return
        if isinstance(record, ItemRecord):
            label = self.inspector.steps.get(record.loop)
            title.update(_text((f"item {record.index}", "bold"), " of step ", (record.loop, "bold"),
                               (f" · {label.label}" if label else "", "")))
            status.update(self._status(record.status, status_text(record.status, record.duration_ms,
                                                                  retries=record.retries), record.error))
            self._item_tree(tree.root, record)
        else:
            where = f" [item {record.item}]" if record.item is not None else ""
            title.update(_text((f"step {record.address}{where}", "bold"), f" · {record.kind} · {record.label}"))
            text = status_text(record.status, record.duration_ms, record.attempts)
            if record.loop is not None and record.item is None:
                text += f" · once per item of the foreach at {record.loop}: enter on an item shows it"
            status.update(self._status(record.status, text, record.error))
            self._step_tree(tree.root, record, self.var_of(record.address))
            self._list_items()
        if not tree.root.children:
            tree.root.add_leaf(_text(("no arguments, result or HTTP exchanges recorded", "dim")))

    def _status(self, status: str, text: str, error: dict | None) -> Text:
        out = _text((text, STATUS_STYLES.get(status, "")))
        if error:
            out.append("\n")
            out.append(describe_error(error), style="red")
        return out

    def _step_tree(self, root: TreeNode, record: StepRecord, var: str) -> None:
        if record.args is not None:
            add_json(root, "arguments", record.args, None)
        if record.result is not None:
            add_json(root, "result", record.result, var or None)
        elif record.summary:
            root.add_leaf(_text(("result: ", "bold"), (record.summary, "")))
        if record.http:
            node = root.add(_text(("HTTP exchanges", "bold"), (f" [{len(record.http)}]", "dim")), expand=True)
            for h in record.http:
                code = h.get("status") if h.get("status") is not None else "no response"
                node.add_leaf(_text(f"{h.get('method')} {h.get('url')} → ", (str(code), "bold"),
                                    (f"  {self.duration(h.get('durationMs'))}", "dim")))
        if record.logs:
            node = root.add(_text(("logs", "bold"), (f" [{len(record.logs)}]", "dim")), expand=True)
            for log in record.logs:
                node.add_leaf(_text((f"{log.get('level')}  ", "dim"), str(log.get("message", ""))))

    def _item_tree(self, root: TreeNode, record: ItemRecord) -> None:
        if record.id is not None:
            root.add_leaf(_text(("id: ", "bold"), str(record.id)))
        elif record.summary:
            root.add_leaf(_text(("result: ", "bold"), record.summary))
        if not record.steps:
            root.add_leaf(_text(("its steps' events are not kept for an item that succeeded "
                                 "(`workbench run --trace` keeps them)", "dim")))
        for step in record.steps.values():
            mark = {"ok": "✓", "failed": "✗"}.get(step.status, "▶")
            node = root.add(_text((f"{mark} ", STATUS_STYLES.get(step.status, "")), (step.address, "bold"),
                                  f" {step.label}", (f"  {self.duration(step.duration_ms)}", "dim")), expand=True)
            if step.error:
                node.add_leaf(_text((describe_error(step.error, with_step=False), "red")))
            self._step_tree(node, step, self.var_of(step.address))

    def _list_items(self) -> None:
        options = self.query_one("#inspector-items", OptionList)
        items = self.inspector.items_of(self.address, failed_only=self.failed_only)
        options.display = self.has_items
        options.clear_options()
        shown = [Option(_text((item_line(i), STATUS_STYLES.get(i.status, ""))), id=str(i.index))
                 for i in items[:MAX_ITEMS_SHOWN]]
        if len(items) > MAX_ITEMS_SHOWN:
            shown.append(Option(_text((f"… {len(items) - MAX_ITEMS_SHOWN:,} more (f: the failed ones)", "dim")),
                                disabled=True))
        if not items:
            shown.append(Option(_text(("no failed items" if self.failed_only else "no items", "dim")), disabled=True))
        options.add_options(shown)
        if items:
            options.highlighted = 0

    # -- keys --------------------------------------------------------------------------------------
    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        data = event.node.data
        self.path = value_path(*data) if data else ""
        self.query_one("#inspector-path", Static).update(
            _text(("${…} ", "dim"), (self.path, "bold")) if self.path else _text(("", "")))

    def action_copy_path(self) -> None:
        if not self.path:
            self.notify("move the cursor to a node of the result", severity="warning", timeout=3)
            return
        self.app.copy_to_clipboard(self.path)
        self.notify(f"copied {self.path}", title="Inspector", timeout=4)

    def action_toggle_failed(self) -> None:
        if self.has_items:
            self.failed_only = not self.failed_only
            self._list_items()

    def action_edit(self) -> None:
        self.dismiss("edit")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit":
            return self.item is None
        if action == "toggle_failed":
            return self.has_items
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.app.push_screen(StepInspectorScreen(self.inspector, self.address, item=int(event.option.id),
                                                     var_of=self.var_of, duration=self.duration))
