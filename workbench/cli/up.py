"""`workbench up DIR [serve's options]`: `workbench schedule` and `workbench serve` in one
process: the scheduled automations run on their schedules while the services answer requests.
SIGINT or SIGTERM stops both: runs and requests in progress get --grace seconds to finish.
Exit codes: 0 stopped cleanly, 1 cannot listen, 2 nothing to run or an invalid project.
"""

from __future__ import annotations

import sys

from workbench.cli import EXIT_OK, EXIT_USAGE
from workbench.cli.common import add_dir, open_store, parse_sets, run_guarded
from workbench.cli.serve import add_options, build, notes_for, on_signals, printers


def configure(parser) -> None:
    add_dir(parser)
    add_options(parser)


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    import asyncio

    from workbench.cli.run import print_preflight
    from workbench.runtime import Engine, PreflightError
    from workbench.runtime.schedule import Scheduler

    store = open_store(args.dir, args.config)
    overrides = parse_sets(args.set)
    notify = notes_for(args)
    scheduled = [name for name, entry in store.project.entrypoints.items() if entry.schedule]
    if scheduled:
        try:
            Engine(store, overrides=overrides).preflight(scheduled[0])
        except PreflightError as exc:
            print_preflight(exc, store, json_lines=args.json)
            return EXIT_USAGE
    server = build(args, open_store(args.dir, args.config), notify)  # its own store: it reloads by version
    if server is None and not scheduled:
        print(f"{store.name}: no entry point has a schedule or is a service", file=sys.stderr)
        return EXIT_USAGE

    async def main() -> None:
        jobs = []
        stops = []
        if scheduled:
            scheduler = Scheduler(store, overrides=overrides, sink_for=printers(args),
                                  notify=lambda text: notify(f"schedule: {text}"), grace=args.grace)
            jobs.append(scheduler.serve())
            stops.append(scheduler.stop)
        if server is not None:
            jobs.append(server.serve())
            stops.append(server.stop)
        on_signals(lambda: [stop() for stop in stops])
        await asyncio.gather(*jobs)

    asyncio.run(main())
    notify("stopped")
    return EXIT_OK
