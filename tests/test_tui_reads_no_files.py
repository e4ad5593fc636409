"""No module under workbench/tui reads workbench.toml or Config.toml itself: the project comes
from workbench.project (ProjectView, ProjectSession, ProjectStore)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

AUDIT = r"""
import asyncio, shutil, sys, tempfile
from pathlib import Path
reads = []

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)) or event == "open" and hasattr(args[0], "__fspath__"):
        name = str(args[0])
        if name.endswith(("workbench.toml", "Config.toml")):
            frame = sys._getframe(1)
            while frame is not None:
                module = frame.f_globals.get("__name__", "")
                if module.startswith("workbench."):
                    reads.append(module)
                    break
                frame = frame.f_back

sys.addaudithook(hook)
from workbench.tui.app import WorkbenchApp
from tests.tui_helpers import keys, settle

async def main():
    root = Path(tempfile.mkdtemp()) / "p"
    shutil.copytree(sys.argv[1], root, ignore=shutil.ignore_patterns(".workbench"))
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "enter", "g")
        (root / "Config.toml").write_text('newUserName = "ada"\n')
        app.action_reload()
        await settle(pilot)
    print("READERS", sorted(set(reads)))

asyncio.run(main())
"""


def test_while_the_app_runs_only_workbench_project_opens_the_project_files():
    sample = ROOT / "projects" / "scim-provisioning"
    out = subprocess.run([sys.executable, "-c", AUDIT, str(sample)], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    line = next(line for line in out.stdout.splitlines() if line.startswith("READERS"))
    readers = eval(line.removeprefix("READERS "))  # noqa: S307 - our own printed list
    assert readers, out.stderr[-2000:]  # the files were read, by someone
    assert all(name.startswith("workbench.project.") for name in readers), readers
