"""WorkbenchApp's handler mixins (project_io, step_actions, run_actions, replay_actions, ...) share no
undeclared state: every `self.X` a mixin uses is its own method, an attribute it declares (its own
state, or what the app provides), or Textual's App API."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from textual.app import App

TUI = Path(__file__).resolve().parent.parent / "workbench" / "tui"
MIXINS = ["project_io", "connection_actions", "step_actions", "run_actions", "replay_actions", "mapper_actions"]


def undeclared(path: Path) -> dict[str, list[str]]:
    source = path.read_text(encoding="utf-8")
    out = {}
    for cls in (node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)):
        known = set(dir(App))
        for node in cls.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                known.add(node.name)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                known.add(node.target.id)
            elif isinstance(node, ast.Assign):
                known |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        body = ast.get_source_segment(source, cls) or ""
        used = set(re.findall(r"\bself\.([A-Za-z_]\w*)", body))
        out[cls.name] = sorted(used - known)
    return out


@pytest.mark.parametrize("module", MIXINS)
def test_every_attribute_a_mixin_uses_is_declared_in_it(module):
    found = undeclared(TUI / f"{module}.py")
    assert found and not any(found.values()), found


def test_the_check_sees_an_undeclared_attribute(tmp_path):
    sample = tmp_path / "mixin.py"
    sample.write_text("class Handlers:\n    declared: int\n\n    def on_x(self):\n"
                      "        return self.declared + self.hidden_state\n", encoding="utf-8")
    assert undeclared(sample) == {"Handlers": ["hidden_state"]}
