"""The user's keymap: `$XDG_CONFIG_HOME/workbench/keymap.toml` (or `~/.config/...`), binding ids
to keys, e.g. `run-entry = "f9,ctrl+r"`; loaded with `App.set_keymap` so any binding with an id
can be remapped. A `[keymap]` table is read the same way."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path


def keymap_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "workbench" / "keymap.toml"


def load_keymap(env: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """(binding id -> keys, a problem to show or "")."""
    path = keymap_path(env)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, ""
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"{path}: {exc}"
    table = data.get("keymap", data)
    keymap = {str(k): v.replace(" ", "") for k, v in table.items() if isinstance(v, str)}
    wrong = [str(k) for k, v in table.items() if not isinstance(v, str)]
    return keymap, f"{path}: not a key string for {', '.join(wrong)}" if wrong else ""
