"""One address for a step, everywhere: the engine's events, the store's edit API, the diagnostics,
the run history and the app.

The one string form is the engine's, dotted and 0-based: `0`, `1.then.0`, `2.steps.1`, `onError.0`.
An address may also name a slot at the end of a list (where an insert goes). The TOML key path
(`("steps", 1, "then", 0)`) and the diagnostics' display form (`steps[1].then[0]`) are derived
from it, never parsed back by hand elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BRANCHES = ("then", "else", "steps")
ROOTS = ("steps", "onError")
_FORM = re.compile(r"^(?:onError\.)?\d+(?:\.(?:then|else|steps)\.\d+)*$")
# Written by the app and the store before the one form: "steps.1.then.0" (history, old callers).
_OLD_FORM = re.compile(r"^steps\.\d+(?:\.(?:then|else|steps)\.\d+)*$")
_KEY_PART = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\[\]"\']+)|\[(\d+)\]')


class AddressError(ValueError):
    """Not a step address."""


@dataclass(frozen=True, slots=True, order=True)
class StepAddress:
    root: str  # "steps" (the main flow) or "onError" (the Error Handler)
    indexes: tuple[int, ...]  # one per level
    branches: tuple[str, ...] = ()  # between the levels: len(indexes) - 1 of "then" | "else" | "steps"

    # -- the string form ------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str | StepAddress) -> StepAddress:
        if isinstance(text, StepAddress):
            return text
        text = str(text).strip()
        if _OLD_FORM.match(text):
            text = text.removeprefix("steps.")
        if not _FORM.match(text):
            raise AddressError(f"bad step address {text!r} (expected e.g. 0, 1.then.0 or onError.0)")
        parts = text.split(".")
        root = "steps"
        if parts[0] == "onError":
            root, parts = "onError", parts[1:]
        return cls(root, tuple(int(p) for p in parts[0::2]), tuple(parts[1::2]))

    def __str__(self) -> str:
        out = [] if self.root == "steps" else ["onError"]
        for depth, index in enumerate(self.indexes):
            if depth:
                out.append(self.branches[depth - 1])
            out.append(str(index))
        return ".".join(out)

    @classmethod
    def top(cls, index: int, root: str = "steps") -> StepAddress:
        return cls(root, (index,))

    # -- derived forms ----------------------------------------------------------------------------
    @property
    def key_path(self) -> tuple[str | int, ...]:
        """Below the entry point's table: ("steps", 1, "then", 0)."""
        out: list[str | int] = [self.root]
        for depth, index in enumerate(self.indexes):
            if depth:
                out.append(self.branches[depth - 1])
            out.append(index)
        return tuple(out)

    @property
    def display(self) -> str:
        """As the diagnostics write key paths: "steps[1].then[0]"."""
        text = ""
        for part in self.key_path:
            text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
        return text

    @classmethod
    def from_key_path(cls, parts: tuple | list) -> StepAddress | None:
        """The deepest step a key path below an entry point is about:
        ("steps", 1, "then", 0, "log") -> 1.then.0; None when it names no step."""
        if len(parts) < 2 or parts[0] not in ROOTS or not isinstance(parts[1], int):
            return None
        indexes, branches, rest = [parts[1]], [], list(parts[2:])
        while len(rest) >= 2 and rest[0] in BRANCHES and isinstance(rest[1], int):
            branches.append(rest[0])
            indexes.append(rest[1])
            rest = rest[2:]
        return cls(str(parts[0]), tuple(indexes), tuple(branches))

    # -- moving around ----------------------------------------------------------------------------
    @property
    def index(self) -> int:
        return self.indexes[-1]

    @property
    def depth(self) -> int:
        return len(self.indexes) - 1

    @property
    def container(self) -> tuple[str | int, ...]:
        """The key path of the list the step is in: ("steps", 1, "then")."""
        return self.key_path[:-1]

    def at(self, index: int) -> StepAddress:
        """The same list, another position."""
        return StepAddress(self.root, (*self.indexes[:-1], index), self.branches)

    @property
    def next(self) -> StepAddress:
        """The slot after this step."""
        return self.at(self.index + 1)

    def child(self, branch: str, index: int = 0) -> StepAddress:
        return StepAddress(self.root, (*self.indexes, index), (*self.branches, branch))

    @property
    def parent(self) -> StepAddress | None:
        if not self.branches:
            return None
        return StepAddress(self.root, self.indexes[:-1], self.branches[:-1])


def split_key_path(key: str) -> tuple[str | int, ...]:
    """A diagnostics key path as parts: 'entrypoints.a.steps[0].call' -> ('entrypoints', 'a',
    'steps', 0, 'call'); a template's 'payload.emails[0].value' the same way."""
    out: list[str | int] = []
    for double, single, bare, index in _KEY_PART.findall(key or ""):
        if index:
            out.append(int(index))
        else:
            part = double or single or bare
            out.append(int(part) if part.isdigit() and not (double or single) else part)
    return tuple(out)


def subject(file: str, key: str) -> tuple[tuple[str, str] | None, StepAddress | None]:
    """(tree item, step) a diagnostic is about, from its file and key path."""
    parts = split_key_path(key)
    if file == "Config.toml":
        return (("configurables", str(parts[0])) if parts else None), None
    if len(parts) >= 2 and parts[0] in ("connections", "entrypoints", "configurables", "datamappers", "types"):
        item = (str(parts[0]), str(parts[1]))
        return item, StepAddress.from_key_path(parts[2:]) if parts[0] == "entrypoints" else None
    return None, None
