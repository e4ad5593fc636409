"""One TOML file of a project (`TomlFile`: its text, a fast tomllib parse, and a tomlkit document
made on first edit), and the tomlkit document edits the store makes: plain values as tables and
items, a table merged key by key, keys renamed in place, a step's array of tables found by address.
Untouched keys keep their formatting and comments."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.project.address import ROOTS, AddressError, StepAddress
from workbench.project.files import (
    EditError,
    ProjectFileError,
    atomic_write,
    keep_format,
    key_lines,
    locate,
    parse_toml,
    read_text,
    tomlkit_parse,
)


class TomlFile:
    """One TOML file: its text, a fast parse, and a tomlkit document made on first edit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = ""
        self.data: dict[str, Any] = {}
        self.error: ProjectFileError | None = None
        self.exists = False
        self._doc = None
        self._lines: dict | None = None
        self.stamp: tuple[int, int] | None = None

    def load(self) -> None:
        self._doc, self._lines, self.error = None, None, None
        self.stamp = self._stat()
        self.exists = self.stamp is not None
        try:
            self.text = read_text(self.path) if self.exists else ""
            self.data = parse_toml(self.path, self.text)
        except ProjectFileError as exc:  # not UTF-8, not TOML, too deep: a diagnostic, never a crash
            self.data, self.error = {}, exc

    def refresh(self) -> bool:
        """Re-read the file (under the write lock, before an edit); True when it had changed."""
        try:
            text = read_text(self.path) if self.path.exists() else None
        except ProjectFileError:
            text = "\0unreadable"  # differs from any text loaded: load() records the error
        if (text is None and not self.exists) or (text is not None and self.exists and text == self.text):
            return False
        self.load()
        return True

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def changed(self) -> bool:
        """True when the file on disk differs from what was loaded. A stat first: the app polls
        this every second, and reading a large file each time would be wasted work."""
        stamp = self._stat()
        # An equal stamp proves nothing for a file written in the last seconds (coarse mtimes).
        if stamp == self.stamp and (stamp is None or time.time_ns() - stamp[0] > 2_000_000_000):
            return False
        try:
            text = read_text(self.path) if stamp is not None else ""
        except ProjectFileError:
            return True
        if text != self.text or (stamp is not None) != self.exists:
            return True
        self.stamp = stamp  # touched, not changed
        return False

    def doc(self):
        if self.error:
            raise EditError(f"{self.error} (fix the file by hand; it is not overwritten)")
        if self._doc is None:
            self._doc = tomlkit_parse(self.text)
        return self._doc

    def save(self, mode: int | None = None, *, reparse: bool = True) -> None:
        """Write the document. With reparse=False the caller updates `data` itself (a full
        tomllib parse of a large file costs more than the edit)."""
        import tomlkit

        text = keep_format(tomlkit.dumps(self.doc()), self.text)
        if text == self.text and mode is None and self.exists:
            return
        atomic_write(self.path, text, mode=mode)
        self.text, self.exists, self._lines = text, True, None
        self.stamp = self._stat()
        if reparse:
            self.data = parse_toml(self.path, text)

    def line_of(self, path: tuple) -> int | None:
        if self._lines is None:
            self._lines = key_lines(self.text)
        return locate(self._lines, path)


def to_table(value: dict[str, Any], spaced: bool = False):
    """A dict as a tomlkit table: small flat dicts inline, lists of dicts as arrays of tables.
    `spaced` ends it with a blank line, as people write tables by hand."""
    import tomlkit

    table = tomlkit.table()
    for key, item in value.items():
        table[key] = to_item(item)
    if spaced and not any(isinstance(item, (tomlkit.items.Table, tomlkit.items.AoT)) for item in table.values()):
        table.add(tomlkit.nl())  # (a table with sub-tables already ends with a blank line)
    return table


def to_item(value: Any):
    import tomlkit

    if isinstance(value, dict):
        flat = all(not isinstance(v, (dict, list)) for v in value.values())
        if flat and len(value) <= 4:
            inline = tomlkit.inline_table()
            inline.update(value)
            return inline
        return to_table(value)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        aot = tomlkit.aot()
        for v in value:
            aot.append(to_table(v))
        return aot
    return tomlkit.item(value)


def merge_table(table, values: dict[str, Any]) -> None:
    """Set keys whose value changed and drop keys no longer present, so untouched keys keep
    their formatting and comments."""
    for key in list(table.keys()):
        if key not in values:
            del table[key]
    for key, value in values.items():
        set_key(table, key, value)


def set_key(table, key: str, value: Any) -> None:
    """Set `key` unless it holds `value` already: then it keeps its formatting and comments. A
    table given a table is merged key by key, so a change deep in a payload rewrites that key
    only, not the payload around it."""
    current = table.get(key)
    if (current.unwrap() if hasattr(current, "unwrap") else current) == value:
        return
    if isinstance(value, dict) and value and isinstance(current, dict) and hasattr(current, "unwrap"):
        merge_table(current, value)
    else:
        table[key] = to_item(value)


def rename_key(table, old: str, new: str) -> None:
    """Rename a key in place, keeping its position and formatting."""
    items = [(k, table[k]) for k in list(table.keys())]
    for k, _ in items:
        del table[k]
    for k, v in items:
        table[new if k == old else k] = v


def _walk(container, fn):
    for key in list(container.keys()) if hasattr(container, "keys") else range(len(container)):
        item = container[key]
        if isinstance(item, str):
            new = fn(item)
            if new != item:
                container[key] = new
        elif hasattr(item, "keys") or isinstance(item, list):
            _walk(item, fn)


def rewrite_strings(doc, fn: Callable[[str], str]) -> None:
    for section in ("connections", "entrypoints"):
        if section in doc:
            _walk(doc[section], fn)


def rewrite_call_targets(doc, old: str, new: str) -> None:
    def walk_steps(aot):
        for table in aot:
            call = table.get("call")
            if isinstance(call, str) and call.split(".", 1)[0] == old:
                table["call"] = new + "." + call.split(".", 1)[1]
            for branch in ("then", "else", "steps"):
                if branch in table and isinstance(table[branch], list):
                    walk_steps(table[branch])
    for entry in doc.get("entrypoints", {}).values():
        for part in ("steps", "onError"):
            if part in entry:
                walk_steps(entry[part])


def split_address(at: str | StepAddress) -> tuple[tuple, int | None]:
    """The list and position of a step address; "onError" alone names the Error Handler's list."""
    if str(at) in ROOTS:
        return (str(at),), None
    try:
        address = StepAddress.parse(at)
    except AddressError as exc:
        raise EditError(str(exc)) from None
    return address.container, address.index


def step_array(entry_table, container: tuple, create: bool = False):
    import tomlkit

    node = entry_table
    for depth, part in enumerate(container):
        if isinstance(part, int):
            check_index(node, part, ".".join(map(str, container)))
            node = node[part]
            continue
        child = node.get(part)
        if child is None or (isinstance(child, list) and not len(child) and not isinstance(child, tomlkit.items.AoT)):
            if not create or depth < len(container) - 1:
                raise EditError(f"there is no {'.'.join(map(str, container[: depth + 1]))}")
            node[part] = tomlkit.aot()
            child = node[part]
        node = child
    return node


def check_index(aot, index: int, at: str) -> None:
    if not 0 <= index < len(aot):
        raise EditError(f"there is no step at {at}")


def replace_aot(aot, items: list) -> None:
    while len(aot):
        aot.pop(0)
    for item in items:
        aot.append(item)
