"""Data mappers: `[datamappers.NAME]` maps a source record onto a type a connector exports
(`scim.User`), field by field, and `[types.NAME]` declares a record type for its input.

    [datamappers.hireToUser]
    input = "record"                 # or a [types.X] name
    output = "scim.User"
    [datamappers.hireToUser.fields]
    userName = "${input.email}"
    'emails[type eq "work"].value' = "${input.email}"

Steps call a mapper as a function, `${hireToUser(hire)}` or `${map(hires, hireToUser)}`
(mapper_calls.py). A mapper is compiled once per project state: its target paths parsed, its
expressions parsed, and the output's shape built as a tree, so mapping a record costs a few
dict operations per field. A null value leaves its attribute out (and an element, or an object,
that ends up empty). The checks are in mapper_checks.py.

Headless: never imports textual.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.project.expressions import EvaluationError, ExpressionError, Path, parse_template
from workbench.project.mapper_paths import PathError, TargetPath, assign, parse_target

MAPPERS = "@mappers"  # the scope key of a run's mappers: no expression can name it
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
FieldType = Literal["string", "int", "float", "boolean", "object", "list", "string[]", "int[]", "any"]


class RecordType(BaseModel):
    """`[types.Hire]`: a record's fields and their types (`workbench mapper infer FILE`)."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    fields: dict[str, FieldType] = {}


class DataMapper(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    input: str = Field("record", pattern=NAME_PATTERN)  # "record", or a [types.X] name
    output: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")  # "scim.User"
    sample: dict[str, Any] | None = None  # a record for the editor's preview and `check`
    fields: dict[str, Any] = {}  # target path -> an expression or a literal


def flat_fields(fields: Mapping[str, Any], prefix: tuple = ()) -> list[tuple[tuple, str, Any]]:
    """(key path in the file, target path, value) per target: a table written in TOML
    (`"urn:...:User" = { department = ... }`) is its keys' paths."""
    out = []
    for key, value in fields.items():
        keys = prefix + (key,)
        if isinstance(value, Mapping) and value:
            out.extend(flat_fields(value, keys))
        else:
            out.append((keys, ".".join(keys), value))
    return out


def output_type(output: str) -> tuple[Any, str]:
    """(the connector's TypeSpec, "") for "scim.User", or (None, why not)."""
    from workbench.connectors import catalogue

    connector, _, name = output.partition(".")
    try:
        spec = catalogue.get(connector)
    except KeyError:
        return None, f"unknown connector {connector!r} in output {output!r}"
    found = spec.types.get(name)
    if found is None:
        exported = ", ".join(f"{spec.id}.{t}" for t in spec.types) or "none"
        return None, f"connector {connector!r} exports no type {name!r} (it exports: {exported})"
    return found, ""


# -- compiled mappers ---------------------------------------------------------------------------

_INPUT, _CONST, _MUTABLE, _EXPR, _OBJ, _LIST = range(6)


class _Obj:
    """A dict to build: entries [key, kind, a, b, target] in the order they first appear."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[list] = []

    def find(self, key: str) -> list | None:
        return next((e for e in self.entries if e[0] == key), None)


class _Conflict(Exception):
    """A key written whole and by parts: the mapper assigns path by path instead."""


def _leaf(value: Any) -> tuple[int, Any, Any]:
    if isinstance(value, str) and "$" in value:
        template = parse_template(value)
        single = template.single
        if (isinstance(single, Path) and single.root == "input" and single.base is None and len(single.keys) == 1
                and isinstance(single.keys[0], str)):
            return _INPUT, single.keys[0], single  # `${input.email}`: a dict read, the evaluator on a miss
        return _EXPR, template.evaluate, None
    if isinstance(value, (dict, list)):
        return _MUTABLE, value, None
    return _CONST, value, None


def _insert(root: _Obj, path: TargetPath, leaf: tuple[int, Any, Any]) -> None:
    node = root
    segments = path.segments
    for index, seg in enumerate(segments):
        last = index == len(segments) - 1
        entry = node.find(seg.name)
        if seg.filter is None:
            if last:
                if entry is not None:
                    raise _Conflict
                node.entries.append([seg.name, *leaf, path.text])
                return
            if entry is None:
                entry = [seg.name, _OBJ, _Obj(), None, path.text]
                node.entries.append(entry)
            elif entry[1] != _OBJ:
                raise _Conflict
            node = entry[2]
            continue
        if last:
            raise _Conflict  # an element written whole: rare, assigned in order
        if entry is None:
            entry = [seg.name, _LIST, [], None, path.text]
            node.entries.append(entry)
        elif entry[1] != _LIST:
            raise _Conflict
        element = next((e for e in entry[2] if e[0] == dict(seg.filter)), None)
        if element is None:
            element = (dict(seg.filter), _Obj())
            entry[2].append(element)
        node = element[1]


def _fail(mapper: str, target: str, exc: ExpressionError) -> EvaluationError:
    return EvaluationError(f"data mapper {mapper}: {target}: {exc.message}", exc.position, exc.source)


def _build(obj: _Obj, record: Any, scope: dict, mapper: str) -> dict:
    out: dict = {}
    for key, kind, a, b, target in obj.entries:
        try:
            if kind == _INPUT:
                try:
                    value = record[a]
                except (KeyError, TypeError, IndexError):
                    value = b.evaluate(scope)  # the evaluator's own error, or a model's field
            elif kind == _CONST:
                value = a
            elif kind == _EXPR:
                value = a(scope)
            elif kind == _OBJ:
                value = _build(a, record, scope, mapper) or None
            elif kind == _LIST:
                value = []
                for flt, sub in a:
                    element = _build(sub, record, scope, mapper)
                    if element:
                        value.append({**flt, **element})
                value = value or None
            else:
                value = copy.deepcopy(a)
        except ExpressionError as exc:
            if exc.message.startswith("data mapper "):
                raise
            raise _fail(mapper, target, exc) from None
        if value is not None:
            out[key] = value
    return out


class CompiledMapper:
    """A mapper ready to run: `mapper(record)` gives the output. `problems` holds what kept it
    from compiling, as (key path under `fields`, message, severity); calling it then fails."""

    def __init__(self, name: str, decl: DataMapper) -> None:
        self.name = name
        self.decl = decl
        self.problems: list[tuple[tuple, str, str]] = []
        self.targets: list[tuple[tuple, TargetPath, Any]] = []
        self.type_spec, why = output_type(decl.output)
        if self.type_spec is None:
            self.problems.append(((), why, "error"))
        try:
            attributes = self.type_spec.attribute_tree() if self.type_spec is not None else ()
        except Exception as exc:  # noqa: BLE001 - a plugin's schema: report it, never crash check
            attributes = ()
            self.problems.append(((), f"the attributes of {decl.output} cannot be read: {exc}", "error"))
        self.attributes = attributes
        leaves = []
        for keys, text, value in flat_fields(decl.fields):
            try:
                path = parse_target(text, attributes, decl.output)
                leaf = _leaf(value)
            except PathError as exc:
                self.problems.append((keys, exc.message, "error"))
                continue
            except ExpressionError as exc:
                self.problems.append((keys, str(exc), "error"))
                continue
            if path.unknown:
                self.problems.append((keys, f"{path.unknown}; it is sent as written", "warning"))
            self.targets.append((keys, path, value))
            leaves.append((path, leaf))
        self.root: _Obj | None = _Obj()
        try:
            for path, leaf in leaves:
                _insert(self.root, path, leaf)
        except _Conflict:
            self.root = None  # assigned target by target, in order
            self._ordered = [(path, _leaf_fn(leaf), path.text) for path, leaf in leaves]
        self.errors = [message for _, message, severity in self.problems if severity == "error"]

    def __call__(self, record: Any, outer: Mapping[str, Any] | None = None) -> dict:
        """The output for `record`; `outer` is the caller's scope (its `config` and mappers).
        Raises EvaluationError naming the mapper and the target."""
        if self.errors:
            raise EvaluationError(f"data mapper {self.name} is invalid: {self.errors[0]}")
        scope = {"input": record}
        if outer is not None:
            if "config" in outer:
                scope["config"] = outer["config"]
            if MAPPERS in outer:
                scope[MAPPERS] = outer[MAPPERS]
        if self.root is not None:
            return _build(self.root, record, scope, self.name)
        out: dict = {}
        for path, fn, target in self._ordered:
            try:
                value = fn(scope)
            except ExpressionError as exc:
                raise _fail(self.name, target, exc) from None
            if value is not None:
                assign(out, path, value)
        return out


def _leaf_fn(leaf: tuple[int, Any, Any]):
    kind, a, b = leaf
    if kind == _INPUT:
        return b.evaluate
    if kind == _EXPR:
        return a
    if kind == _MUTABLE:
        return lambda scope: copy.deepcopy(a)
    return lambda scope: a


class Registry:
    """A project's mappers, each compiled on first use."""

    def __init__(self, project: Any) -> None:
        self.project = project
        self._compiled: dict[str, CompiledMapper] = {}

    def names(self) -> list[str]:
        return list(getattr(self.project, "datamappers", {}) or {})

    def get(self, name: str) -> CompiledMapper | None:
        found = self._compiled.get(name)
        if found is None:
            decl = (getattr(self.project, "datamappers", {}) or {}).get(name)
            if decl is None:
                return None
            found = self._compiled[name] = CompiledMapper(name, decl)
        return found


_REGISTRIES: dict[int, tuple[Any, Registry]] = {}


def registry_for(project: Any) -> Registry:
    """The project's registry, kept while the project (one loaded state) is in use."""
    held = _REGISTRIES.get(id(project))
    if held is not None and held[0] is project:
        return held[1]
    if len(_REGISTRIES) >= 8:
        _REGISTRIES.pop(next(iter(_REGISTRIES)))
    registry = Registry(project)
    _REGISTRIES[id(project)] = (project, registry)
    return registry


def mapper_scope(project: Any) -> dict[str, Any]:
    """What a run's scope adds for the project's mappers (nothing when it has none)."""
    return {MAPPERS: registry_for(project)} if getattr(project, "datamappers", None) else {}
