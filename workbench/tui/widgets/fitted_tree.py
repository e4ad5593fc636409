"""A Tree whose labels never run off its edge unmarked: Textual cuts a line that is too wide at
the widget's edge; here it ends in `…`, and an item's trailing problem mark (✗, ⚠) stays."""

from __future__ import annotations

from typing import TypeVar

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from workbench.tui.issues import MARKS

Data = TypeVar("Data")


class FittedTree(Tree[Data]):
    def render_label(self, node: TreeNode[Data], base_style, style) -> Text:
        text = super().render_label(node, base_style, style)
        depth, parent = 0, node.parent
        while parent is not None and (self.show_root or parent is not self.root):
            depth, parent = depth + 1, parent.parent
        room = self.scrollable_content_region.width - depth * self.guide_depth
        if not 0 < room < text.cell_len:
            return text
        mark = next((m for m in MARKS.values() if m and text.plain.endswith(" " + m)), "")
        head, tail = (text[:-len(mark) - 1], text[-len(mark) - 1:]) if mark else (text, Text(""))
        head.truncate(max(1, room - tail.cell_len), overflow="ellipsis")
        return head + tail
