"""The project walk and the editors' entry point.

`walk` gives each step of an entry point with the variables it sees (as the engine's scope
holds them, typed statically); `Validator` validates one connection, one step or one
configurable's value as the user types, with `check`'s verdict and words (the same
`workbench.project.validation`).

Headless: never imports textual.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from workbench.project.static_types import (
    ANY,
    ERROR_TYPE,
    LIST,
    Env,
    Known,
    Static,
    Type,
    config_env,
    config_names,
    item_type,
    merge,
    result_type,
    static_value,
)
from workbench.project.validation import (
    FieldProblem,
    args_problems,
    connection_problems,
    foreach_problems,
)


def defined_types(step: Any, env: Env, project: Any) -> dict[str, Static]:
    """The variables a step defines, with their types."""
    from workbench.project.model import CallStep, ForeachStep, SetStep, SyncStep

    if isinstance(step, (CallStep, SyncStep)) and step.result:
        return {step.result: _call_result(step, project)}
    if isinstance(step, ForeachStep) and step.result:
        return {step.result: LIST}
    if isinstance(step, SetStep):
        return {step.set: static_value(step.value, env)}
    return {}


def _call_result(step: Any, project: Any) -> Static:
    from workbench.connectors import catalogue

    decl = project.connections.get(step.connection)
    try:
        spec = catalogue.get(decl.connector) if decl is not None else None
    except KeyError:
        spec = None
    op = spec.operations.get(step.operation) if spec is not None else None
    return result_type(op) if op is not None else ANY


def walk(project: Any, steps: list, env: dict[str, Static], key_path: tuple) -> Iterator[tuple[tuple, Any, dict]]:
    """(key path, step, the variables it sees) for each step, depth first, in run order. `env`
    is updated with what the steps define, as the engine's scope is."""
    from workbench.project.model import (
        BRANCH_ATTRS,
        ForeachStep,
        IfStep,
        child_branches,
    )

    for index, step in enumerate(steps):
        path = key_path + (index,)
        yield path, step, env
        for branch in child_branches(step):
            inner = dict(env)
            if isinstance(step, ForeachStep):
                inner[step.as_] = item_type(static_value(step.foreach, env))
            yield from walk(project, getattr(step, BRANCH_ATTRS[branch]), inner, path + (branch,))
            if isinstance(step, IfStep):  # a branch's variables outlive it (the engine shares the scope)
                for var, static in inner.items():
                    if env.get(var) is not static:
                        env[var] = merge(env.get(var), static)
        env.update(defined_types(step, env, project))


class Validator:
    """The editors' entry point: validate one connection, one step or one configurable's value
    as the user types, with `check`'s verdict and words. Build once per project state (cheap);
    each call costs well under a millisecond on a large project.

        v = Validator(store.project, store.resolve_config())
        v.connection("scimClient", {"serviceUrl": "htp:/x"})  # -> [FieldProblem(("serviceUrl",), ...)]
        v.step("provisionUser", "0", {"call": "scimClient.createUser", "args": {...}})
        v.configurable("scimServiceUrl", "htp:/x")            # every field it is bound to
    """

    def __init__(self, project: Any, resolved: Any) -> None:
        self.project = project
        self.resolved = resolved
        self.config = config_env(resolved)
        self._uses: dict[str, list[tuple]] | None = None

    def env(self) -> dict[str, Static]:
        """What every step sees: check's base scope."""
        from workbench.project.expression_checks import base_scope

        return base_scope(self.project, self.config)

    def connection(self, name: str, fields: Mapping[str, Any] | None = None, connector: str | None = None,
                   env: Env | None = None) -> list[FieldProblem]:
        """Problems of a connection's fields (the saved ones, or `fields` as being edited), with
        paths relative to the connection's table. An unknown connector gives none."""
        from workbench.connectors import catalogue

        decl = self.project.connections.get(name)
        connector = connector or (decl.connector if decl is not None else None)
        if fields is None:
            fields = decl.fields if decl is not None else {}
        try:
            spec = catalogue.get(connector) if connector else None
        except KeyError:
            spec = None
        if spec is None:
            return []
        return connection_problems(spec, {k: v for k, v in fields.items() if k != "connector"},
                                   env or self.env(), name=name)

    def scope_at(self, entry: str, address: Any) -> dict[str, Static]:
        """The variables a step at `address` (a StepAddress or its text) sees."""
        from workbench.project.address import StepAddress

        address = StepAddress.parse(address)
        ep = self.project.entrypoints.get(entry)
        env = self.env()
        if address.root == "onError":
            env["error"] = ERROR_TYPE
        if ep is None:
            return env
        if ep.kind == "service":
            from workbench.project.service import request_type

            env["request"] = request_type(ep)
        target = ("entrypoints", entry, *address.key_path)
        steps = ep.steps if address.root == "steps" else ep.onError
        last = env
        for path, _step, seen in walk(self.project, steps, env, ("entrypoints", entry, address.root)):
            if path == target:
                return dict(seen)
            if len(path) == len(target) and path[:-1] == target[:-1] and path[-1] > target[-1]:
                break
            if path[: len(target) - 1] == target[:-1]:
                last = dict(seen)
        return last

    def step(self, entry: str, address: Any, step: Any = None, *, expressions: bool = True) -> list[FieldProblem]:
        """Problems of a step's fields (the saved step, or `step` as being edited: a dict as in
        TOML or a step model), with paths relative to the step's table: ("args", "payload",
        "userName"), ("concurrency",)."""
        from workbench.project.address import StepAddress
        from workbench.project.model import CallStep, ForeachStep, SyncStep

        from workbench.project.expression_checks import expression_problems

        address = StepAddress.parse(address)
        base = ("entrypoints", entry, *address.key_path)
        if step is None:
            step = self._saved_step(entry, address)
        if isinstance(step, Mapping):
            step, invalid = _step_model(step, base)
            if invalid:  # as check says it of the file: the first error in each field
                return invalid
        if step is None:
            return []
        env = self.scope_at(entry, address)
        problems = [FieldProblem(where[len(base):], code, message, base=base)
                    for code, message, where in expression_problems(self.project, step, base, env)] if expressions else []
        if isinstance(step, (CallStep, SyncStep)):
            problems += self._call(step, env, base)
        elif isinstance(step, ForeachStep):
            problems += foreach_problems(step.concurrency, env, base=base)
        return problems

    def _call(self, step: Any, env: Env, base: tuple) -> list[FieldProblem]:
        from workbench.connectors import catalogue

        decl = self.project.connections.get(step.connection)
        if decl is None:
            return []
        try:
            spec = catalogue.get(decl.connector)
        except KeyError:
            return []
        if step.operation not in spec.operations:
            return []
        prefix = ("args",) if step.kind == "call" else ()  # a sync step's arguments are its own keys
        return args_problems(spec, step.operation, step.args, env, call=step.call, base=base, prefix=prefix)

    def _saved_step(self, entry: str, address: Any) -> Any:
        from workbench.project.model import BRANCH_ATTRS

        ep = self.project.entrypoints.get(entry)
        if ep is None:
            return None
        steps = ep.steps if address.root == "steps" else ep.onError
        step = None
        for depth, index in enumerate(address.indexes):
            if depth:
                steps = getattr(step, BRANCH_ATTRS[address.branches[depth - 1]], [])
            if not 0 <= index < len(steps):
                return None
            step = steps[index]
        return step

    def configurable(self, name: str, value: Any, *, from_text: bool = False) -> list[FieldProblem]:
        """Problems of a value for configurable `name` (being typed in the Configurations pane):
        its declared type, "" for a required one, then every field it is bound to, with the
        field's key path (`key_path`) and `binding` = name."""
        from workbench.project.config import CoercionError, coerce

        decl = self.project.configurables.get(name)
        base = ("configurables", name)
        if decl is None:
            return []
        try:
            value = coerce(decl.type, value, from_text=from_text, secret=decl.secret)
        except CoercionError as exc:
            return [FieldProblem((), "type-mismatch", f"{name}: {exc}", name, base=base)]
        if decl.required and value == "":
            return [FieldProblem((), "missing-value", f"required configurable {name} has no value", name, base=base)]
        config = Type("object", fields={**(self.config.fields or {}), name: Known(value)})
        other = self._with_config(config)
        env = other.env()
        out: list[FieldProblem] = []
        for use in self.uses().get(name, ()):
            if use[0] == "connection":
                problems = self.connection(use[1], env=env)
            else:
                _, entry, address = use
                problems = other.step(entry, address, expressions=False)  # they do not read the value
            out.extend(p for p in problems if p.binding == name or name in p.message)
        return out

    def _with_config(self, config: Type) -> Validator:
        """This validator with other values of the configurables."""
        other = Validator.__new__(Validator)
        other.project, other.resolved, other.config, other._uses = self.project, self.resolved, config, self._uses
        return other

    def uses(self) -> dict[str, list[tuple]]:
        """Where each configurable is read: ("connection", name) and ("step", entry, address)."""
        if self._uses is None:
            from workbench.project.address import StepAddress
            from workbench.project.expressions import iter_templates
            from workbench.project.model import CallStep, ForeachStep, SyncStep, walk_steps

            uses: dict[str, list[tuple]] = {}

            def note(value: Any, use: tuple) -> None:
                for _, text in iter_templates(value):
                    for config in config_names(text)[1]:
                        bucket = uses.setdefault(config, [])
                        if use not in bucket:
                            bucket.append(use)

            for cname, decl in self.project.connections.items():
                note(decl.fields, ("connection", cname))
            for ename, ep in self.project.entrypoints.items():
                for root, steps in (("steps", ep.steps), ("onError", ep.onError)):
                    for path, step in walk_steps(steps):
                        address = StepAddress.parse(path if root == "steps" else f"onError.{path}")
                        if isinstance(step, (CallStep, SyncStep)):
                            note(step.args, ("step", ename, address))
                        elif isinstance(step, ForeachStep):
                            note(step.concurrency, ("step", ename, address))
            self._uses = uses
        return self._uses


_STEP_ADAPTER: Any = None


def _step_model(data: Mapping[str, Any], base: tuple = ()) -> tuple[Any, list[FieldProblem]]:
    """A step table as written (a dict) as its model, or None and what check would say of it."""
    global _STEP_ADAPTER
    from pydantic import TypeAdapter

    from workbench.project.model import Step
    from workbench.project.store import model_problems

    if _STEP_ADAPTER is None:
        _STEP_ADAPTER = TypeAdapter(Step)
    try:
        return _STEP_ADAPTER.validate_python(dict(data)), []
    except ValidationError as exc:
        return None, [FieldProblem(path, code, message, base=base)
                      for code, message, path in model_problems(exc, one_step=True)]
