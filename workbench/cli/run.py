"""`workbench run DIR [--entry NAME] [--set k=v ...] [--config FILE] [--json] [-v] [--trace]`

Prints one line per step as the run goes, or with `--json` one event per line and nothing else on
stdout. Inside a foreach, only the failed items have lines: on a terminal one live progress line
shows the rest (done/total, failed, rate, ETA); `-v` prints a line per item and the HTTP
exchanges. `--trace` keeps every item's full events in the history (else one record per item). Exit codes: 0 succeeded, 1 failed, 2 nothing was run
(invalid project, missing value, bad usage), 3 succeeded with failures it was told to tolerate
(`errors = "collect"`, `onError = "continue"`) under `--strict`, 130 interrupted. Ctrl+C (or SIGTERM) cancels the
run cleanly; a second Ctrl+C exits at once.

`EventPrinter` is shared with `workbench runs show` and `workbench schedule`.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any, TextIO

from workbench.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, started
from workbench.cli.common import add_dir, open_store, parse_sets, run_guarded, use_color
from workbench.cli.progress import ProgressLine
from workbench.runtime.lines import EventLines, format_duration

_duration = format_duration  # `workbench runs` imports it from here

EXIT_TOLERATED = 3  # --strict: succeeded, with failures that did not stop it
LATE_START = True  # start-up ends when the run begins (workbench.cli.started)
EXIT_CODES = {"succeeded": EXIT_OK, "failed": EXIT_FAILED, "cancelled": EXIT_INTERRUPTED}


def configure(parser) -> None:
    add_dir(parser)
    parser.add_argument("--entry", metavar="NAME", help="the entry point (may be left out when there is one)")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", help="a configurable value for this run")
    parser.add_argument("--config", metavar="FILE", help="read configurable values from FILE instead of Config.toml")
    parser.add_argument("--json", action="store_true", help="print the events as JSON Lines")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also print a line per foreach item, and the HTTP exchanges")
    parser.add_argument("--trace", action="store_true",
                        help="keep every foreach item's full events in the run history (not one record each)")
    parser.add_argument("--plan", action="store_true",
                        help="plan only: sync steps print their plan, and no write request is sent")
    parser.add_argument("--force", action="store_true", help="let sync steps apply a plan over their maxChanges")
    parser.add_argument("--resume", metavar="RUN_ID",
                        help="continue a failed or cancelled run: finished steps and items are not run again")
    parser.add_argument("--strict", action="store_true",
                        help="exit 3 when the run succeeded but collected or continued past failures")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    from workbench.runtime import Engine, PreflightError, ResumeError

    store = open_store(args.dir, args.config)
    resume = args.resume
    if resume:
        from workbench.runtime.history import find_run

        try:
            resume = find_run(store.root, resume).stem  # a unique prefix is enough
        except KeyError as exc:
            print(f"workbench: {exc.args[0]}", file=sys.stderr)
            return EXIT_USAGE
    engine = Engine(store, overrides=parse_sets(args.set), plan=args.plan, force=args.force, resume=resume,
                    trace=args.trace)
    printer = EventPrinter(sys.stdout, verbose=args.verbose, json_lines=args.json)
    started()  # the project and the engine are loaded: the run's own garbage is the collector's
    try:
        result = run_interruptible(engine, args.entry, printer)
        printer.end()
    except PreflightError as exc:
        print_preflight(exc, store, json_lines=args.json)
        return EXIT_USAGE
    except ResumeError as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if result.history_error:
        print(f"workbench: warning: {result.history_error}", file=sys.stderr)
    if args.strict and result.ok and result.failed_items:
        return EXIT_TOLERATED
    return EXIT_CODES.get(result.status, EXIT_FAILED)


def print_preflight(exc, store, *, json_lines: bool = False) -> None:
    """Nothing ran: print the diagnostics like `workbench check` (on stderr with --json, whose
    stdout holds events only)."""
    from workbench.cli.check import print_diagnostics

    stream = sys.stderr if json_lines else sys.stdout
    print_diagnostics(exc.diagnostics, store, stream=stream)
    print("nothing was run", file=stream)


def run_interruptible(engine, entry: str | None, sink):
    """Run in a fresh event loop. The first Ctrl+C or SIGTERM cancels the run (it is recorded
    as cancelled); a second Ctrl+C exits at once with 130."""
    import asyncio

    async def main():
        loop = asyncio.get_running_loop()
        presses = 0

        def interrupt() -> None:
            nonlocal presses
            presses += 1
            if presses > 1:
                _exit_now(None, None)
            print("\ncancelling… (Ctrl+C again to quit at once)", file=sys.stderr, flush=True)
            engine.cancel()

        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, interrupt)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
                pass
        try:
            return await engine.run(entry, sink)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            if presses and signal.SIGINT in installed:
                # Cancelled, but a worker thread stuck in I/O would still hold up the exit:
                # from here on, the next Ctrl+C exits at once.
                signal.signal(signal.SIGINT, _exit_now)

    return asyncio.run(main())


def _exit_now(signum, frame) -> None:
    _flush()
    os._exit(EXIT_INTERRUPTED)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


# -- printing events ------------------------------------------------------------------------------


class EventPrinter(EventLines):
    """A sink that prints events live: one line per step, coloured on a terminal; or JSON Lines.
    Takes Event objects or their dicts (history replays). The lines come from EventLines, which
    the app's Output panel uses too. In a foreach, only failed items (their step lines, their
    error logs) are printed unless `verbose`; on a terminal (`progress`, by default when the
    stream is one and several runs do not share it) a live progress line stands for the rest."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False, json_lines: bool = False,
                 color: bool | None = None, prefix: str = "", progress: bool | None = None,
                 replay: bool = False) -> None:
        super().__init__(verbose=verbose, items=replay and verbose)
        stream = stream or sys.stdout
        self.stream = stream
        self.json_lines = json_lines
        self.color = use_color(stream) if color is None else color
        self.prefix = prefix  # e.g. the entry name when several runs share the output
        self.closed = False
        if progress is None:
            progress = not json_lines and not prefix and not replay and _is_terminal(stream)
        self.progress = ProgressLine(stream, self.paint) if progress else None

    def wants(self, event: Any) -> bool:
        """Whether this prints (or draws) anything for `event`: the engine redacts only those for it."""
        return self.json_lines or self.verbose or isinstance(event, dict) or not _quiet(event)

    def __call__(self, event: Any) -> None:
        if self.closed:
            return
        if not self.wants(event):
            return  # a foreach item's line: skipped before it costs a dict
        data = event if isinstance(event, dict) else event.to_dict()
        progress = self.progress
        if self.json_lines:
            line = json.dumps(data, ensure_ascii=False, default=str)
        else:
            if progress is not None and self._progress(data, progress):
                return
            if not self.verbose and data.get("item") is not None and _quiet_data(data):
                return
            line = self.format(data)
            if line is None:
                return
            line = self.prefix + line
        try:
            if progress is not None:
                progress.clear()
            self.stream.write(line + "\n")
            self.stream.flush()
        except BrokenPipeError:  # `workbench run ... | head`: stop printing, keep running
            self.closed = True

    def _progress(self, data: dict[str, Any], progress: ProgressLine) -> bool:
        """Feed the progress line; True when the event is the line's alone."""
        kind = data.get("event")
        if kind == "step.started":
            progress.seen(data)
        elif kind == "foreach.progress":
            if data.get("item") is None:
                try:
                    progress.update(data)
                except BrokenPipeError:
                    self.closed = True
            return True
        elif kind == "step.finished" and data.get("step") in progress.started:
            progress.ended(str(data.get("step")))
        return False

    def end(self) -> None:
        """The run is over: no progress line left on screen."""
        if self.progress is not None and not self.closed:
            try:
                self.progress.clear()
                self.stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def _quiet(event: Any) -> bool:
    """An event of a foreach item that has no line without -v (see _quiet_data)."""
    if getattr(event, "item", None) is None:
        return False
    kind = event.EVENT
    if kind == "step.finished":
        return event.status != "failed"
    if kind == "log":
        return event.level != "error"
    return kind != "foreach.progress"  # step.started, http.exchange, item.finished: no line


def _quiet_data(data: dict[str, Any]) -> bool:
    kind = data.get("event")
    if kind == "step.finished":
        return data.get("status") != "failed"
    if kind == "log":
        return data.get("level") != "error"
    return kind in ("step.started", "http.exchange")

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color and code != "0" else text
