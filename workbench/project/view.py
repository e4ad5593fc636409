"""A cheap read-only view of a project, for the app's first paint and its tree and flow.

No pydantic here: `ProjectView.read(root)` parses the files with tomllib so the first screen shows
before the store is imported; `ProjectView.of(store)` wraps the store's own parsed data (the same
dicts the models were validated from, so an entry point with an invalid step still shows) and the
configurables' status as `resolve_config` has it. Edits go through `ProjectStore`, never here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.project.address import StepAddress

PROJECT_FILE, CONFIG_FILE = "workbench.toml", "Config.toml"
STEP_KINDS = ("call", "sync", "set", "log", "if", "foreach", "return", "fail")
KIND_BRANCHES = {"if": ("then", "else"), "foreach": ("steps",)}


@dataclass(frozen=True)
class ConfigRow:
    name: str
    type: str
    secret: bool
    required: bool
    is_set: bool | None  # None until the store has resolved the values


@dataclass
class ProjectView:
    root: Path
    data: dict[str, Any] = field(default_factory=dict)  # workbench.toml as parsed
    errors: list[str] = field(default_factory=list)  # files that failed to parse
    config_set: dict[str, bool] | None = None  # configurable -> has a value

    @classmethod
    def read(cls, root: Path) -> ProjectView:
        """Straight from disk (the first paint). The values' status waits for the store."""
        path = Path(root) / PROJECT_FILE
        errors: list[str] = []
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
            data = {}  # RecursionError: nested too deep; the store says where
            errors.append(f"{path.name}: {exc}")
        return cls(Path(root), data, errors)

    @classmethod
    def of(cls, store: Any, *, env: Any = None, memory: Any = None) -> ProjectView:
        """The loaded store's data, and which configurables have a value."""
        errors = [str(f.error) for f in store.files if f.error]
        resolved = store.resolve_config(env=env, memory=memory)
        config_set = {name: rv.ok for name, rv in resolved.values.items()}
        return cls(store.root, store.project_file.data, errors, config_set)

    # -- sections ------------------------------------------------------------------------------
    @property
    def integration(self) -> dict[str, Any]:
        value = self.data.get("integration")
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        return str(self.integration.get("name") or self.root.name)

    @property
    def description(self) -> str:
        return str(self.integration.get("description") or "")

    def _table(self, section: str) -> dict[str, dict[str, Any]]:
        table = self.data.get(section)
        return {k: v for k, v in table.items() if isinstance(v, dict)} if isinstance(table, dict) else {}

    @property
    def connections(self) -> dict[str, dict[str, Any]]:
        return self._table("connections")

    @property
    def entrypoints(self) -> dict[str, dict[str, Any]]:
        return self._table("entrypoints")

    @property
    def datamappers(self) -> dict[str, dict[str, Any]]:
        return self._table("datamappers")

    @property
    def configurables(self) -> dict[str, dict[str, Any]]:
        return self._table("configurables")

    def config_rows(self) -> list[ConfigRow]:
        known = self.config_set
        return [ConfigRow(name, str(decl.get("type", "string")), bool(decl.get("secret")),
                          decl.get("default") is None, None if known is None else known.get(name, False))
                for name, decl in self.configurables.items()]

    # -- steps ---------------------------------------------------------------------------------
    def steps(self, entry: str, root: str = "steps") -> list[dict[str, Any]]:
        value = self.entrypoints.get(entry, {}).get(root, [])
        return value if isinstance(value, list) else []

    def step_at(self, entry: str, address: StepAddress | str) -> dict[str, Any] | None:
        node: Any = self.entrypoints.get(entry, {})
        try:
            for part in StepAddress.parse(address).key_path:
                node = node[part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        return node if isinstance(node, dict) else None

    def addresses(self, entry: str, root: str = "steps") -> list[StepAddress]:
        """Every step of a list, depth first."""
        out: list[StepAddress] = []

        def walk(steps: list[Any], first: StepAddress) -> None:
            for index, step in enumerate(steps):
                address = first.at(index)
                out.append(address)
                for branch, children in child_lists(step):
                    walk(children, address.child(branch))
        walk(self.steps(entry, root), StepAddress.top(0, root))
        return out


def step_kind(step: Any) -> str:
    """The first key naming a kind decides it; "?" for none."""
    if isinstance(step, dict):
        for key in step:
            if key in STEP_KINDS:
                return key
    return "?"


def child_lists(step: Any) -> list[tuple[str, list]]:
    """The nested step lists of an if / foreach step: [("then", [...]), ("else", [...])]."""
    if not isinstance(step, dict):
        return []
    out = []
    for name in KIND_BRANCHES.get(step_kind(step), ()):
        value = step.get(name, [])
        out.append((name, value if isinstance(value, list) else []))
    return out
