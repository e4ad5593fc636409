"""Regenerate docs/demo.svg: `workbench demo` at 80x24 after pressing `r` once.

    python docs/demo_svg.py
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.cli.demo import demo_values, sample_dir  # noqa: E402
from workbench.sandbox import Sandbox  # noqa: E402
from workbench.tui.app import WorkbenchApp  # noqa: E402
from tests.tui_helpers import keys, settle, wait_for_runs  # noqa: E402


async def main() -> None:
    root = Path(tempfile.mkdtemp()) / "scim-provisioning"  # a copy: no run history in the sample
    shutil.copytree(sample_dir(), root, ignore=shutil.ignore_patterns(".workbench"))
    try:
        with Sandbox() as sandbox:
            app = WorkbenchApp(root, env={}, memory=demo_values(sandbox), memory_source="demo")
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                await keys(pilot, "r")
                await wait_for_runs(pilot)
                await asyncio.sleep(0.3)
                await settle(pilot)
                app.save_screenshot(str(ROOT / "docs" / "demo.svg"))
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    print(f"wrote {ROOT / 'docs' / 'demo.svg'}")


if __name__ == "__main__":
    asyncio.run(main())
