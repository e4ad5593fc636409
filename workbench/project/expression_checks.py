"""What `check` says of a step's own expressions (not its branches'): a syntax error, an unknown
variable, an undeclared configurable, a piece of a secret, an unknown mapper call. One function
for `check` (diagnostics.py) and the step forms (validator.Validator.step), so a form shows ✓
only where check does."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Any

from workbench.project.address import split_key_path
from workbench.project.expressions import ExpressionError, iter_templates, parse_expression, parse_template
from workbench.project.model import CallStep, ForeachStep, IfStep, SyncStep

Problem = tuple[str, str, tuple]  # (code, message, key path)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def base_scope(project: Any, config: Any) -> dict:
    """The variables every step sees, with what they hold (static_types.Static): the
    configurables (`config`, their static types) and the project's mappers."""
    from workbench.project.mappers import mapper_scope
    from workbench.project.static_types import Known

    return {"config": config, **{k: Known(v) for k, v in mapper_scope(project).items()}}


def expression_problems(project: Any, step: Any, path: tuple, scope: dict) -> Iterator[Problem]:
    """The problems of `step`'s expressions, at `path` (the step's key path), with `scope` the
    variables it sees (static_types.Static)."""
    if isinstance(step, (CallStep, SyncStep)):  # a sync step's arguments are its own keys
        yield from template_problems(project, step.args, path + (() if isinstance(step, SyncStep) else ("args",)), scope)
    elif isinstance(step, IfStep):
        where = path + ("if",)
        try:
            expr = parse_expression(step.if_)
        except ExpressionError as exc:
            yield "expression-syntax", f"if: {exc}", where
            return
        yield from reference_problems(project, expr.references(), where, scope)
        yield from mapper_call_problems(project, expr, where)
    elif isinstance(step, ForeachStep):
        yield from template_problems(project, step.foreach, path + ("foreach",), scope)
        yield from template_problems(project, step.concurrency, path + ("concurrency",), scope)
    else:
        yield from template_problems(project, step.model_dump(by_alias=True, exclude={"label"}), path, scope)


def template_problems(project: Any, value: Any, path: tuple, scope: dict) -> Iterator[Problem]:
    for key_path, text in iter_templates(value):
        where = path + split_key_path(key_path)
        try:
            template = parse_template(text)
        except ExpressionError as exc:
            yield "expression-syntax", str(exc), where
            continue
        yield from reference_problems(project, template.references(), where, scope)
        yield from mapper_call_problems(project, template, where)


def mapper_call_problems(project: Any, parsed: Any, where: tuple) -> Iterator[Problem]:
    if "(" not in parsed.source:
        return  # no call at all: the common case, at no cost
    from workbench.project.mapper_checks import unknown_calls

    for message in unknown_calls(parsed, project):
        yield "unknown-mapper", message, where


def reference_problems(project: Any, refs: Iterable[Any], where: tuple, scope: dict) -> Iterator[Problem]:
    for ref in refs:
        if getattr(ref, "optional", False):
            continue  # read inside default(): a missing value is expected
        if ref.root == "config":
            name = ref.path.split(".")[1].split("[")[0] if "." in ref.path else ""
            decl = project.configurables.get(name) if name else None
            if name and decl is None:
                yield ("undeclared-configurable", f"${{{ref.path}}} reads an undeclared configurable {name!r}"
                       + did_you_mean(name, project.configurables), where)
            elif decl is not None and decl.secret and ref.depth > (2 if decl.type.endswith("[]") else 1):
                # A piece of a secret is not the secret: masking cannot find it in the output.
                yield ("secret-indexed", f"${{{ref.path}}} reads a piece of the secret {name}; use the "
                       "whole value (masking finds only whole secrets)", where)
        elif ref.root not in scope:
            yield "unknown-variable", f"unknown variable {ref.root!r} in ${{{ref.path}}}" + did_you_mean(ref.root, scope), where
