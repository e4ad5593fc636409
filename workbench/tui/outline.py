"""A light, read-only view of the project files for the tree and the flow view.

It reads the raw TOML data (tomllib), so the first screen paints before pydantic or the store are
imported, and an entry point with an invalid step still shows (with its diagnostics). Once the
store is loaded the outline is rebuilt from the store's own data: the same dicts, so no flicker.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_FILE, CONFIG_FILE = "workbench.toml", "Config.toml"
STEP_KINDS = ("call", "set", "log", "if", "foreach", "return", "fail")
BRANCHES = ("then", "else", "steps")


@dataclass
class ConfigRow:
    name: str
    type: str
    secret: bool
    required: bool
    is_set: bool


@dataclass
class Outline:
    name: str
    description: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # workbench.toml
    config: dict[str, Any] = field(default_factory=dict)  # Config.toml
    env: Mapping[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # files that failed to parse
    memory: Mapping[str, object] = field(default_factory=dict)  # in-process values (the demo's)

    @classmethod
    def read(cls, root: Path, env: Mapping[str, str] | None = None, memory: Mapping | None = None) -> Outline:
        """Straight from disk, for the first paint."""
        errors: list[str] = []
        data = _read(root / PROJECT_FILE, errors)
        config = _read(root / CONFIG_FILE, errors)
        return cls._make(root, data, config, env, errors, memory)

    @classmethod
    def from_store(cls, store, env: Mapping[str, str] | None = None, memory: Mapping | None = None) -> Outline:
        errors = [str(f.error) for f in (store.project_file, store.config_file) if f.error]
        return cls._make(store.root, store.project_file.data, store.config_file.data, env, errors, memory)

    @classmethod
    def _make(cls, root: Path, data: dict, config: dict, env, errors: list[str], memory=None) -> Outline:
        integration = data.get("integration") if isinstance(data.get("integration"), dict) else {}
        return cls(
            name=str(integration.get("name") or Path(root).name),
            description=str(integration.get("description") or ""),
            data=data,
            config=config,
            env=os.environ if env is None else env,
            errors=errors,
            memory=memory or {},
        )

    # -- sections ------------------------------------------------------------------------------
    def _table(self, section: str) -> dict[str, Any]:
        table = self.data.get(section)
        return {k: v for k, v in table.items() if isinstance(v, dict)} if isinstance(table, dict) else {}

    @property
    def connections(self) -> dict[str, dict[str, Any]]:
        return self._table("connections")

    @property
    def entrypoints(self) -> dict[str, dict[str, Any]]:
        return self._table("entrypoints")

    @property
    def configurables(self) -> dict[str, dict[str, Any]]:
        return self._table("configurables")

    def config_rows(self) -> list[ConfigRow]:
        rows = []
        for name, decl in self.configurables.items():
            default = decl.get("default")
            is_set = (("WB_VAR_" + name.upper()) in self.env or name in self.config or name in self.memory
                      or default is not None)
            rows.append(ConfigRow(name, str(decl.get("type", "string")), bool(decl.get("secret")),
                                  default is None, is_set))
        return rows

    def steps(self, entry: str, container: str = "steps") -> list[dict[str, Any]]:
        value = self.entrypoints.get(entry, {}).get(container, [])
        return value if isinstance(value, list) else []

    def step_at(self, entry: str, address: str) -> dict[str, Any] | None:
        """The raw step at an address like "steps.1.then.0", or None."""
        parts = address.split(".")
        node: Any = self.entrypoints.get(entry, {})
        try:
            for part in parts:
                node = node[int(part)] if part.isdigit() else node[part]
        except (KeyError, IndexError, TypeError):
            return None
        return node if isinstance(node, dict) else None


def _read(path: Path, errors: list[str]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        errors.append(f"{path.name}: {exc}")
        return {}


def step_kind(step: Any) -> str:
    if isinstance(step, dict):
        for key in step:
            if key in STEP_KINDS:
                return key
    return "?"


def child_lists(step: dict[str, Any]) -> list[tuple[str, list]]:
    """The nested step lists of an if/foreach step: [("then", [...]), ("else", [...])]."""
    kind = step_kind(step)
    names = ("then", "else") if kind == "if" else ("steps",) if kind == "foreach" else ()
    out = []
    for name in names:
        value = step.get(name, [])
        out.append((name, value if isinstance(value, list) else []))
    return out


_KEY_PART = re.compile(r'"((?:[^"\\]|\\.)*)"|([^.\[\]"]+)|\[(\d+)\]')


def key_parts(key: str) -> list[str | int]:
    """'entrypoints.a.steps[0].call' -> ['entrypoints', 'a', 'steps', 0, 'call']."""
    out: list[str | int] = []
    for quoted, bare, index in _KEY_PART.findall(key):
        out.append(int(index) if index else (quoted or bare))
    return out


def step_address(parts: list[str | int]) -> str | None:
    """The deepest step address in a key path below an entry point: ['steps', 1, 'then', 0, 'log']
    -> 'steps.1.then.0'."""
    if len(parts) < 2 or parts[0] not in ("steps", "onError") or not isinstance(parts[1], int):
        return None
    address = [parts[0], parts[1]]
    rest = parts[2:]
    while len(rest) >= 2 and rest[0] in BRANCHES and isinstance(rest[1], int):
        address += rest[:2]
        rest = rest[2:]
    return ".".join(map(str, address))
