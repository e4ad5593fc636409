"""The app at scale: flows of 2,000 and 20,000 steps (the time to show one after selecting its
entry point, and keys moving through it, measured as bench/tui_large_flow.py does), and the first
screen and first flow of the sample with 5,000 connectors installed against none, side by side.

The connectors are a throwaway package the bench writes into a temp folder (tests/fake_connectors:
one module and a dist-info whose entry_points.txt registers them); each case is a child process
in an 80x24 pty (bench/tui_startup.py's method) with that folder, or an empty one, on PYTHONPATH,
alternating, medians. Targets: a 2,000-step flow shown in <= 300 ms and keys <= 50 ms; with 5,000
connectors the first screen and the first flow <= 1.2x their time with none.

    python bench/tui_scale.py [--runs 7] [--connectors 5000] [--steps 2000,20000] [--keys 60]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tui_large_flow import make_project, measure  # noqa: E402
from tui_startup import FLOW_MARKER, MARKER, time_until  # noqa: E402

from tests import fake_connectors  # noqa: E402


def flows(sizes: list[int], keys: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    try:
        for steps in sizes:
            make_project(folder, steps)
            asyncio.run(measure(folder, 5))  # warm the caches
            shown, latencies = asyncio.run(measure(folder, keys))
            worst, median = max(latencies), statistics.median(latencies)
            verdict = "" if steps > 2000 else (" OK" if shown <= 0.3 and worst <= 0.05 else " OVER TARGET")
            print(f"{steps:,} steps: flow shown {shown * 1000:.0f} ms after enter; keys through it: "
                  f"median {median * 1000:.1f} ms, slowest {worst * 1000:.1f} ms{verdict}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def connectors(count: int, runs: int, project: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    try:
        cases = {"none": str(folder / "empty"), f"{count:,}": str(fake_connectors.install(folder / "pkg", count))}
        (folder / "empty").mkdir()
        command = [sys.executable, "-m", "workbench", project]
        times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in cases}
        for n in range(runs + 2):  # the first two warm the file and bytecode caches
            order = list(cases.items()) if n % 2 else list(cases.items())[::-1]
            for name, path in order:
                screen, flow = time_until(command, MARKER, then=FLOW_MARKER, extra_env={"PYTHONPATH": path})
                if n >= 2:
                    times[name][0].append(screen)
                    times[name][1].append(flow)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    medians = {name: (statistics.median(s), statistics.median(f)) for name, (s, f) in times.items()}
    for name, (screen, flow) in medians.items():
        print(f"{name} connectors installed: first screen median {screen * 1000:.0f} ms, first flow (with its "
              f"operation labels) {flow * 1000:.0f} ms  [{', '.join(f'{t * 1000:.0f}' for t in times[name][1])}]")
    (base_screen, base_flow), (screen, flow) = medians.values()
    for what, ratio in (("first screen", screen / base_screen), ("first flow", flow / base_flow)):
        print(f"{what}: {ratio:.2f}x with {count:,} connectors (target <= 1.20x) "
              f"{'OK' if ratio <= 1.2 else 'OVER TARGET'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--connectors", type=int, default=5000)
    parser.add_argument("--steps", default="2000,20000")
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--project", default="projects/scim-provisioning")
    args = parser.parse_args()
    connectors(args.connectors, args.runs, args.project)
    flows([int(s) for s in args.steps.split(",") if s], args.keys)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
