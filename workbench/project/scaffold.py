"""Create an empty project folder."""

from __future__ import annotations

import re
from pathlib import Path

from workbench.project.files import atomic_write
from workbench.project.store import CONFIG_FILE, PROJECT_FILE, STATE_DIR

SECRETS_FILE = "Config-secrets.toml"


class ScaffoldError(Exception):
    pass


def scaffold(root: Path, *, name: str | None = None, description: str = "") -> Path:
    root = Path(root)
    if (root / PROJECT_FILE).exists():
        raise ScaffoldError(f"{root / PROJECT_FILE} already exists")
    root.mkdir(parents=True, exist_ok=True)
    name = name or re.sub(r"[^A-Za-z0-9_.-]+", "-", root.resolve().name) or "integration"
    import tomlkit

    doc = tomlkit.document()
    integration = tomlkit.table()
    integration["name"] = name
    integration["description"] = description
    doc["integration"] = integration
    atomic_write(root / PROJECT_FILE, tomlkit.dumps(doc))
    if not (root / CONFIG_FILE).exists():
        atomic_write(root / CONFIG_FILE, "# Values of the configurables on this machine.\n")
    _ignore(root / ".gitignore", [f"{STATE_DIR}/", SECRETS_FILE])
    return root


def _ignore(gitignore: Path, patterns: list[str]) -> None:
    """Keep run history and the secrets file out of git; an existing .gitignore gets what it lacks."""
    text = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    missing = [p for p in patterns if p not in text.splitlines()]
    if missing:
        atomic_write(gitignore, text + ("\n" if text and not text.endswith("\n") else "") + "\n".join(missing) + "\n")
