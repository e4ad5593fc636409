"""Small pieces shared by the CLI commands."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from workbench.cli import EXIT_FAILED, EXIT_USAGE


class CliError(Exception):
    """Print the message to stderr and exit with `code` (2: nothing was done)."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def add_dir(parser, help_text: str = "project folder (default: .)") -> None:
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR", help=help_text)


def open_store(path: str, config_file: str | None = None):
    from workbench.project import ProjectFileError, ProjectStore

    try:
        return ProjectStore.open(path, config_file=config_file)
    except ProjectFileError as exc:
        raise CliError(str(exc)) from None


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for number, pair in enumerate(pairs or [], 1):
        name, sep, value = pair.partition("=")
        if not sep or not name:  # not echoed: it may be a secret typed without its name
            why = "has no NAME before its =" if sep else "has no ="
            raise CliError(f"--set expects NAME=VALUE: the --set number {number} {why}")
        out[name.strip()] = value
    return out


def use_color(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") not in ("dumb", "vt100")


def style(text: str, code: str, stream: TextIO | None = None) -> str:
    return f"\033[{code}m{text}\033[0m" if use_color(stream or sys.stdout) else text


def print_table(rows: list[list[Any]], header: list[str], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
        print(style(line, "1", stream) if n == 0 else line, file=stream)


def run_guarded(fn, args) -> int:
    from workbench.project.files import ProjectFileError

    try:
        return fn(args)
    except CliError as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return exc.code
    except ProjectFileError as exc:  # e.g. a full disk or a read-only folder while saving
        print(f"workbench: {exc}", file=sys.stderr)
        return EXIT_FAILED
