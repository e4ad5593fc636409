"""`FileConnection`: CSV and JSON files inside the project folder.

Paths are relative to `context.project_dir`. An absolute path, a `..` that leaves the folder, or
a symlink (anywhere on the path) that leads outside it is refused with a ConnectorError. There is
no check-then-open window: a path is walked one component at a time from a descriptor of the
project folder with O_NOFOLLOW, and symlinks are resolved here, so a folder swapped for a symlink
mid-walk is seen and never followed. Only regular files are read (a FIFO would block for ever).
Writes go through the project's one atomic writer (`workbench.project.files.write_at`) in the
walked folder's descriptor. File I/O runs in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import errno
import io
import json
import os
import posixpath
import stat
from pathlib import Path, PurePath
from typing import Any


from workbench.connectors.base import Connection, ConnectorError, ValidationFailed
from workbench.connectors.file import (
    ReadCsvParams,
    ReadJsonParams,
    WriteCsvParams,
    WriteJsonParams,
)
from workbench.project import files as project_files
from workbench.project.files import MAX_DEPTH, ProjectFileError, too_deep

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO opens at once
MAX_LINKS = 40  # symlinks resolved (and retries after a component changed) per path, like the kernel's


class FileConnection(Connection):
    def _root(self) -> Path:
        root = self.context.project_dir
        if root is None:
            raise ConnectorError("the file connector needs a project folder (none was given to the run)")
        return Path(os.path.abspath(root))  # as named: `_walk` resolves it, and accepts links using either

    def resolve(self, path: str) -> Path:
        """The lexical absolute path of `path` inside the project folder, or ConnectorError. The
        opens themselves walk the path safely (`_walk`); this only refuses the obvious early."""
        if not isinstance(path, str) or not path.strip():
            raise ConnectorError("a file path is required")
        root = self._root()
        pure = PurePath(path)
        if pure.is_absolute() or path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
            raise ConnectorError(f"refusing {path!r}: absolute paths are not allowed, use a path inside the project folder")
        normal = posixpath.normpath(path)
        if normal == ".." or normal.startswith("../"):
            raise ConnectorError(f"refusing {path!r}: it leaves the project folder")
        return root / normal

    # -- reads --------------------------------------------------------------------------------

    async def readCsv(self, params: Any) -> list[dict[str, str]]:
        params = self.params(params, ReadCsvParams)
        self.resolve(params.path)
        root = self._root()

        def read() -> list[dict[str, str]]:
            with _open_for_read(root, params.path, params.encoding) as handle:
                return _csv_rows(handle, params)

        try:
            return await asyncio.to_thread(read)
        except UnicodeDecodeError as exc:
            raise ConnectorError(f"{params.path}: not {params.encoding} text ({exc.reason})") from None

    async def readJson(self, params: Any) -> Any:
        params = self.params(params, ReadJsonParams)
        self.resolve(params.path)
        root = self._root()

        def read() -> Any:
            with _open_for_read(root, params.path, params.encoding) as handle:
                try:
                    value = json.load(handle)
                except RecursionError:
                    value = None
                    deep = True
                else:
                    deep = too_deep(value) is not None
            if deep:  # it would crash whatever walks it later (render, redaction, history)
                raise ConnectorError(f"{params.path}: nested deeper than {MAX_DEPTH} levels")
            return value

        try:
            return await asyncio.to_thread(read)
        except json.JSONDecodeError as exc:
            raise ConnectorError(f"{params.path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        except UnicodeDecodeError as exc:
            raise ConnectorError(f"{params.path}: not {params.encoding} text ({exc.reason})") from None

    # -- writes -------------------------------------------------------------------------------

    async def writeJson(self, params: Any) -> dict[str, Any]:
        params = self.params(params, WriteJsonParams)
        self.resolve(params.path)
        try:
            text = json.dumps(params.data, indent=params.indent, ensure_ascii=False) + "\n"
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValidationFailed(f"{params.path}: the data is not JSON ({exc})") from None
        data = text.encode()
        written = await asyncio.to_thread(_write, self._root(), params.path, data)
        return {"path": written, "bytes": len(data)}

    async def writeCsv(self, params: Any) -> dict[str, Any]:
        params = self.params(params, WriteCsvParams)
        self.resolve(params.path)
        columns = list(params.columns or [])
        if not params.columns:
            seen: set[str] = set()
            for row in params.data:
                for key in row:
                    if key not in seen:
                        seen.add(key)
                        columns.append(key)
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=columns, delimiter=params.delimiter, extrasaction="ignore")
        writer.writeheader()
        for row in params.data:
            writer.writerow({key: _cell(value) for key, value in row.items()})
        data = buffer.getvalue().encode()
        written = await asyncio.to_thread(_write, self._root(), params.path, data)
        return {"path": written, "rows": len(params.data)}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _csv_rows(handle, params: ReadCsvParams) -> list[dict[str, str]]:
    """Rows as objects. Strict (the default): a row whose field count is not the header's, or a
    broken quote, is an error naming the line where that record starts; rows are never merged
    silently nor extra fields put under a `null` key."""
    reader = csv.reader(handle, delimiter=params.delimiter, strict=params.strict)
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    line = 1
    try:
        for record in reader:
            at, line = line, reader.line_num + 1
            if header is None:
                header = record
                continue
            if not record:
                continue  # a blank line
            if len(record) != len(header):
                if params.strict:
                    fields = f"{len(record)} field" + ("s" if len(record) != 1 else "")
                    raise ConnectorError(f"{params.path}: line {at}: {fields}, the header has {len(header)} "
                                         "(strict = false allows ragged rows)")
                record = (record + [""] * len(header))[: len(header)]
            rows.append(dict(zip(header, record)))
    except csv.Error as exc:
        raise ConnectorError(f"{params.path}: line {line}: not valid CSV ({exc}; a stray quote?)") from None
    return rows


def _walk(root: Path, shown: str, *, create: bool = False) -> tuple[int, str, str]:
    """(a descriptor of the folder holding the file, the file's name, its path from the root).

    Every folder is opened with O_NOFOLLOW relative to its parent's descriptor, so what we check
    is what we open. A symlink is read and resolved here: kept when it stays inside the root,
    refused when it leads out. The caller closes the descriptor."""
    outside = f"refusing {shown!r}: a symlink on it points outside the project folder"
    prefixes = {os.path.realpath(root), os.path.abspath(root)}  # an absolute link may use either
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    fd, names, pending, links, via_link = os.dup(root_fd), [], shown.split("/"), 0, False
    try:
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not names:
                    raise ConnectorError(outside if via_link else f"refusing {shown!r}: it leaves the project folder")
                pending, names = names[:-1] + pending, []
                os.close(fd)
                fd = os.dup(root_fd)
                continue
            try:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISLNK(st.st_mode):
                links, via_link = links + 1, True
                if links > MAX_LINKS:
                    raise ConnectorError(f"{shown}: too many symlinks on the path")
                target = os.readlink(part, dir_fd=fd)
                if target.startswith("/"):
                    inside = [p for p in prefixes if target == p or target.startswith(p + "/")]
                    if not inside:
                        raise ConnectorError(outside)
                    pending, names = target[len(inside[0]):].split("/") + pending, []
                    os.close(fd)
                    fd = os.dup(root_fd)
                else:
                    pending = target.split("/") + pending
                continue
            if not any(p not in ("", ".") for p in pending):  # the last component: the file
                result, fd = (fd, part, "/".join(names + [part])), -1
                return result
            if st is None and not create:
                raise ConnectorError(f"{shown}: no such file in the project folder")
            if st is None:
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
            elif not stat.S_ISDIR(st.st_mode):
                raise ConnectorError(f"{shown}: {'/'.join(names + [part])} is not a folder")
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                    raise
                links += 1  # it changed since the stat (a swap): look again, a bounded number of times
                if links > MAX_LINKS:
                    raise ConnectorError(f"{shown}: the path keeps changing") from None
                pending.insert(0, part)
                continue
            os.close(fd)
            fd = child
            names.append(part)
        raise ConnectorError(f"{shown}: is a folder, not a file")
    finally:
        os.close(root_fd)
        if fd >= 0:
            os.close(fd)


class _open_for_read:
    def __init__(self, root: Path, shown: str, encoding: str) -> None:
        self.root, self.shown, self.encoding = root, shown, encoding
        self.handle: Any = None

    def __enter__(self) -> Any:
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValidationFailed(f"unknown encoding {self.encoding!r}") from None
        try:
            fd = self._open()
        except FileNotFoundError:
            raise ConnectorError(f"{self.shown}: no such file in the project folder") from None
        except OSError as exc:
            raise ConnectorError(f"{self.shown}: cannot read ({exc.strerror})") from None
        self.handle = open(fd, encoding=self.encoding, newline="")
        return self.handle

    def _open(self) -> int:
        for _ in range(MAX_LINKS):
            dir_fd, name, _path = _walk(self.root, self.shown)
            try:
                fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                continue  # it became a symlink since the walk: walk again
            finally:
                os.close(dir_fd)
            kind = stat.S_IFMT(os.fstat(fd).st_mode)
            if kind != stat.S_IFREG:
                os.close(fd)
                if kind == stat.S_IFDIR:
                    raise ConnectorError(f"{self.shown}: is a folder, not a file")
                what = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
                        stat.S_IFBLK: "a device"}.get(kind, "not a file")
                raise ConnectorError(f"{self.shown}: not a regular file ({what}); only regular files are read")
            os.set_blocking(fd, True)
            return fd
        raise ConnectorError(f"{self.shown}: the path keeps changing")

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _write(root: Path, shown: str, data: bytes) -> str:
    """Write `data` atomically at `shown` inside `root`; returns its path from the root."""
    try:
        dir_fd, name, path = _walk(root, shown, create=True)
    except OSError as exc:
        raise ConnectorError(f"{shown}: cannot write ({exc.strerror})") from None
    try:
        project_files.write_at(dir_fd, name, data, shown=shown)
    except ProjectFileError as exc:
        raise ConnectorError(str(exc)) from None
    finally:
        os.close(dir_fd)
    return path
