"""`workbench schedule DIR [--set k=v ...] [--config FILE] [--json] [-v] [--grace SECONDS]`

Runs every automation that has a `schedule`, each in its timezone, until SIGINT or SIGTERM.
Prints each automation's next fire time; runs print like `workbench run` (prefixed with the
automation's name). A run never overlaps the previous run of the same automation. On the first
signal the runs in progress may finish for --grace seconds, then are cancelled; a second signal
cancels them at once. Exit codes: 0 stopped cleanly, 2 nothing to schedule or an invalid project.
"""

from __future__ import annotations

import signal
import sys

from workbench.cli import EXIT_OK, EXIT_USAGE
from workbench.cli.common import add_dir, open_store, parse_sets, run_guarded


def configure(parser) -> None:
    add_dir(parser)
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", help="a configurable value for every run")
    parser.add_argument("--config", metavar="FILE", help="read configurable values from FILE instead of Config.toml")
    parser.add_argument("--json", action="store_true", help="print the runs' events as JSON Lines (notes go to stderr)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also print a line per foreach item, and the HTTP exchanges")
    parser.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                        help="on stop, how long runs in progress may take to finish (default: 30)")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    import asyncio

    from workbench.cli.run import EventPrinter, print_preflight
    from workbench.runtime import Engine, PreflightError
    from workbench.runtime.schedule import Scheduler

    store = open_store(args.dir, args.config)
    overrides = parse_sets(args.set)
    scheduled = [name for name, entry in store.project.entrypoints.items() if entry.schedule]
    if not scheduled:
        print(f"{store.name}: no entry point has a schedule", file=sys.stderr)
        return EXIT_USAGE
    try:
        Engine(store, overrides=overrides).preflight(scheduled[0])
    except PreflightError as exc:
        print_preflight(exc, store, json_lines=args.json)
        return EXIT_USAGE

    notes = sys.stderr if args.json else sys.stdout

    def notify(text: str) -> None:
        print(f"[schedule] {text}", file=notes, flush=True)

    def sink_for(name: str):
        return EventPrinter(sys.stdout, verbose=args.verbose, json_lines=args.json, prefix=f"[{name}] ")

    async def main() -> None:
        scheduler = Scheduler(store, overrides=overrides, sink_for=sink_for, notify=notify, grace=args.grace)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, scheduler.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        await scheduler.serve()

    asyncio.run(main())
    notify("stopped")
    return EXIT_OK
