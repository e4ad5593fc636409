"""Diagnostics indexed by what they are about: a tree item or a step card."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

ItemKey = tuple[str, str]  # ("connections" | "entrypoints" | "configurables", name)


@dataclass
class Issues:
    diagnostics: list[Any] = field(default_factory=list)
    by_item: dict[ItemKey, list[Any]] = field(default_factory=dict)
    by_step: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # (entry, address)

    @classmethod
    def index(cls, diagnostics: list[Any]) -> Issues:
        by_item: dict[ItemKey, list[Any]] = defaultdict(list)
        by_step: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for diag in diagnostics:
            item, address = locate(diag)
            if item:
                by_item[item].append(diag)
            if item and address:
                by_step[(item[1], address)].append(diag)
        return cls(list(diagnostics), dict(by_item), dict(by_step))

    def for_item(self, section: str, name: str) -> list[Any]:
        return self.by_item.get((section, name), [])

    def for_section(self, section: str) -> list[Any]:
        return [d for (s, _), diags in self.by_item.items() if s == section for d in diags]

    def for_step(self, entry: str, address: str) -> list[Any]:
        return self.by_step.get((entry, address), [])

    @property
    def counts(self) -> tuple[int, int]:
        errors = sum(d.severity == "error" for d in self.diagnostics)
        return errors, len(self.diagnostics) - errors


def locate(diag: Any) -> tuple[ItemKey | None, str | None]:
    """(tree item, step address string) a diagnostic is about."""
    item, address = diag.about()
    return item, None if address is None else str(address)


def worst(diagnostics: list[Any]) -> str | None:
    if any(d.severity == "error" for d in diagnostics):
        return "error"
    return "warning" if diagnostics else None


MARKS = {"error": "✗", "warning": "⚠"}
