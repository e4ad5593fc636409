"""The base of a save: the item as a form opened it, so that a save never silently undoes what
another window (another app process, a hand edit) changed in the meantime.

A form records an `EditBase` when it opens. Its save calls `rebase(store, mine)` inside
`ProjectSession.edit`, which holds the project's write lock and has just re-read the files:
- the item is as it was: the form's values are written;
- another window changed it: the fields this form changed are written on top of the other side's,
  unless both changed the same field; then `EditConflict` names the item and the fields, and
  nothing is written (the form keeps its input);
- a step is found where it is now (another window inserted, deleted or moved steps), or the save
  is refused; it never lands on another step. A deleted or renamed item is a conflict.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from workbench.project.address import ROOTS, StepAddress
from workbench.project.store import EditError
from workbench.project.view import ProjectView, step_kind

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
_HOLE = "\0the step being edited"  # stands for the edited step when comparing the rest of its flow
_KEPT = "your changes were kept in the form (esc discards them and shows the other version)"


class EditConflict(EditError):
    """The item changed in another window since the form opened; nothing was written."""


@dataclass(frozen=True)
class EditBase:
    section: str  # "connections", "entrypoints", "datamappers", "configurables"; "values": Config.toml
    name: str
    data: Any  # the item (or step) as the form opened it, a deep copy
    address: StepAddress | None = None  # a step's; for an insert, the step the slot follows
    slot: str = ""  # an insert: "next" (after `address`), "start" (of the root list), or a branch name
    rest: Any = None  # a step's flow with the step left out: nothing else moved when it is unchanged
    keys: tuple[str, ...] | None = None  # the keys the form writes; None: the whole item

    # -- recording -------------------------------------------------------------------------------
    @classmethod
    def item(cls, section: str, name: str, data: Any, keys: tuple[str, ...] | None = None) -> EditBase:
        data = {k: data[k] for k in keys if k in data} if keys is not None else data
        return cls(section, name, _clean(copy.deepcopy(data), keys), keys=keys)

    @classmethod
    def value(cls, store: Any, name: str) -> EditBase:
        """A configurable's value as the files hold it now (Config.toml or the secrets file)."""
        return cls("values", name, copy.deepcopy(cls("values", name, None)._current(store)))

    @classmethod
    def step(cls, project: dict[str, Any], entry: str, address: str | StepAddress) -> EditBase:
        """The step at `address` of `entry` in the project's data (ProjectView.data)."""
        address = StepAddress.parse(address)
        view = ProjectView(None, project)  # type: ignore[arg-type] - only its data is read
        return cls("entrypoints", entry, copy.deepcopy(view.step_at(entry, address)), address,
                   rest=_without(view, entry, address))

    @classmethod
    def insert(cls, project: dict[str, Any], entry: str, at: str | StepAddress) -> EditBase:
        """The slot a new step goes in, by the step before it (or the step whose branch it opens)."""
        if str(at) in ROOTS:
            steps = ProjectView(None, project).steps(entry, str(at))  # type: ignore[arg-type]
            at = StepAddress.top(len(steps), str(at))
        slot = StepAddress.parse(at)
        if slot.index > 0:
            return cls.step(project, entry, slot.at(slot.index - 1)).with_slot("next")
        if slot.parent is None:
            return cls("entrypoints", entry, None, slot, "start")
        return cls.step(project, entry, slot.parent).with_slot(slot.branches[-1])

    def with_slot(self, slot: str) -> EditBase:
        return EditBase(self.section, self.name, self.data, self.address, slot, self.rest, self.keys)

    # -- checking, under the write lock ----------------------------------------------------------
    @property
    def label(self) -> str:
        if self.address is None:
            kind = {"values": "the value of", "entrypoints": "entry point", "datamappers": "data mapper"}.get(self.section, self.section[:-1])
            return f"{kind} {self.name}"
        kind = step_kind(self.data) if isinstance(self.data, dict) else "?"
        after = {"": "", "next": ", which your new step follows"}.get(self.slot, ", where your new step goes")
        return f"step {self.address} ({kind}) of {self.name}{after}"

    def check(self, store: Any) -> None:
        """Refuse unless the item is as it was (a value, or an item about to be deleted)."""
        current = self._current(store)
        if current != self.data:
            what = "was deleted or renamed" if current is MISSING else "changed"
            raise EditConflict(f"{self.label} {what} in another window since you opened this form; {_KEPT}")

    def rebase(self, store: Any, mine: Any) -> Any:
        """What to write for an item: `mine`, or the other side's item with this form's changes."""
        current = self._current(store)
        if current is MISSING:
            raise EditConflict(f"{self.label} was deleted or renamed in another window since you opened "
                               f"this form; {_KEPT}")
        if self.keys is not None:
            current = _clean({k: current[k] for k in self.keys if k in current}, self.keys)
            mine = _clean(dict(mine), self.keys)
        merged = self._merge(current, mine)
        if self.keys is not None:  # every key the form writes: None removes one
            return {k: merged.get(k) for k in self.keys}
        return merged

    def rebase_step(self, store: Any, mine: dict[str, Any]) -> tuple[StepAddress, dict[str, Any]]:
        """(where the step is now, what to write there)."""
        view, address = self._view(store), self.locate(store, in_place=True)
        return address, self._merge(view.step_at(self.name, address), mine)

    def locate(self, store: Any, *, in_place: bool = False) -> StepAddress:
        """Where the base step is now: unchanged, at one place. With `in_place`, also the step at
        its address when only that step changed (nothing else in its flow moved)."""
        view = self._view(store)
        assert self.address is not None
        if self.slot == "start":
            return self.address
        current = view.step_at(self.name, self.address)
        if current is not None and current == self.data and _without(view, self.name, self.address) == self.rest:
            return self.address
        same = [a for root in ROOTS for a in view.addresses(self.name, root) if view.step_at(self.name, a) == self.data]
        if len(same) == 1:
            return same[0]
        if in_place and not same and current is not None and _without(view, self.name, self.address) == self.rest \
                and step_kind(current) == step_kind(self.data):
            return self.address
        what = "is in two places now" if same else "was changed, moved or deleted"
        raise EditConflict(f"{self.label} {what} in another window since you opened this form; {_KEPT}")

    def insert_at(self, store: Any) -> StepAddress:
        """The slot for a new step, where the step it follows is now."""
        if self.slot == "start" or self.address is None:
            return self.address  # type: ignore[return-value] - the start of a root list
        anchor = self.locate(store, in_place=True)
        return anchor.next if self.slot == "next" else anchor.child(self.slot, 0)

    # -- helpers ---------------------------------------------------------------------------------
    def _merge(self, current: Any, mine: Any) -> Any:
        conflicts: list[tuple] = []
        merged = merge3(self.data, mine, current, (), conflicts)
        if conflicts:
            fields = ", ".join(".".join(map(str, path)) or "the whole item" for path in conflicts)
            raise EditConflict(f"{self.label} changed in another window since you opened this form, in the "
                               f"same field(s) you changed: {fields}. Nothing was saved; {_KEPT}")
        return merged

    def _view(self, store: Any) -> ProjectView:
        view = ProjectView(store.root, store.project_file.data)
        if self.name not in view.entrypoints:
            raise EditConflict(f"entry point {self.name} was deleted or renamed in another window since you "
                               f"opened this form; {_KEPT}")
        return view

    def _current(self, store: Any) -> Any:
        if self.section == "values":
            files = (store.secrets_file, store.config_file)
            return next((f.data[self.name] for f in files if self.name in f.data), None)
        table = store.project_file.data.get(self.section)
        return table.get(self.name, MISSING) if isinstance(table, dict) else MISSING


def merge3(base: Any, mine: Any, theirs: Any, path: tuple = (), conflicts: list | None = None) -> Any:
    """A three-way merge of plain TOML data, table by table: each side's changes to other keys are
    kept; a key both changed (to different values) goes into `conflicts`. Lists are one value."""
    conflicts = [] if conflicts is None else conflicts
    if mine == base or mine == theirs:
        return theirs
    if theirs == base:
        return mine
    if all(isinstance(v, dict) or v is MISSING for v in (base, mine, theirs)) and mine is not MISSING \
            and theirs is not MISSING:
        base = {} if base is MISSING else base
        out = {}
        for key in [*theirs, *(k for k in mine if k not in theirs)]:  # the other side's order
            value = merge3(base.get(key, MISSING), mine.get(key, MISSING), theirs.get(key, MISSING),
                           (*path, key), conflicts)
            if value is not MISSING:
                out[key] = value
        return out
    conflicts.append(path)
    return mine


def _clean(data: Any, keys: tuple[str, ...] | None) -> Any:
    """For a form that writes some keys: an empty value is an absent key (as the store writes it)."""
    if keys is None or not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items() if v not in (None, "")}


def _without(view: ProjectView, entry: str, address: StepAddress) -> Any:
    """The entry point's flows with the step at `address` left out (a hole in its place). Only
    the tables and lists on the way to the step are copied (a 20,000-step flow is deep-copied in
    ~30 ms, on each move key): the store replaces an edited entry point whole and never changes
    a step in place (store._edit), so the other steps can be shared."""
    flows: Any = {root: view.steps(entry, root) for root in ROOTS}
    node = flows
    try:
        for part in address.key_path[:-1]:
            child = node[part]
            if not isinstance(child, (dict, list)):
                return None
            node[part] = child = list(child) if isinstance(child, list) else dict(child)
            node = child
        node[address.index] = _HOLE
    except (KeyError, IndexError, TypeError):
        return None
    return flows
