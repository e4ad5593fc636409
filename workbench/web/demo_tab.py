"""One browser tab's app on the demo: `python -m workbench.web.demo_tab DIR`.

`workbench web --demo` starts one sandbox and passes its URL and credentials to every tab's
process in the environment (never on the command line, where `ps` would show them). Each tab
holds them in memory as `workbench demo` does: nothing is written to the project's files, and all
tabs provision into the same sandbox.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DEMO_VALUES_ENV = "WORKBENCH_WEB_DEMO_VALUES"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m workbench.web.demo_tab DIR", file=sys.stderr)
        return 2
    try:
        values = json.loads(os.environ.pop(DEMO_VALUES_ENV, ""))
    except json.JSONDecodeError:
        print(f"{DEMO_VALUES_ENV} holds no demo values: start this through `workbench web --demo`", file=sys.stderr)
        return 2
    from workbench.tui.app import WorkbenchApp

    root = Path(argv[0])
    app = WorkbenchApp(root, shown_path=root.name, memory=values, memory_source="demo")
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)


if __name__ == "__main__":
    sys.exit(main())
