"""The verdicts of the deeper checks (a SCIM payload against its resource schema), kept across
processes in `.workbench/cache/deep-checks.json`, so a `workbench check` whose payloads have not
changed does not import scim2-models (~0.3 s of a cold start).

Only "valid" verdicts are kept (the common case, and the one that saves the import): an error
may quote a value of the payload, which a cache file must not hold. A verdict is keyed by the
check, the operation and a hash of the payload as written. The whole file is
dropped when the installed packages change (the site-packages folder's mtime) or the check's own
module does, so an upgrade of scim2-models never answers from a stale verdict. A folder that
cannot be written just means no cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import sysconfig
from pathlib import Path
from typing import Any

from workbench.project.files import ProjectFileError, atomic_write

CACHE_FILE = Path(".workbench") / "cache" / "deep-checks.json"
MAX_ENTRIES = 20_000


def _stamp(check: Any) -> str:
    parts = []
    for path in (sysconfig.get_paths().get("purelib"), getattr(sys.modules.get(check.__module__), "__file__", None)):
        try:
            parts.append(str(os.stat(path).st_mtime_ns) if path else "-")
        except OSError:
            parts.append("-")
    return f"{check.__module__}:{check.__qualname__}:{':'.join(parts)}"


class DeepVerdicts:
    """Verdicts read from a project's cache file; `save()` writes back what was added."""

    def __init__(self, root: Path | str) -> None:
        self.path = Path(root) / CACHE_FILE
        self.entries: dict[str, Any] = {}
        self.stamps: dict[str, str] = {}
        self.added = False
        self.checked: set[str] = set()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries = data.get("entries", {}) if isinstance(data, dict) else {}
            self.stamps = data.get("stamps", {}) if isinstance(data, dict) else {}
        except (OSError, ValueError):
            pass

    def key(self, check: Any, operation: str, text: str) -> str | None:
        name = f"{check.__module__}:{check.__qualname__}"
        if name not in self.checked:  # stat the folders once per check and process, not per payload
            self.checked.add(name)
            stamp = _stamp(check)
        else:
            stamp = self.stamps.get(name)
        if self.stamps.get(name) != stamp:  # installed packages or the check changed: forget its verdicts
            self.entries = {k: v for k, v in self.entries.items() if not k.startswith(name + "|")}
            self.stamps[name] = stamp
            self.added = True
        return f"{name}|{operation}|{hashlib.sha1(text.encode()).hexdigest()}"

    def get(self, key: str) -> list[dict] | None:
        found = self.entries.get(key)
        return found if isinstance(found, list) else None

    def put(self, key: str, errors: list[dict]) -> None:
        if errors:
            return  # an error may quote the payload: never on disk
        if len(self.entries) >= MAX_ENTRIES:
            self.entries.pop(next(iter(self.entries)))
        self.entries[key] = errors
        self.added = True

    def save(self) -> None:
        if not self.added:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps({"stamps": self.stamps, "entries": self.entries}))
        except (OSError, ProjectFileError):
            pass  # a read-only project: no cache, the same verdicts
        self.added = False
