"""Start-up time of the app: `workbench projects/scim-provisioning` until the project tree is on
screen, against a bare Textual app with a Tree and a Footer, in the same run, both in a pty at
80x24. Prints the medians and the ratio (target: at most 1.3x the bare app).

Both children write and reuse bytecode in a private cache (PYTHONPYCACHEPREFIX), as an installed
package would have it, even when the calling shell sets PYTHONDONTWRITEBYTECODE.

    python bench/tui_startup.py [--runs 7] [--project projects/scim-provisioning]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYCACHE = os.path.join(tempfile.gettempdir(), "workbench-bench-pycache")
MARKER = b"newUserName"  # the last configurable of the sample: the whole tree is painted
FLOW_MARKER = b"Create User"  # the flow, with the operation label of the project's connector

BARE_APP = r'''
from textual.app import App
from textual.widgets import Footer, Tree

class Bare(App):
    BINDINGS = [("q", "quit", "Quit"), ("c", "bell", "Connection")]
    def compose(self):
        tree = Tree("project")
        tree.show_root = False
        for section, leaves in (("Connections", ["scimClient"]), ("Entry Points", ["provisionUser"]),
                                ("Configurations", ["scimServiceUrl", "scimTokenUrl", "scimClientId",
                                                    "scimClientSecret", "newUserName"])):
            node = tree.root.add(section, expand=True)
            for leaf in leaves:
                node.add_leaf(leaf)
        yield tree
        yield Footer()

Bare().run()
'''


def time_until(command: list[str], marker: bytes, timeout: float = 20.0, then: bytes = b"",
               extra_env: dict[str, str] | None = None) -> float:
    """Seconds from spawning `command` in an 80x24 pty until `marker` appears in its output (and,
    when given, `then` too: the result is then a pair of times), with `extra_env` added."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="80", LINES="24", PYTHONPYCACHEPREFIX=PYCACHE)
    env.pop("TEXTUAL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra_env or {})
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT,
                               start_new_session=True)
    os.close(slave)
    seen = b""
    first = 0.0
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if process.poll() is not None:
                    raise RuntimeError(f"{command} exited early: {seen[-400:]!r}")
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen += chunk
            if marker in seen and not first:
                first = time.perf_counter() - started
            if first and (not then or then in seen):
                return (first, time.perf_counter() - started) if then else first
        raise RuntimeError(f"{marker!r} not seen within {timeout}s: {seen[-400:]!r}")
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        os.close(master)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--project", default="projects/scim-provisioning")
    args = parser.parse_args()
    python = sys.executable
    workbench = [python, "-m", "workbench", args.project]
    bare = [python, "-c", BARE_APP]
    for _ in range(2):  # warm the file cache and the bytecode cache
        time_until(bare, MARKER)
        time_until(workbench, MARKER)
    app_times, bare_times, flow_times = [], [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        bare_times.append(time_until(bare, MARKER))
        tree_at, flow_at = time_until(workbench, MARKER, then=FLOW_MARKER)
        app_times.append(tree_at)
        flow_times.append(flow_at)
    app, base = statistics.median(app_times), statistics.median(bare_times)
    print(f"bare Textual app (Tree + Footer): median {base * 1000:.0f} ms  "
          f"[{', '.join(f'{t * 1000:.0f}' for t in bare_times)}]")
    print(f"workbench {args.project}: median {app * 1000:.0f} ms  "
          f"[{', '.join(f'{t * 1000:.0f}' for t in app_times)}]")
    print(f"  then the flow with its operation labels (the store and its connectors loaded): median "
          f"{statistics.median(flow_times) * 1000:.0f} ms")
    ratio = app / base
    print(f"ratio: {ratio:.2f}x (target <= 1.30x) {'OK' if ratio <= 1.3 else 'OVER TARGET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
