"""What a run keeps so that `workbench run --resume RUN_ID` can continue it.

Next to the run's history, `.workbench/runs/<id>.resume` holds one JSON line per outcome:
- the header: the entry point;
- `{"step": i, "fp": ..., "vars": {...}}` when top-level step `i` finished: the variables it set
  (its result, a `set`'s value), and a fingerprint of the step as written; a foreach's result,
  the list of its items' values, is not written twice: `"items": {"name": "list"}` (or
  `"collect"`, errors = "collect" with none failed) and `"count"` rebuild it from the item lines;
- `{"step": i, "item": n, "value": ...}` when item `n` of the top-level foreach `i` finished.

Values are redacted as the history is: resolved secrets are never written. Configurables are not
kept: a resumed run resolves them afresh, so a fixed secret or URL takes effect. A resume skips
the steps that finished (restoring their variables), re-runs the first one that did not, and in a
foreach runs only the items that failed or never finished. It refuses when a finished step has
changed since, naming it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.runtime.history import _ENCODER, RESUME_SUFFIX, runs_dir

FLUSH_EVERY = 200  # lines buffered between writes
_ENCODE = _ENCODER.encode  # the history's: one encoder, not one per line


class ResumeError(Exception):
    """The run cannot be resumed; the message says why."""


def fingerprint(raw_step: Any) -> str:
    return hashlib.sha1(json.dumps(raw_step, sort_keys=True, default=str).encode()).hexdigest()[:16]


def state_path(root: Path, run_id: str) -> Path:
    return runs_dir(root) / f"{run_id}{RESUME_SUFFIX}"


class ResumeWriter:
    """Appends outcomes as the run goes; nothing is lost but what is buffered at a crash (at most
    FLUSH_EVERY items, which a resume then runs again)."""

    def __init__(self, root: Path, run_id: str, entry: str, redactor) -> None:
        self.path = state_path(root, run_id)
        self.redactor = redactor
        self.lines: list[str] = [json.dumps({"entry": entry})]
        self.failed = False
        self.kept: dict[int, int] = {}  # top-level foreach -> items kept

    def step(self, index: int, raw_step: Any, variables: dict[str, Any], items: str | None = None) -> None:
        """Step `index` finished; `items` names the variable holding its foreach's result."""
        record: dict[str, Any] = {"step": index, "fp": fingerprint(raw_step), "vars": variables}
        count = self.kept.get(index, 0)  # 0 for a foreach over nothing: no item line at all
        shape = _items_shape(variables.get(items), count) if items is not None else None
        if shape is not None:  # the item lines hold its values already
            record["vars"] = {k: v for k, v in variables.items() if k != items}
            record["items"], record["count"] = {items: shape}, count
        self._add(record, "vars")
        self.flush()

    def item(self, index: int, item: int, value: Any) -> None:
        self.kept[index] = self.kept.get(index, 0) + 1
        self._add({"step": index, "item": item, "value": value}, "value")
        if len(self.lines) >= FLUSH_EVERY:
            self.flush()

    def _add(self, record: dict[str, Any], key: str) -> None:
        """`record` as a line, its `key` redacted: walked only when a secret shows in the text."""
        line = _ENCODE(record)
        redactor = self.redactor
        if redactor is not None and redactor.secrets and redactor.shows_in(line):
            line = _ENCODE({**record, key: redactor.data(record[key])})
        self.lines.append(line)

    def flush(self) -> None:
        if not self.lines or self.failed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write("\n".join(self.lines) + "\n")
            self.path.chmod(0o600)
        except OSError:
            self.failed = True  # the history says why it could not write; resume is then unavailable
        self.lines = []


@dataclass
class ResumeState:
    """A run's outcomes, read back: the finished top-level steps and foreach items."""

    run_id: str
    entry: str
    steps: dict[int, dict[str, Any]] = field(default_factory=dict)  # index -> {"fp", "vars"}
    items: dict[int, dict[int, Any]] = field(default_factory=dict)  # foreach index -> item -> value

    @classmethod
    def load(cls, root: Path, run_id: str) -> ResumeState:
        path = state_path(root, run_id)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise ResumeError(f"run {run_id} cannot be resumed: it kept no resume state ({path.name})") from None
        except OSError as exc:
            raise ResumeError(f"{path}: {exc.strerror or exc}") from None
        state: ResumeState | None = None
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash: that outcome runs again
            if state is None:
                state = cls(run_id, str(record.get("entry", "")))
            elif "item" in record:
                state.items.setdefault(record["step"], {})[record["item"]] = record.get("value")
            else:
                variables = _with_items(record, state.items.get(record["step"], {}))
                if variables is not None:  # else an item line was torn: the foreach runs again
                    state.steps[record["step"]] = {"fp": record.get("fp"), "vars": variables}
        if state is None:
            raise ResumeError(f"run {run_id} cannot be resumed: its resume state is empty")
        return state

    def check(self, raw_steps: list[Any]) -> None:
        """Refuse when a finished step moved or changed since the run."""
        for index, done in sorted(self.steps.items()):
            if index >= len(raw_steps) or fingerprint(raw_steps[index]) != done["fp"]:
                raise ResumeError(f"cannot resume run {self.run_id}: step {index} of {self.entry} changed since it "
                                  "ran (a resume needs the steps it already did as they were); run it afresh")

    def done_prefix(self) -> int:
        """How many top-level steps finished in a row from the first: the resume starts after."""
        count = 0
        while count in self.steps:
            count += 1
        return count


def _items_shape(value: Any, kept: int) -> str | None:
    """How a foreach's result is made of its `kept` items' values, or None (written as it is)."""
    if isinstance(value, list) and len(value) == kept:
        return "list"
    if (isinstance(value, dict) and value.keys() == {"ok", "failed"} and value["failed"] == []
            and isinstance(value["ok"], list) and len(value["ok"]) == kept):
        return "collect"
    return None


def _with_items(record: dict[str, Any], items: dict[int, Any]) -> dict[str, Any] | None:
    """A step line's variables, a foreach's result rebuilt from its item lines (None: one is missing)."""
    variables = dict(record.get("vars") or {})
    for name, shape in (record.get("items") or {}).items():
        count = record.get("count")
        if not isinstance(count, int) or any(n not in items for n in range(count)):
            return None
        values = [items[n] for n in range(count)]
        variables[name] = values if shape == "list" else {"ok": values, "failed": []}
    return variables
