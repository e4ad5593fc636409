"""Reading and writing project files safely: parse errors with file:line:col, one atomic writer
(used by the project store and the file connector), a write lock, and a map from TOML key paths
to line numbers for diagnostics."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MAX_DEPTH = 64  # nesting of arrays/tables/objects; tomlkit stops at 100, Python's recursion soon after
BOM = "\ufeff"


class ProjectFileError(Exception):
    """A project file could not be read, parsed or written. str() is `file:line:col: message`."""

    def __init__(self, path: Path | str, message: str, line: int | None = None, col: int | None = None):
        self.path, self.message, self.line, self.col = Path(path), message, line, col
        where = str(path) if line is None else f"{path}:{line}:{col or 1}"
        super().__init__(f"{where}: {message}")


class EditError(ValueError):
    """An edit was refused (unknown name, duplicate, bad value); nothing was written."""


_AT_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    """Fast read-only parse (tomllib). Errors carry file:line:col. A BOM is skipped; nesting
    deeper than MAX_DEPTH is an error (it would crash whatever walks the data later)."""
    body = text[1:] if text.startswith(BOM) else text
    try:
        data = tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _AT_RE.search(msg)
        if m:
            raise ProjectFileError(path, msg[: m.start()], int(m.group(1)), int(m.group(2))) from None
        raise ProjectFileError(path, msg) from None
    except RecursionError:
        data = None
    deep = too_deep(data) if data is not None else ()
    if deep is not None:
        line, col = _deep_at(body)
        if line is None and deep:
            line = locate(key_lines(body), deep)
        raise ProjectFileError(path, f"nested deeper than {MAX_DEPTH} levels", line, col)
    return data


def too_deep(value: Any, limit: int = MAX_DEPTH) -> tuple | None:
    """The key path (its first keys) of a value nested deeper than `limit`, or None. Iterative."""
    stack = [(value, 0, ())]
    while stack:
        item, depth, path = stack.pop()
        if depth > limit:
            return path
        if isinstance(item, dict):
            stack.extend((v, depth + 1, path + (k,) if len(path) < 8 else path) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, depth + 1, path + (i,) if len(path) < 8 else path) for i, v in enumerate(item))
    return None


_TOKEN_RE = re.compile(r"\"\"\"|'''|[\"'#\[\]{}\n]")
_BASIC_RE = re.compile(r'(?:[^"\\\n]|\\.)*"?')


def _deep_at(text: str) -> tuple[int | None, int | None]:
    """Line and column where brackets first nest deeper than MAX_DEPTH (strings and comments
    skipped). Only used to place an error, so it may be rough."""
    depth, line, start, pos = 0, 1, 0, 0
    while (m := _TOKEN_RE.search(text, pos)) is not None:
        token, pos = m.group(), m.end()
        if token == "\n":
            line, start = line + 1, pos
        elif token in ('"""', "'''"):
            end = text.find(token, pos)
            end = len(text) if end < 0 else end + 3
            if (newlines := text.count("\n", pos, end)):
                line, start = line + newlines, text.rfind("\n", pos, end) + 1
            pos = end
        elif token == '"':
            pos = _BASIC_RE.match(text, pos).end()
        elif token in "'#":
            end = text.find("'" if token == "'" else "\n", pos)
            pos = len(text) if end < 0 else end + (token == "'")
        elif token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line, m.start() - start + 1
        else:
            depth = max(0, depth - 1)
    return None, None


def read_text(path: Path) -> str:
    """The file's text exactly: line endings and a BOM are kept, so a write can keep them too."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ProjectFileError(path, exc.strerror or str(exc)) from None
    return decode(path, raw)


def decode(path: Path | str, raw: bytes) -> str:
    """UTF-8 text, or ProjectFileError at the line and column of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[start:exc.start].decode("utf-8", "replace").lstrip(BOM)) + 1
        raise ProjectFileError(path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", line, col) from None


def tomlkit_parse(text: str):
    """The tomlkit document of a file's text (a BOM is not TOML: `keep_format` puts it back)."""
    import tomlkit

    return tomlkit.parse(text[1:] if text.startswith(BOM) else text)


def keep_format(new: str, old: str) -> str:
    """`new` with the BOM and the line endings of `old` (tomlkit writes new lines with LF)."""
    if old.startswith(BOM) and not new.startswith(BOM):
        new = BOM + new
    first = old.find("\n")
    if first > 0 and old[first - 1] == "\r":
        new = re.sub(r"(?<!\r)\n", "\r\n", new)
    return new


# -- writing -----------------------------------------------------------------------------------

_umask: int | None = None
_umask_lock = threading.Lock()


def umask() -> int:
    """The process umask, read once. os.umask() can only be read by setting it: set 077 for the
    moment, so a file another thread creates meanwhile is too private rather than too open."""
    global _umask
    with _umask_lock:
        if _umask is None:
            _umask = os.umask(0o077)
            os.umask(_umask)
    return _umask


def atomic_write(path: Path | str, data: str | bytes, *, mode: int | None = None) -> None:
    """Write `path` atomically. A symlink is written through: its target is replaced, with the
    temp file in the target's own folder. See `write_at`."""
    real = os.path.realpath(path)
    folder, name = os.path.split(real)
    try:
        dir_fd = os.open(folder or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise ProjectFileError(path, f"cannot write ({exc.strerror or exc})") from None
    try:
        write_at(dir_fd, name, data, mode=mode, shown=str(path))
    finally:
        os.close(dir_fd)


def write_at(dir_fd: int, name: str, data: str | bytes, *, mode: int | None = None, shown: str = "") -> None:
    """The one atomic writer: `name` in the folder `dir_fd` gets `data` through a temp file there,
    fsynced, then renamed over it, so a reader or a crash never sees half a file. Mode: `mode`
    (0o600 for secrets), else the existing file's, else 0o666 less the umask. Errors (a full
    disk, a read-only folder) are one ProjectFileError naming the file; the old file is intact."""
    shown = shown or name
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ProjectFileError(shown, f"cannot write ({exc.strerror or exc})") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise ProjectFileError(shown, "is a folder, not a file")
    if mode is None:
        mode = stat.S_IMODE(st.st_mode) if st is not None and stat.S_ISREG(st.st_mode) else 0o666 & ~umask()
    tmp = f".{name}.{secrets.token_hex(4)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)  # private until its mode is set
    except OSError as exc:
        raise ProjectFileError(shown, f"cannot write ({exc.strerror or exc})") from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        if isinstance(exc, OSError):
            raise ProjectFileError(shown, f"cannot write ({exc.strerror or exc})") from None
        raise
    with contextlib.suppress(OSError):  # make the rename durable; some file systems refuse
        os.fsync(dir_fd)


@contextlib.contextmanager
def locked(lock_path: Path, timeout: float = 10.0) -> Iterator[None]:
    """Hold an exclusive fcntl lock on `lock_path` (created if need be) for a read-modify-write,
    so two processes editing one project never lose an update. Where the lock file cannot be
    made (a read-only folder) nothing can be written either: go on, and let the write say why."""
    import fcntl

    try:
        lock_path.parent.mkdir(exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        yield
        return
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    break  # a file system without locks: go on unlocked
                if time.monotonic() > deadline:
                    raise ProjectFileError(lock_path, f"another process has held this lock for {timeout:g} s") from None
                time.sleep(0.005)
        yield
    finally:
        os.close(fd)  # releases the lock


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
    text = text[1:] if text.startswith(BOM) else text
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
            quoted = f"'{part}'" if '"' in part and "'" not in part else f'"{part}"'  # a TOML literal key
            out += ("." if out else "") + (part if re.fullmatch(r"[A-Za-z0-9_\-]+", part) else quoted)
    return out
