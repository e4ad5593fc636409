"""Reading and writing project files safely: parse errors with file:line:col, atomic writes, and
a map from TOML key paths to line numbers for diagnostics."""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any


class ProjectFileError(Exception):
    """A project file could not be read or parsed. str() is `file:line:col: message`."""

    def __init__(self, path: Path | str, message: str, line: int | None = None, col: int | None = None):
        self.path, self.message, self.line, self.col = Path(path), message, line, col
        where = str(path) if line is None else f"{path}:{line}:{col or 1}"
        super().__init__(f"{where}: {message}")


_AT_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    """Fast read-only parse (tomllib). Errors carry file:line:col."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _AT_RE.search(msg)
        if m:
            raise ProjectFileError(path, msg[: m.start()], int(m.group(1)), int(m.group(2))) from None
        raise ProjectFileError(path, msg) from None


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectFileError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ProjectFileError(path, exc.strerror or str(exc)) from None


def atomic_write(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write via a temp file in the same folder, then rename, so a crash never leaves half a file.
    `mode` sets the permissions (e.g. 0o600) before the file becomes visible."""
    path = Path(path)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_RE = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-"']+)*)\s*=""")


def _split_key(key: str) -> list[str]:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_\-]+)', key)
    return [a or b or c for a, b, c in parts]


def key_lines(text: str) -> dict[tuple, int]:
    """Map key paths (tuples of str and int array indexes) to 1-based line numbers.

    A light line scanner, not a parser: it understands table headers, arrays of tables and
    `key = ` lines, which is what diagnostics need. Keys inside inline tables or multi-line
    values are found through `locate`, which falls back to the nearest known parent."""
    lines: dict[tuple, int] = {}
    counters: dict[tuple, int] = {}
    current: tuple = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER_RE.match(line)
        if header and not line.lstrip().startswith(("#",)):
            names = _split_key(header.group(2))
            path = _resolve_arrays(tuple(names), counters)
            if header.group(1) == "[[":
                index = counters.get(path, -1) + 1
                counters[path] = index
                path = path + (index,)
            current = path
            lines.setdefault(path, number)
            continue
        key = _KEY_RE.match(line)
        if key:
            path = current + tuple(_split_key(key.group(1)))
            lines.setdefault(path, number)
            rest = line[key.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def _resolve_arrays(names: tuple, counters: dict[tuple, int]) -> tuple:
    """`[a.b.c]` inside `[[a.b]]` refers to the latest element of a.b: insert its index."""
    out: tuple = ()
    for name in names:
        out = out + (name,)
        if out in counters and len(out) < len(names):
            out = out + (counters[out],)
    return out


def locate(lines: dict[tuple, int], path: tuple) -> int | None:
    """The line of `path`, or of its nearest ancestor that the scanner saw."""
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def format_key_path(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (part if re.fullmatch(r"[A-Za-z0-9_\-]+", part) else f'"{part}"')
    return out
