"""`workbench config DIR list|get|set|unset`: the Configurations pane without the UI."""

from __future__ import annotations

import json
import sys

from workbench.cli.common import CliError, open_store, print_table, run_guarded


def configure(parser) -> None:
    parser.add_argument("dir", metavar="DIR", help="project folder")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    lst = sub.add_parser("list", help="name, type, required, value (secrets masked) and source")
    lst.add_argument("--json", action="store_true")
    get = sub.add_parser("get", help="print one value (secrets masked unless --reveal)")
    get.add_argument("name")
    get.add_argument("--reveal", action="store_true", help="print a secret in clear")
    put = sub.add_parser("set", help="write a value to Config.toml; VALUE `-` reads stdin")
    put.add_argument("name")
    put.add_argument("value", help="the value, or - to read it from stdin (keeps secrets out of shell history)")
    unset = sub.add_parser("unset", help="remove a value from Config.toml")
    unset.add_argument("name")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    store = open_store(args.dir)
    action = args.action or "list"
    # A file that does not parse: its values (or its configurables) would all look missing, or
    # unknown. Say why, whatever the action; nothing is written.
    for f in (store.project_file, store.config_file):
        if f.error:
            raise CliError(f"{f.error} (fix it by hand; it is not overwritten)")
    resolved = store.resolve_config()
    if action == "list":
        rows = [
            [rv.name, rv.decl.type, "yes" if rv.decl.required else "no",
             rv.error and "(invalid)" or rv.display(), rv.source + (" (secret)" if rv.decl.secret else "")]
            for rv in resolved.values.values()
        ]
        if getattr(args, "json", False):
            print(json.dumps([dict(zip(("name", "type", "required", "value", "source"), r)) for r in rows], indent=2))
        else:
            print_table(rows, ["NAME", "TYPE", "REQUIRED", "VALUE", "SOURCE"])
        return 0
    name = args.name
    if name not in store.project.configurables:
        from workbench.project.store import unknown_name

        raise CliError(unknown_name("configurable", name, store.project.configurables))
    if action == "get":
        rv = resolved.values[name]
        if rv.error:
            raise CliError(rv.error, 1)
        if rv.source == "missing":
            raise CliError(f"{name} has no value", 1)
        print(rv.display(reveal=args.reveal))
        return 0
    from workbench.project import EditError

    try:
        if action == "set":
            text = _stdin_text() if args.value == "-" else args.value
            store.set_value(name, text, from_text=True)
            shown = "••••" if store.project.configurables[name].secret else text
            print(f"{name} = {shown}  (Config.toml)")
        else:
            print(f"{name} unset" if store.unset_value(name) else f"{name} was not set in Config.toml")
    except EditError as exc:
        raise CliError(str(exc)) from None
    return 0


def _stdin_text() -> str:
    """The value piped in, as UTF-8 whatever PYTHONIOENCODING says."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:
        return sys.stdin.read().rstrip("\r\n")
    try:
        return raw.read().decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise CliError(f"stdin: not UTF-8 text (byte {exc.start + 1})") from None
