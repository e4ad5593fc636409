"""Small pieces shared by the CLI commands."""

from __future__ import annotations

import argparse
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
    """`--set NAME=VALUE` pairs. A bad one is named by its position, never echoed: it may be a
    secret typed without its name (`--set c2VjcmV0==` reads as NAME c2VjcmV0, VALUE =)."""
    out = {}
    for number, pair in enumerate(pairs or [], 1):
        name, sep, value = pair.partition("=")
        why = ("has no =" if not sep else "has no NAME before its =" if not name
               else "looks like a value ending in =, not NAME=VALUE" if value and not value.strip("=") else None)
        if why:
            raise CliError(f"--set expects NAME=VALUE: the --set number {number} {why}")
        out[name.strip()] = value
    return out


def port(text: str) -> int:
    """argparse's type of a --port: 0 (a free one) to 65535."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a port number, 0-65535") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError("must be a port number, 0-65535")
    return number


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
