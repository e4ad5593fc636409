"""`workbench connectors [QUERY]`: search the connector catalogue.
`workbench connectors show ID`: a connector's metadata, connection fields and operations.

Both take `--json`. An unknown ID exits 2 with a did-you-mean suggestion.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from workbench.cli.common import CliError, print_table, run_guarded, style


def configure(parser) -> None:
    parser.add_argument(
        "words",
        nargs="*",
        metavar="QUERY | show ID",
        help="search words (fuzzy: id, name, package, description, keywords, operations); "
        "or `show ID` for one connector",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="show at most N connectors")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    words = list(args.words)
    if words[:1] == ["show"]:
        if len(words) != 2:
            raise CliError("usage: workbench connectors show ID")
        return _show(words[1], as_json=args.json)
    return _list(" ".join(words), limit=args.limit, as_json=args.json)


def _one_line(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _summary(spec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "name": spec.name,
        "package": spec.package,
        "version": spec.version,
        "category": spec.category,
        "description": spec.description,
        "keywords": list(spec.keywords),
        "operations": list(spec.operations),
    }


def _list(query: str, *, limit: int | None, as_json: bool) -> int:
    from workbench.connectors import catalogue

    if limit is not None and limit < 1:
        raise CliError("--limit must be at least 1")
    specs = catalogue.search(query, limit=limit)
    if as_json:
        print(json.dumps([_summary(s) for s in specs], indent=2, ensure_ascii=False))
        return 0
    if not specs:
        print(f"no connector matches {query!r}", file=sys.stderr)
        return 1
    rows = [[s.id, s.name, s.package, s.version, s.category, _one_line(s.description)] for s in specs]
    print_table(rows, ["ID", "NAME", "PACKAGE", "VERSION", "CATEGORY", "DESCRIPTION"])
    return 0


def describe(spec) -> dict[str, Any]:
    """Everything `show` prints, as JSON-ready data."""
    from workbench.connectors.catalogue import describe_fields

    out = _summary(spec)
    out["implementation"] = spec.implementation
    out["connection"] = describe_fields(spec.connection)
    out["operations"] = [
        {
            "name": op.name,
            "label": op.label,
            "description": op.description,
            "result": op.result,
            "idempotent": op.idempotent,
            "params": describe_fields(op.params),
        }
        for op in spec.operations.values()
    ]
    return out


def _show(connector_id: str, *, as_json: bool) -> int:
    from workbench.connectors import catalogue

    try:
        spec = catalogue.get(connector_id)
    except catalogue.UnknownConnector as exc:
        raise CliError(str(exc)) from None
    data = describe(spec)
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    out = sys.stdout
    print(style(f"{spec.name}", "1", out) + f"  ({spec.id}, {spec.package} {spec.version})")
    print(f"  {spec.description}")
    print(f"  category: {spec.category}")
    if spec.keywords:
        print(f"  keywords: {', '.join(spec.keywords)}")
    print()
    print(style("Connection", "1", out) + (" (no fields)" if not data["connection"] else ""))
    _print_fields(data["connection"], indent="  ")
    print()
    print(style(f"Operations ({len(data['operations'])})", "1", out))
    for op in data["operations"]:
        flags = "" if op["idempotent"] else "  [not idempotent]"
        print(f"  {style(op['name'], '1', out)}  {op['label']} -> {op['result']}{flags}")
        print(f"    {op['description']}")
        _print_fields(op["params"], indent="    ")
    return 0


def _print_fields(fields: list[dict[str, Any]], indent: str) -> None:
    for field in fields:
        if field["required"]:
            need = "required"
        elif field.get("default") is None:
            need = "optional"
        elif "default" in field:
            need = f"default {json.dumps(field['default'], ensure_ascii=False)}"
        else:
            need = "optional"
        secret = "  [secret]" if field["secret"] else ""
        description = f"  {field['description']}" if field["description"] else ""
        print(f"{indent}{field['name']}: {field['type']} ({need}){secret}{description}")
        for variant in field.get("variants", ()):
            subs = [f for f in variant["fields"] if f["name"] != "type"]
            print(f"{indent}  type = {json.dumps(variant['type'])}" + ("" if subs else " (no fields)"))
            _print_fields(subs, indent + "    ")
