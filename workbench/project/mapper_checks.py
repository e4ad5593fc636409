"""What `check` and the mapper editor know of a data mapper: its problems with the key path
(`datamappers.hireToUser.fields.userName`), its output's static type, a step's use of it, and
the live preview of its output for a sample record.

The output is checked with the one validation (`validation.validate`) against the connector's
own checks of its type (`TypeSpec.errors`): each target's value goes in its place, expressions
replaced by what is known of them, so a required attribute with no target (userName) or a
literal the schema refuses is an error, and a value known only at run time is not.

Headless: never imports textual.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from workbench.project.expressions import ExpressionError, parse_template
from workbench.project.mapper_paths import TargetPath, assign
from workbench.project.mappers import MAPPERS, CompiledMapper, DataMapper, registry_for
from workbench.project.static_types import (
    ANY,
    LIST,
    OBJECT,
    Known,
    Type,
    config_type,
    kind_of,
    static_template,
)
from workbench.project.validation import FieldProblem, validate


class _Anything(BaseModel):
    model_config = ConfigDict(extra="allow")


def type_checks(output: str, data: dict) -> list[dict]:
    """`validate`'s deeper check of a mapper's output (module level: its verdicts are cached)."""
    from workbench.project.mappers import output_type

    spec, _ = output_type(output)
    return spec.errors(data) if spec is not None else []


# -- types ---------------------------------------------------------------------------------------


def input_static(project: Any, decl: DataMapper) -> Type:
    """What `input` holds: a declared record type's fields, else the sample's (any other key: any)."""
    declared = (getattr(project, "types", None) or {}).get(decl.input)
    if declared is not None:
        return Type("object", fields={k: config_type(v) if v not in ("object", "list") else
                                      (OBJECT if v == "object" else LIST) for k, v in declared.fields.items()})
    if decl.sample:
        return Type("object", fields={k: kind_of(v) for k, v in decl.sample.items()}, values=ANY)
    return Type("object", values=ANY)


def input_fields(project: Any, decl: DataMapper) -> list[str]:
    """The input's field names (for completion and "map by name")."""
    declared = (getattr(project, "types", None) or {}).get(decl.input)
    if declared is not None:
        return list(declared.fields)
    return list(decl.sample or {})


def mapper_env(project: Any, decl: DataMapper, config: Any = None) -> dict:
    env: dict[str, Any] = {"input": input_static(project, decl), MAPPERS: Known(registry_for(project))}
    if config is not None:
        env["config"] = config
    return env


def compiled_static(compiled: CompiledMapper, project: Any) -> Type:
    found = getattr(compiled, "_static", None)
    if found is None:
        env = mapper_env(project, compiled.decl)
        fields: dict[str, Any] = {}
        for _, path, value in compiled.targets:
            if len(path.segments) == 1 and path.segments[0].filter is None:
                fields[path.top] = static_template(value, env) if isinstance(value, str) else Known(value)
            else:
                fields.setdefault(path.top, LIST if path.segments[0].filter is not None else OBJECT)
        found = compiled._static = Type("object", fields=fields, name=compiled.decl.output)  # type: ignore[attr-defined]
    return found


def output_static(node: Any, env: Mapping[str, Any], scope: Any, args: tuple) -> Any:
    """The static type of a mapper call (static_types.static_expr asks the node)."""
    from workbench.project.static_types import static_expr

    held = env.get(MAPPERS)
    registry = held.value if isinstance(held, Known) else None
    compiled = registry.get(node.mapper) if registry is not None else None
    if compiled is None:
        return ANY
    if all(isinstance(static_expr(arg, env, scope), Known) for arg in args):
        try:
            return Known(node.evaluate(scope.ready()))
        except (ExpressionError, TypeError, ValueError):
            return ANY
    out = compiled_static(compiled, registry.project)
    return out if type(node).__name__ == "MapperCall" else Type("list", item=out)


# -- check ---------------------------------------------------------------------------------------


def _problem(name: str, keys: tuple, code: str, message: str, severity: str = "error") -> FieldProblem:
    return FieldProblem(("fields", *keys) if keys else (), code, message, severity=severity,
                        base=("datamappers", name))


def _owner(loc: tuple, origins: dict[tuple, tuple]) -> tuple:
    """The field (its key path under `fields`) a location in the output belongs to."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in origins:
            return origins[loc[:n]]
    below = [keys for where, keys in origins.items() if where[: len(loc)] == loc]
    if below:
        return below[0]
    return (".".join(str(p) for p in loc if not isinstance(p, int)),) if loc else ()


def mapper_problems(project: Any, name: str, config: Any = None) -> list[FieldProblem]:
    """Every problem of `[datamappers.NAME]` (config: what `${config.X}` holds, as `check` knows)."""
    registry = registry_for(project)
    compiled = registry.get(name)
    if compiled is None:
        return []
    decl = compiled.decl
    out: list[FieldProblem] = []
    if name in _reserved():
        out.append(_problem(name, (), "bad-name", f"{name!r} is a built-in function and cannot name a data mapper"))
    if decl.input != "record" and decl.input not in (getattr(project, "types", None) or {}):
        known = list(getattr(project, "types", None) or {})
        close = difflib.get_close_matches(decl.input, known, n=1)
        out.append(FieldProblem(("input",), "unknown-type", f"data mapper {name}: unknown input type {decl.input!r}"
                                + (f" (did you mean {close[0]!r}?)" if close else " (declare it in [types])"),
                                base=("datamappers", name)))
    for keys, message, severity in compiled.problems:
        out.append(_problem(name, keys, "bad-target" if keys else "unknown-type",
                            f"data mapper {name}: {message}" if keys else f"data mapper {name}: {message}", severity))
    cycle = call_cycle(project, name)
    if cycle:
        out.append(_problem(name, (), "mapper-cycle", f"data mapper {name} calls itself: {' → '.join(cycle)}"))
    if compiled.type_spec is None:
        return out
    out += _field_reads(project, name, compiled)
    env = mapper_env(project, decl, config)
    shaped: dict = {}
    origins: dict[tuple, tuple] = {}
    for keys, path, value in compiled.targets:
        origins[assign(shaped, path, value)] = keys
    outcome = validate(_Anything, shaped, env, what=f"data mapper {name}", owner=name, deep=type_checks,
                       operation=decl.output)
    for missing in _required_missing(compiled):
        out.append(_problem(name, (missing,), "missing-key", f"data mapper {name}: {missing} is required"))
    refused = {p.key_path for p in out if p.severity == "error"}
    for problem in outcome.problems:
        found = _problem(name, _owner(tuple(problem.path), origins), problem.code, problem.message, problem.severity)
        if found.key_path not in refused:  # a bad target path says it already
            out.append(found)
    if decl.sample:
        seen = {p.key_path for p in out}
        for keys, message in preview(compiled, decl.sample).problems:
            p = _problem(name, keys, "sample", f"data mapper {name}, with its sample: {message}", "warning")
            if p.key_path not in seen:
                out.append(p)
    return out


def _required_missing(compiled: CompiledMapper) -> list[str]:
    """Required attributes no target writes (and required sub-attributes of those written): the
    schema check cannot tell while a value known only at run time fails its own checks."""
    written = {tuple(seg.name for seg in path.segments) for _, path, _ in compiled.targets}
    tops = {names[0] for names in written}
    out = []
    for attr in compiled.attributes:
        if attr.required and not attr.read_only and attr.name not in tops:
            out.append(attr.name)
        elif attr.name in tops and not any(len(n) == 1 and n[0] == attr.name for n in written):
            out += [f"{attr.name}.{sub.name}" for sub in attr.sub if sub.required and not sub.read_only
                    and (attr.name, sub.name) not in written]
    return out


def _reserved() -> tuple[str, ...]:
    from workbench.project.mapper_calls import BUILTINS

    return BUILTINS


def _field_reads(project: Any, name: str, compiled: CompiledMapper) -> list[FieldProblem]:
    """`${input.emial}` of a declared record type: no such field."""
    declared = (getattr(project, "types", None) or {}).get(compiled.decl.input)
    if declared is None:
        return []
    out = []
    for keys, _, value in compiled.targets:
        if not isinstance(value, str) or "${" not in value:
            continue
        try:
            refs = list(parse_template(value).references())
        except ExpressionError:
            continue
        for ref in refs:
            head = ref.path.split(".")[1].split("[")[0] if ref.root == "input" and "." in ref.path else ""
            if head and head not in declared.fields:
                close = difflib.get_close_matches(head, list(declared.fields), n=1)
                out.append(_problem(name, keys, "unknown-field", f"data mapper {name}: ${{{ref.path}}}: "
                                    f"{compiled.decl.input} has no field {head!r}"
                                    + (f" (did you mean {close[0]!r}?)" if close else "")))
    return out


def step_type_problems(project: Any, spec: Any, op: Any, args: Mapping[str, Any], base: tuple,
                       prefix: tuple) -> list[FieldProblem]:
    """A step's payload (or sync `desired`) that is a mapper's output of another type."""
    from workbench.project.mapper_calls import MapCall, MapperCall

    expected = f"{spec.id}.{op.payload_type}" if getattr(op, "payload_type", "") else ""
    key = "desired" if "desired" in op.params.model_fields else "payload"
    value = args.get(key) if expected and isinstance(args, Mapping) else None
    if not isinstance(value, str) or "${" not in value:
        return []
    try:
        single = parse_template(value).single
    except ExpressionError:
        return []
    if not isinstance(single, (MapperCall, MapCall)):
        return []
    compiled = registry_for(project).get(single.mapper)
    if compiled is None:
        return []
    message = ""
    if (key == "desired") != isinstance(single, MapCall):
        message = (f"{key} is one {expected}: call {single.mapper}(...) on one record" if key == "payload"
                   else f"{key} is a list: use map(list, {single.mapper})")
    elif compiled.decl.output != expected:
        message = f"data mapper {single.mapper} gives a {compiled.decl.output}; {op.name}'s {key} is a {expected}"
    return [FieldProblem(prefix + (key,), "type-mismatch", message, base=base)] if message else []


# -- the preview ---------------------------------------------------------------------------------


@dataclass
class Preview:
    output: Any = None
    problems: list[tuple[tuple, str]] = field(default_factory=list)  # (field key path, message)

    def by_target(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for keys, message in self.problems:
            out.setdefault(".".join(str(k) for k in keys), []).append(message)
        return out


def locate_target(output: Any, path: TargetPath) -> tuple | None:
    """Where a target's value sits in an output, or None when it is not there."""
    node, where = output, []
    for seg in path.segments:
        if not isinstance(node, dict) or seg.name not in node:
            return None
        node = node[seg.name]
        where.append(seg.name)
        if seg.filter is not None:
            items = node if isinstance(node, list) else []
            index = next((i for i, e in enumerate(items) if isinstance(e, dict)
                          and all(e.get(k) == v for k, v in seg.filter)), None)
            if index is None:
                return None
            node = items[index]
            where.append(index)
    return tuple(where)


def preview(compiled: CompiledMapper, record: Any, outer: Mapping[str, Any] | None = None) -> Preview:
    """The output for `record`, and what is wrong with it, on the target that causes it."""
    from workbench.connectors.messages import describe

    if compiled.errors:
        return Preview(None, [(keys, message) for keys, message, severity in compiled.problems if severity == "error"])
    result = Preview()
    try:
        result.output = compiled(record, outer)
    except ExpressionError as exc:
        target = next((keys for keys, path, _ in compiled.targets if f": {path.text}: " in exc.message), ())
        message = exc.message.split(": ", 2)[-1] if target else exc.message
        return Preview(None, [(target, message)])
    origins = {}
    for keys, path, _ in compiled.targets:
        where = locate_target(result.output, path)
        if where is not None:
            origins[where] = keys
    for err in compiled.type_spec.errors(result.output) if compiled.type_spec is not None else []:
        loc = tuple(err.get("loc", ()))
        text, requirement = describe(err, err.get("input"))
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        result.problems.append((_owner(loc, origins), f"{where} {text}" if requirement else f"{where}: {text}"))
    return result


def compile_draft(name: str, decl: DataMapper) -> CompiledMapper:
    """A mapper as being edited (not saved yet)."""
    return CompiledMapper(name, decl)


def unknown_calls(parsed: Any, project: Any) -> list[str]:
    """The messages for calls of data mappers the project does not declare."""
    from workbench.project.mapper_calls import calls_in, unknown_call_message

    declared = getattr(project, "datamappers", None) or {}
    return [unknown_call_message(call.mapper, list(declared)) for call in calls_in(parsed) if call.mapper not in declared]


def target_templates(project: Any, name: str) -> list[tuple[tuple, Any]]:
    """(key path under `fields`, parsed template) of each target that holds an expression."""
    compiled = registry_for(project).get(name)
    out = []
    for keys, _, value in compiled.targets if compiled is not None else ():
        if isinstance(value, str) and "${" in value:
            out.append((keys, parse_template(value)))
    return out


def call_cycle(project: Any, name: str) -> list[str]:
    """The mappers `name` calls back to itself through (empty when it does not)."""
    from workbench.project.mapper_calls import calls_in

    def callees(mapper: str) -> list[str]:
        return [call.mapper for _, template in target_templates(project, mapper) for call in calls_in(template)
                if call.mapper in (getattr(project, "datamappers", None) or {})]

    stack, seen = [(name, [name])], set()
    while stack:
        current, trail = stack.pop()
        for callee in callees(current):
            if callee == name:
                return trail + [callee]
            if callee not in seen:
                seen.add(callee)
                stack.append((callee, trail + [callee]))
    return []
