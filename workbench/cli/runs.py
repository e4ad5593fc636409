"""`workbench runs DIR` lists past runs (id, entry, start, duration, status);
`workbench runs DIR show ID` replays one run's events as `workbench run` printed them.
`--json`: the list as a JSON array, a replay as JSON Lines. ID may be a unique prefix.

History lives in DIR/.workbench/runs/; the newest 200 runs are kept (WB_HISTORY_LIMIT=N to
change that).
"""

from __future__ import annotations

import json
import sys

from workbench.cli.common import CliError, open_store, print_table, run_guarded


def configure(parser) -> None:
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR", help="project folder (default: .)")
    parser.add_argument("action", nargs="?", metavar="show", help="`show ID` replays one run")
    parser.add_argument("id", nargs="?", metavar="ID", help="the run id (or a unique prefix)")
    parser.add_argument("--json", action="store_true", help="print JSON (a replay prints JSON Lines)")
    parser.add_argument("-v", "--verbose", action="store_true", help="a replay also shows the HTTP exchanges")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    if args.dir == "show" and args.action and args.id is None:  # `workbench runs show ID` in the project folder
        args.dir, args.action, args.id = ".", "show", args.action
    if args.action is None:
        return _list(args)
    if args.action != "show" or not args.id:
        raise CliError("usage: workbench runs [DIR] [show ID]")
    return _show(args)


def _list(args) -> int:
    from workbench.runtime.history import list_runs

    store = open_store(args.dir)
    runs = list_runs(store.root)
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=2))
        return 0
    if not runs:
        print(f"{store.name}: no runs yet (start one with `workbench run {args.dir}`)")
        return 0
    rows = [[r.id, f"{r.entry} {r.trigger}".rstrip(), _local_time(r.started), _duration(r.duration_ms), r.status]
            for r in reversed(runs)]
    print_table(rows, ["ID", "ENTRY", "STARTED", "DURATION", "STATUS"])
    return 0


def _show(args) -> int:
    from workbench.cli.run import EventPrinter
    from workbench.runtime.history import find_run, read_events

    store = open_store(args.dir)
    try:
        path = find_run(store.root, args.id)
    except KeyError as exc:
        raise CliError(exc.args[0]) from None
    printer = EventPrinter(sys.stdout, verbose=args.verbose, json_lines=args.json)
    for event in read_events(path):
        printer(event)
    return 0


def _local_time(iso_text: str) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso_text


def _duration(ms) -> str:
    from workbench.cli.run import _duration as fmt

    return fmt(ms) if ms is not None else "-"
