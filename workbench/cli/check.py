"""`workbench check DIR`: print the diagnostics. Exit 0 (warnings allowed) or 2."""

from __future__ import annotations

import json
import sys

from workbench.cli.common import add_dir, open_store, parse_sets, run_guarded, style

# All of a check is start-up (the project loaded and validated, bounded by its size): the
# collector stays off until the process exits (workbench.cli.entry).
LATE_START = True


def configure(parser) -> None:
    add_dir(parser)
    parser.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", help="a configurable value for this check")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    from workbench.project.diagnostics import check, has_errors

    store = open_store(args.dir)
    diagnostics = check(store, overrides=parse_sets(args.set), cache=True)
    if args.json:
        print(json.dumps([d.to_dict() for d in diagnostics], indent=2))
    else:
        print_diagnostics(diagnostics, store)
    return 2 if has_errors(diagnostics) else 0


def print_diagnostics(diagnostics, store, stream=None) -> None:
    stream = stream or sys.stdout
    for d in diagnostics:
        mark = style(d.severity, "31" if d.severity == "error" else "33", stream)
        # Anything not in workbench.toml or the secrets file is in the values file (`--config` may move it).
        path = store.file_named(d.file).path
        where = f"{path}:{d.line or 1}" + (f":{d.col}" if d.col else "")
        print(f"{where}: {mark}: {d.message} [{d.code}]" + (f"  ({d.key})" if d.key else ""), file=stream)
        for hint in d.hints:
            print(f"    {hint}", file=stream)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    summary = f"{store.name}: {errors} error(s), {warnings} warning(s)" if diagnostics else f"{store.name}: no problems"
    print(summary, file=stream)
