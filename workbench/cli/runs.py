"""`workbench runs DIR` lists past runs (id, entry, start, duration, status);
`workbench runs DIR show ID` replays one run's events as `workbench run` printed them.
`--json`: the list as a JSON array, a replay as JSON Lines. ID may be a unique prefix.
`show ID --step ADDRESS [--item N]`: the step inspector (runtime/inspect.py) as text, or one JSON
object with `--json`: arguments, result, duration, attempts, HTTP exchanges; a foreach's items.

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
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="a replay also shows each foreach item and the HTTP exchanges; --step lists every item")
    parser.add_argument("--step", metavar="ADDRESS",
                        help="inspect one step of the run: 0, 1.steps.0, onError.0; 1[12] is item 12 of the foreach at 1")
    parser.add_argument("--item", type=int, metavar="N", help="with --step: item N of its foreach")


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
    events = read_events(path)
    if args.step or args.item is not None:
        return _inspect(args, events)
    printer = EventPrinter(sys.stdout, verbose=args.verbose, json_lines=args.json, replay=True)
    for event in events:
        printer(event)
    return 0


def _inspect(args, events: list) -> int:
    from workbench.project.address import AddressError
    from workbench.runtime import inspect

    if not args.step:
        raise CliError("--item goes with --step ADDRESS (the foreach)")
    try:
        address, item = inspect.parse_target(args.step)
    except AddressError as exc:
        raise CliError(str(exc)) from None
    item = args.item if args.item is not None else item
    inspector = inspect.RunInspector()
    for event in events:
        inspector.add(event)
    if item is not None:
        record = inspector.item(address, item)
        if record is None:
            raise CliError(f"no item {item} of a foreach at step {address} in run {args.id}")
        print(json.dumps(record.to_dict(), indent=2, ensure_ascii=False, default=str) if args.json
              else "\n".join(inspect.item_lines(record)))
        return 0
    step = inspector.step(address)
    if step is None:
        raise CliError(f"step {address} did not run in run {args.id}")
    items = inspector.items_of(address) if step.kind == "foreach" or step.loop is not None else None
    if args.json:
        data = step.to_dict()
        if items is not None:
            data["items"] = [i.to_dict() for i in items]
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        print("\n".join(inspect.step_lines(step, items, all_items=args.verbose)))
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
