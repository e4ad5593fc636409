"""Diagnostics about where secret values sit on disk: files other users may read
(`config-permissions`) and a Config.toml that git tracks (`tracked-secret`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from workbench.project.secret_sources import keyring_reference

_tracked: dict[tuple[str, int], bool] = {}  # (file, git index mtime) -> tracked; check runs as you type


def secret_file_problems(store) -> list[tuple[str, str, str, str]]:
    """(code, message, configurable, file name) for each problem."""
    out = []
    config, secrets = store.config_file, store.secrets_file
    plain = [name for name, decl in store.project.configurables.items()
             if decl.secret and name in config.data and not keyring_reference(config.data[name])]
    for f, held in ((config, plain), (secrets, list(secrets.data))):
        mode = _mode(f.path) if held else None
        if mode is not None and mode & 0o077:
            out.append(("config-permissions", f"{f.path.name} holds the secret {held[0]} but other users may read "
                        f"it (mode {mode:04o}); run: chmod 600 {f.path}", held[0], f.path.name))
    if plain and git_tracks(config.path):
        held = f"the secret {plain[0]}" if len(plain) == 1 else "the secrets " + ", ".join(plain)
        name = plain[0] if len(plain) == 1 else "NAME"
        out.append(("tracked-secret", f"{config.path.name} holds {held} and git tracks the file: move "
                    f"{'it' if len(plain) == 1 else 'each'} with `workbench config {store.root} set {name} - "
                    "--secrets-file` (or --keyring), and remove it from the history", plain[0], config.path.name))
    return out


def _mode(path: Path) -> int | None:
    if os.name != "posix":
        return None
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def git_tracks(path: Path) -> bool:
    """True when `path` is in the index of the git repository around it. No repository above
    it: False without starting git."""
    index = next((parent / ".git" / "index" for parent in path.parents if (parent / ".git").exists()), None)
    if index is None:
        return False
    try:
        key = (str(path), index.stat().st_mtime_ns)
    except OSError:
        return False  # a repository with nothing staged yet
    if key not in _tracked:
        import subprocess

        try:
            done = subprocess.run(["git", "-C", str(path.parent), "ls-files", "--error-unmatch", "--", path.name],
                                  capture_output=True, timeout=5)
            _tracked[key] = done.returncode == 0
        except (OSError, subprocess.SubprocessError):  # no git here
            _tracked[key] = False
    return _tracked[key]
