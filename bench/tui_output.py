"""Does the Output panel keep up, and do keys stay responsive while it streams?

(a) 10,000 log events pushed from another thread into a run's sink, as the engine does, then
    through the app's path (deque -> timer -> one Log.write_lines per tick): time until all
    10,000 lines are in the panel. Target ≤ 1 s.
(b) The same with a real run: a foreach over 10,000 items whose step is a `log` (30,000 events,
    history written), with the engine in a thread worker (the app's way) and, to compare, in an
    async worker on the app's loop.
    During (a) and (b) a key is sent every 20 ms from another thread, as a terminal's input
    would be; its latency is the time until the app's action for it runs. Target ≤ 100 ms.
(c) Peak RSS of the demo: a subprocess starts the sandbox, opens the app headless on the sample
    as `workbench demo` does, runs the automation, and reports ru_maxrss.

The app runs headless at 80x24 (Textual's Pilot): it lays out and renders, but writes nothing to
a terminal.

    /tmp/venv/bin/python bench/tui_output.py [--lines 10000] [--only a|b|c]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events  # noqa: E402
from textual.binding import Binding  # noqa: E402

from workbench.runtime import events as ev  # noqa: E402
from workbench.tui.app import WorkbenchApp  # noqa: E402
from workbench.runtime.controller import RunSession  # noqa: E402
from tests.tui_helpers import settle  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEY_EVERY = 0.02

LOOP_PROJECT = """
[integration]
name = "loop"

[configurables.items]
type = "int[]"

[entrypoints.countUp]
kind = "automation"

[[entrypoints.countUp.steps]]
foreach = "${config.items}"
as = "n"

[[entrypoints.countUp.steps.steps]]
log = "item ${n}"
"""


class ProbedApp(WorkbenchApp):
    """The app with one more key, whose action records when it ran."""

    BINDINGS = [Binding("f12", "probe", "Probe", show=False)]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.handled: list[float] = []

    def action_probe(self) -> None:
        self.handled.append(time.perf_counter())


class KeyPresser(threading.Thread):
    """Sends the probe key to the app's loop every KEY_EVERY seconds, from outside the loop."""

    def __init__(self, app: ProbedApp, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(daemon=True)
        self.app, self.loop = app, loop
        self.sent: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(KEY_EVERY):
            self.sent.append(time.perf_counter())
            self.loop.call_soon_threadsafe(self.app.post_message, events.Key("f12", None))

    def latencies(self) -> list[float]:
        self.stopping.set()
        self.join()
        pairs = zip(self.sent, self.app.handled)  # keys are handled in order
        return [(done - sent) * 1000 for sent, done in pairs]


async def wait_lines(app: WorkbenchApp, n: int, timeout: float = 60.0) -> None:
    """Until the panel has taken n lines (its scrollback keeps the newest 10,000)."""
    deadline = time.monotonic() + timeout
    while app.output.written < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {app.output.written} of {n} lines after {timeout} s")
        await asyncio.sleep(0.005)


def report(name: str, seconds: float, lines: int, latencies: list[float]) -> None:
    latencies = sorted(latencies) or [0.0]
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    print(f"{name}: {lines:,} lines shown in {seconds * 1000:.0f} ms (target ≤ 1000 ms) · key latency "
          f"median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms "
          f"over {len(latencies)} keys (target ≤ 100 ms)")


async def synthetic(project: Path, lines: int) -> None:
    app = ProbedApp(project, env={}, memory={"items": []})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        session = RunSession("countUp")
        app.runs["countUp"] = session
        app._show_output()
        sink = app.run_feed.sink(session)
        presser = KeyPresser(app, asyncio.get_running_loop())

        def emit() -> None:  # the engine's side: events as fast as they come
            for n in range(lines):
                sink(ev.Log("bench", time.time(), "info", f"item {n}", "0.steps.0", n))

        presser.start()
        started = time.perf_counter()
        app._start_draining()
        producer = threading.Thread(target=emit)
        producer.start()
        await wait_lines(app, lines)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.1)
        producer.join()
        report("(a) 10,000 log events through the sink", elapsed, lines, presser.latencies())


async def real_run(project: Path, lines: int) -> None:
    app = ProbedApp(project, env={}, memory={"items": list(range(lines))})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        presser = KeyPresser(app, asyncio.get_running_loop())
        presser.start()
        started = time.perf_counter()
        app.action_run_entry("countUp")
        await wait_lines(app, lines + 2)  # run.started, the items, the run's outcome
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.1)
        report("(b) a real foreach run (the engine in its thread worker, as shipped)", elapsed, lines,
               presser.latencies())
        await settle(pilot)


DEMO_RSS = r"""
import asyncio, resource, shutil, sys, tempfile
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from workbench.cli.demo import demo_values, sample_dir
from workbench.sandbox import Sandbox
from workbench.tui.app import WorkbenchApp
from tests.tui_helpers import keys, settle, wait_for_runs

async def main():
    root = Path(tempfile.mkdtemp()) / "scim-provisioning"
    shutil.copytree(sample_dir(), root, ignore=shutil.ignore_patterns(".workbench"))
    with Sandbox() as sandbox:
        app = WorkbenchApp(root, memory=demo_values(sandbox), memory_source="demo")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await keys(pilot, "r")
            await wait_for_runs(pilot)
            assert "succeeded" in str(app.output.query_one("#run-summary").render())
    shutil.rmtree(root.parent)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

asyncio.run(main())
"""


def demo_rss() -> None:
    out = subprocess.run([sys.executable, "-c", DEMO_RSS, str(ROOT)], capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    kib = int(out.stdout.strip().splitlines()[-1])
    print(f"(c) the demo after one run (sandbox + app, headless): peak RSS {kib / 1024:.0f} MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--only", choices=("a", "b", "c"))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    try:
        project = folder / "loop"
        project.mkdir()
        (project / "workbench.toml").write_text(LOOP_PROJECT, encoding="utf-8")
        if args.only in (None, "a"):
            asyncio.run(synthetic(project, args.lines))
        if args.only in (None, "b"):
            asyncio.run(real_run(project, args.lines))
        if args.only in (None, "c"):
            demo_rss()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
