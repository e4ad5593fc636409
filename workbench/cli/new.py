"""`workbench new DIR`: scaffold an empty project."""

from __future__ import annotations

from pathlib import Path

from workbench.cli.common import CliError, run_guarded


def configure(parser) -> None:
    parser.add_argument("dir", metavar="DIR", help="folder to create the project in")
    parser.add_argument("--name", help="integration name (default: the folder name)")
    parser.add_argument("--description", default="", help="one-line description")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    from workbench.project.scaffold import ScaffoldError, scaffold

    try:
        path = scaffold(Path(args.dir), name=args.name, description=args.description)
    except ScaffoldError as exc:
        raise CliError(str(exc)) from None
    print(f"created {path / 'workbench.toml'}")
    print(f"next: workbench {args.dir}    (open the app), or workbench check {args.dir}")
    return 0
