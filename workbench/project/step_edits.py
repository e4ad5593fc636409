"""The step edits of a project's store (`ProjectStore` inherits them): insert, update, move and
delete a step at its address, in the tomlkit document, so the rest of the file keeps its
formatting. Each runs under the project's write lock (`edit_locked`)."""

from __future__ import annotations

import functools
from typing import Any

from workbench.project.address import StepAddress
from workbench.project.files import EditError
from workbench.project.toml_doc import check_index, merge_table, replace_aot, split_address, step_array, to_table
from workbench.project.view import STEP_KINDS, step_kind


def edit_locked(method):
    """An edit method that runs under `ProjectStore.editing()`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.editing():
            return method(self, *args, **kwargs)
    return wrapper


class StepEdits:
    """Needs the store's `_require(section, name)` and `_edit(change, touched)`."""

    @edit_locked
    def add_step(self, entry: str, step: dict[str, Any], at: str | StepAddress | None = None) -> str:
        """Insert `step` at address `at` (a StepAddress or its string: "2", "1.then.0", "onError.0";
        "onError" alone appends there); None appends to the main steps. Returns the new step's
        address as a string."""
        self._require("entrypoints", entry)
        _check_step(step)
        container, index = split_address(at or "steps")

        def change(doc):
            aot = step_array(doc["entrypoints"][entry], container, create=True)
            position = len(aot) if index is None else min(index, len(aot))
            aot.insert(position, to_table(step, spaced=True))
            nonlocal address
            address = str(StepAddress.from_key_path((*container, position)))
        address = ""
        self._edit(change, ("entrypoints", entry))
        return address

    @edit_locked
    def update_step(self, entry: str, at: str | StepAddress, step: dict[str, Any]) -> None:
        _check_step(step)
        container, index = self._step_at(entry, at)

        def change(doc):
            aot = step_array(doc["entrypoints"][entry], container)
            check_index(aot, index, at)
            merge_table(aot[index], step)
        self._edit(change, ("entrypoints", entry))

    @edit_locked
    def move_step(self, entry: str, at: str | StepAddress, delta: int) -> str:
        """Move a step up (-1) or down (+1) within its list. Returns its new address."""
        container, index = self._step_at(entry, at)
        new_index = index + delta

        def change(doc):
            aot = step_array(doc["entrypoints"][entry], container)
            check_index(aot, index, at)
            if not 0 <= new_index < len(aot):
                raise EditError("the step is already at the " + ("top" if delta < 0 else "bottom"))
            items = [aot[i] for i in range(len(aot))]
            items.insert(new_index, items.pop(index))
            replace_aot(aot, items)
        self._edit(change, ("entrypoints", entry))
        return str(StepAddress.from_key_path((*container, new_index)))

    @edit_locked
    def remove_step(self, entry: str, at: str | StepAddress) -> None:
        container, index = self._step_at(entry, at)

        def change(doc):
            aot = step_array(doc["entrypoints"][entry], container)
            check_index(aot, index, at)
            aot.pop(index)
        self._edit(change, ("entrypoints", entry))

    def _step_at(self, entry: str, at: str | StepAddress) -> tuple[tuple, int]:
        """(the key path of the step's list, its index), for an entry point that exists."""
        self._require("entrypoints", entry)  # type: ignore[attr-defined]
        container, index = split_address(at)
        if index is None:
            raise EditError(f"{at!r} does not name a step")
        return container, index


def _check_step(step: dict[str, Any]) -> None:
    if not isinstance(step, dict) or step_kind(step) == "?":
        raise EditError("a step needs one of the keys: " + ", ".join(STEP_KINDS))
    first = next(iter(step))
    if first not in STEP_KINDS:
        # The first key names the kind in the file, so put it first.
        raise EditError(f"the step kind must be the first key (got {first!r} first)")
