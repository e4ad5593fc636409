"""`FileConnection`: CSV and JSON files inside the project folder.

Paths are relative to `context.project_dir`. An absolute path, a `..` that leaves the folder, or
a symlink (anywhere on the path) that resolves outside it is refused with a ConnectorError before
anything is read or written. Writes go to a temporary file in the target folder, are flushed to
disk and renamed over the target (`os.replace`), so a reader never sees half a file. File I/O
runs in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import tempfile
from pathlib import Path, PurePath
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from workbench.connectors.base import Connection, ConnectorError, ValidationFailed
from workbench.connectors.file import ReadCsvParams, ReadJsonParams, WriteCsvParams, WriteJsonParams


class FileConnection(Connection):
    def _root(self) -> Path:
        root = self.context.project_dir
        if root is None:
            raise ConnectorError("the file connector needs a project folder (none was given to the run)")
        return Path(root).resolve()

    def resolve(self, path: str) -> Path:
        """The absolute path of `path` inside the project folder, or ConnectorError."""
        if not isinstance(path, str) or not path.strip():
            raise ConnectorError("a file path is required")
        root = self._root()
        pure = PurePath(path)
        if pure.is_absolute() or path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
            raise ConnectorError(f"refusing {path!r}: absolute paths are not allowed, use a path inside the project folder")
        target = (root / pure).resolve()  # follows symlinks, collapses ..
        if target != root and not target.is_relative_to(root):
            reason = "it leaves the project folder"
            if ".." not in pure.parts:
                reason = "a symlink on it points outside the project folder"
            raise ConnectorError(f"refusing {path!r}: {reason}")
        return target

    @staticmethod
    def _coerce(params: Any, model: type[BaseModel]) -> Any:
        if isinstance(params, model):
            return params
        if isinstance(params, BaseModel):
            params = params.model_dump(exclude_unset=True)
        try:
            return model.model_validate(params or {})
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise ValidationFailed(f"invalid params: {where}: {first.get('msg')}") from None

    def _relative(self, target: Path) -> str:
        return target.relative_to(self._root()).as_posix()

    # -- reads --------------------------------------------------------------------------------

    async def readCsv(self, params: Any) -> list[dict[str, str]]:
        params = self._coerce(params, ReadCsvParams)
        target = self.resolve(params.path)

        def read() -> list[dict[str, str]]:
            with _open_for_read(target, params.path, params.encoding) as handle:
                return [dict(row) for row in csv.DictReader(handle, delimiter=params.delimiter)]

        try:
            return await asyncio.to_thread(read)
        except csv.Error as exc:
            raise ConnectorError(f"{params.path}: not valid CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise ConnectorError(f"{params.path}: not {params.encoding} text ({exc.reason})") from None

    async def readJson(self, params: Any) -> Any:
        params = self._coerce(params, ReadJsonParams)
        target = self.resolve(params.path)

        def read() -> Any:
            with _open_for_read(target, params.path, params.encoding) as handle:
                return json.load(handle)

        try:
            return await asyncio.to_thread(read)
        except json.JSONDecodeError as exc:
            raise ConnectorError(f"{params.path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        except UnicodeDecodeError as exc:
            raise ConnectorError(f"{params.path}: not {params.encoding} text ({exc.reason})") from None

    # -- writes -------------------------------------------------------------------------------

    async def writeJson(self, params: Any) -> dict[str, Any]:
        params = self._coerce(params, WriteJsonParams)
        target = self.resolve(params.path)
        try:
            text = json.dumps(params.data, indent=params.indent, ensure_ascii=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(f"{params.path}: the data is not JSON ({exc})") from None
        data = text.encode()
        await asyncio.to_thread(_atomic_write, target, data, params.path)
        return {"path": self._relative(target), "bytes": len(data)}

    async def writeCsv(self, params: Any) -> dict[str, Any]:
        params = self._coerce(params, WriteCsvParams)
        target = self.resolve(params.path)
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
        await asyncio.to_thread(_atomic_write, target, data, params.path)
        return {"path": self._relative(target), "rows": len(params.data)}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


class _open_for_read:  # noqa: N801 - a context manager with clear errors
    def __init__(self, target: Path, shown: str, encoding: str) -> None:
        self.target, self.shown, self.encoding = target, shown, encoding
        self.handle: Any = None

    def __enter__(self) -> Any:
        try:
            self.handle = open(self.target, encoding=self.encoding, newline="")  # noqa: SIM115
        except FileNotFoundError:
            raise ConnectorError(f"{self.shown}: no such file in the project folder") from None
        except IsADirectoryError:
            raise ConnectorError(f"{self.shown}: is a folder, not a file") from None
        except LookupError:
            raise ValidationFailed(f"unknown encoding {self.encoding!r}") from None
        except OSError as exc:
            raise ConnectorError(f"{self.shown}: cannot read ({exc.strerror})") from None
        return self.handle

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _atomic_write(target: Path, data: bytes, shown: str) -> None:
    if target.is_dir():
        raise ConnectorError(f"{shown}: is a folder, not a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConnectorError(f"{shown}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            try:
                os.chmod(tmp, target.stat().st_mode & 0o777)
            except OSError:
                pass
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ConnectorError(f"{shown}: cannot write ({exc.strerror})") from None


def _umask() -> int:
    """The process umask, read without os.umask() (which would change it, racing other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
