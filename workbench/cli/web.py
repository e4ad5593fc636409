"""`workbench web [DIR] [--host 127.0.0.1] [--port 8000] [--demo] [--allow-remote]
[--password-file FILE]`

Serves the app to browsers with textual-serve (the optional `web` extra). Each browser tab gets
its own app process on the same project; the tabs see each other's saves through the app's
external-change reload. `--demo` serves the demo: one sandbox identity provider, started here
and shared by every tab, its URL and credentials handed to each tab's app in memory.

A non-loopback --host needs --allow-remote. A password (--password-file, or WB_WEB_PASSWORD)
protects the page and the websocket; without one, a remote bind says on stderr that anyone who
can reach the port can edit the project and run its automations.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from workbench.cli import EXIT_OK
from workbench.cli.common import CliError, port, run_guarded

DEFAULT_PORT = 8000
PASSWORD_ENV = "WB_WEB_PASSWORD"
MISSING_EXTRA = ("`workbench web` needs textual-serve, in the `web` extra: pip install 'workbench[web]' "
                 "(in a clone: .venv/bin/pip install -e '.[web]', or `make install`)")


def configure(parser) -> None:
    parser.add_argument("dir", nargs="?", default=None, metavar="DIR",
                        help="project folder (default: .; with --demo, the sample project)")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default: 127.0.0.1; loopback only)")
    parser.add_argument("--port", type=port, default=DEFAULT_PORT,
                        help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--demo", action="store_true",
                        help="serve the demo: the sample against a shared in-process sandbox")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    parser.add_argument("--password-file", metavar="FILE",
                        help=f"ask browsers for the password in FILE (default: ${PASSWORD_ENV}, if set)")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    from workbench.sandbox.server import is_loopback

    remote = not is_loopback(args.host)
    if remote and not args.allow_remote:
        raise CliError(f"web listens on loopback only (127.0.0.0/8, localhost, ::1), not {args.host!r}; "
                       "pass --allow-remote to listen on another address (and give it a password)")
    root = _project_root(args)
    password = read_password(args.password_file)
    if remote and password is None:
        where = f"{args.host}:{args.port}" if args.port else f"the port it picks on {args.host}"
        print(f"workbench web: WARNING: no password (--password-file or {PASSWORD_ENV}): anyone who can reach "
              f"{where} can edit the project and run its automations", file=sys.stderr, flush=True)
    try:
        from workbench.web.server import WorkbenchWebServer
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in ("textual_serve", "aiohttp", "aiohttp_jinja2", "jinja2"):
            raise CliError(MISSING_EXTRA) from None
        raise

    sandbox = _start_demo_sandbox() if args.demo else None
    try:
        server = WorkbenchWebServer(root, host=args.host, port=args.port, password=password,
                                    demo_values=_demo_values(sandbox))
        try:
            server.serve_until_stopped()
        except OSError as exc:
            raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1) from None
    finally:
        if sandbox is not None:
            sandbox.stop()
    return EXIT_OK


def _project_root(args) -> Path:
    if args.demo:
        from workbench.cli.demo import project_dir

        return project_dir(args.dir).resolve()
    root = Path(args.dir or ".")
    if root.exists() and not root.is_dir():
        raise CliError(f"{root} is not a folder")
    # A missing folder is fine: like `workbench DIR`, the app offers to create the project.
    return root.resolve()


def read_password(password_file: str | None) -> str | None:
    """The password from the file (its first line's end trimmed) or the environment; None for
    none. The environment variable is removed so the tabs' app processes never inherit it."""
    from_env = os.environ.pop(PASSWORD_ENV, None)
    if password_file is None:
        if from_env is not None and not from_env:
            raise CliError(f"{PASSWORD_ENV} is set but empty")
        return from_env or None
    path = Path(password_file)
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise CliError(f"cannot read the password file {password_file}: {reason}") from None
    password = text.rstrip("\r\n")
    if not password:
        raise CliError(f"the password file {password_file} is empty")
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print(f"workbench web: note: {password_file} is readable by other users (chmod 600 it)", file=sys.stderr)
    return password


def _start_demo_sandbox():
    from workbench.sandbox import Sandbox

    try:
        return Sandbox().start()
    except OSError as exc:
        raise CliError(f"cannot start the sandbox on 127.0.0.1: {exc.strerror or exc}", 1) from None


def _demo_values(sandbox) -> dict[str, str] | None:
    if sandbox is None:
        return None
    from workbench.cli.demo import demo_values

    return demo_values(sandbox)
