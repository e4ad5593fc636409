"""`workbench [DIR]`: open the app on a project (DIR defaults to `.`). When DIR holds no project,
the app offers to create one."""

from __future__ import annotations

from pathlib import Path

from workbench.cli.common import add_dir


def configure(parser) -> None:
    add_dir(parser, "project folder (default: .); created on request when it holds no project")


def run(args) -> int:
    from workbench.tui.app import WorkbenchApp

    root = Path(args.dir)
    if root.exists() and not root.is_dir():
        import sys

        print(f"workbench: {root} is not a folder", file=sys.stderr)
        return 2
    app = WorkbenchApp(root, shown_path=args.dir)
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)
