"""Regenerate docs/web.png: `workbench web --demo` in headless Chromium after pressing `r` once.

    python docs/web_png.py      (needs the `web` and `test` extras, chromium and chromedriver)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web_browser import WebServer, chromium, press, wait_for_text  # noqa: E402
from workbench.cli.demo import sample_dir  # noqa: E402


def main() -> None:
    root = Path(tempfile.mkdtemp()) / "scim-provisioning"  # a copy: no run history in the sample
    shutil.copytree(sample_dir(), root, ignore=shutil.ignore_patterns(".workbench"))
    server = WebServer("--demo", str(root))
    try:
        driver = chromium(window="1100,760")
        try:
            driver.get(server.local_url + "/")
            wait_for_text(driver, "Connections")
            press(driver, "r")
            wait_for_text(driver, "✓ succeeded in")
            driver.save_screenshot(str(ROOT / "docs" / "web.png"))
        finally:
            driver.quit()
    finally:
        server.stop()
        shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
