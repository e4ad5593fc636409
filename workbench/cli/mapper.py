"""`workbench mapper infer FILE`: a `[types.X]` table from a CSV header or a JSON sample;
`workbench mapper preview DIR NAME [--file F]`: a data mapper's output for its sample (or the
first record of a project file), with what its output type refuses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from workbench.cli.common import CliError, open_store, run_guarded


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    infer = sub.add_parser("infer", help="print a [types.X] table for a CSV header or a JSON sample")
    infer.add_argument("file", metavar="FILE")
    infer.add_argument("--name", help="the type's name (default: from the file name)")
    preview = sub.add_parser("preview", help="print a data mapper's output for its sample")
    preview.add_argument("dir", metavar="DIR")
    preview.add_argument("name", metavar="NAME")
    preview.add_argument("--file", help="map the first record of this CSV or JSON file in the project instead")


def run(args) -> int:
    return run_guarded(_infer if args.action == "infer" else _preview, args)


def _infer(args) -> int:
    from workbench.project.mapper_tools import infer_fields, type_name_for, type_toml

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    try:
        fields = infer_fields(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CliError(str(exc)) from None
    sys.stdout.write(type_toml(args.name or type_name_for(path), fields))
    return 0


def _preview(args) -> int:
    from workbench.connectors.base import ConnectorError
    from workbench.project.mapper_checks import preview
    from workbench.project.mapper_tools import first_record
    from workbench.project.mappers import registry_for

    store = open_store(args.dir)
    compiled = registry_for(store.project).get(args.name)
    if compiled is None:
        from workbench.project.store import unknown_name

        raise CliError(unknown_name("data mapper", args.name, store.project.datamappers))
    try:
        record = first_record(store.root, args.file) if args.file else compiled.decl.sample
    except (ConnectorError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if record is None:
        raise CliError(f"data mapper {args.name} has no sample: name a file with --file")
    shown = preview(compiled, record)
    if shown.output is not None:
        print(json.dumps(shown.output, indent=2, ensure_ascii=False))
    for keys, message in shown.problems:
        print(f"error: {'.'.join(map(str, keys)) or args.name}: {message}", file=sys.stderr)
    return 2 if shown.problems else 0
