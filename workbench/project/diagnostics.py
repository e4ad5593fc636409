"""`workbench check`: everything that can be known about a project without running it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from workbench.project.config import env_name, format_value
from workbench.project.diagnostic import ERROR, WARNING, Diagnostic
from workbench.project.expression_checks import (
    base_scope,
    did_you_mean,
    expression_problems,
    mapper_call_problems,
    reference_problems,
    template_problems,
)
from workbench.project.model import (
    BRANCH_ATTRS,
    CallStep,
    ForeachStep,
    IfStep,
    SyncStep,
    child_branches,
)
from workbench.project.static_types import ERROR_TYPE, item_type, merge, static_value
from workbench.project.store import CONFIG_FILE, ProjectStore
from workbench.project.validation import (
    args_problems,
    connection_problems,
    foreach_problems,
)
from workbench.project.validator import defined_types

RESERVED = ("config", "error", "request")
MIN_SECRET_LENGTH = 4  # a shorter secret value gets a `short-secret` warning


def check(
    store: ProjectStore,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    memory: Mapping[str, Any] | None = None,
    cache: bool = False,
    host: str | None = None,
) -> list[Diagnostic]:
    """Every diagnostic of the project. With `cache` (`workbench check`), the verdicts of the
    deeper payload checks are kept in `.workbench/cache/` for the next process (check_cache.py);
    a run does not need it (its connector validates before sending anyway)."""
    checker = _Checker(store)
    checker.host = host  # what `serve` listens on: `auth = none` beyond loopback warns
    if not cache:
        checker.run(store.resolve_config(env=env, overrides=overrides, memory=memory))
    else:
        from workbench.project.check_cache import DeepVerdicts
        from workbench.project.validation import disk_verdicts

        verdicts = DeepVerdicts(store.root)
        token = disk_verdicts.set(verdicts)
        try:
            checker.run(store.resolve_config(env=env, overrides=overrides, memory=memory))
        finally:
            disk_verdicts.reset(token)
            verdicts.save()
    for name in overrides or {}:
        if name not in store.project.configurables:  # a typo would silently run with another value
            checker.add("undeclared-configurable", f"--set {name}: there is no configurable {name!r}"
                        + did_you_mean(name, store.project.configurables), ("configurables",))
    return checker.diagnostics


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == ERROR for d in diagnostics)


class _Checker:
    def __init__(self, store: ProjectStore) -> None:
        self.store = store
        self.project = store.project
        self.diagnostics: list[Diagnostic] = list(store.load_diagnostics)

    def add(self, code: str, message: str, path: tuple, severity: str = ERROR, **kw: Any) -> None:
        self.diagnostics.append(self.store.diag(code, message, path, severity=severity, **kw))

    def run(self, resolved) -> None:
        from workbench.project.static_types import config_env

        self.config_static = config_env(resolved)  # what each `${config.X}` holds, for the field checks
        self.redactor = resolved.redactor()  # a schema's own message may quote a value
        self.configurables(resolved)
        self.connections()
        if self.project.datamappers:
            self.datamappers()
        for name, entry in self.project.entrypoints.items():
            self.entrypoint(name, entry)
        self.services()

    def services(self) -> None:
        from workbench.project.service import service_problems

        for code, message, path, severity in service_problems(self.project, host=getattr(self, "host", None)):
            self.add(code, message, path, severity)

    # -- configurables ---------------------------------------------------------------------------
    def configurables(self, resolved) -> None:
        seen_env: dict[str, str] = {}
        for name, decl in self.project.configurables.items():
            path = ("configurables", name)
            for var in (env_name(name), env_name(name) + "_FILE"):  # `a_file` would read a's file variable
                other = seen_env.setdefault(var, name)
                if other != name:
                    self.add("duplicate-name", f"configurables {other!r} and {name!r} share the variable {var}", path)
                    break  # `url` and `URL` share both variables: one diagnostic
            if decl.default is not None:
                from workbench.project.config import CoercionError, coerce

                try:
                    coerce(decl.type, decl.default, from_text=False, secret=decl.secret)
                except CoercionError as exc:
                    self.add("type-mismatch", f"default of {name}: {exc}", path + ("default",))
            if decl.secret and decl.default is not None:
                self.add("secret-default", f"secret {name} has a default in workbench.toml; keep secrets in Config.toml or the environment", path, WARNING)
        for rv in resolved.values.values():
            path = ("configurables", rv.name)
            if rv.decl.secret and rv.ok and _too_short(rv.value):
                self.add("short-secret", f"the value of secret {rv.name} is shorter than {MIN_SECRET_LENGTH} characters: "
                         "run output masks every occurrence of it, which garbles unrelated text", path, WARNING)
            if rv.error:
                file = {"Config.toml": CONFIG_FILE, "keyring": CONFIG_FILE,
                        "secrets file": self.store.secrets_file.path.name}.get(rv.source, "workbench.toml")
                where = path if file == "workbench.toml" else (rv.name,)
                self.add("type-mismatch", rv.error, where, file=file)
            elif rv.source == "missing" or (rv.decl.required and rv.value == ""):  # "" is no value
                self.add(
                    "missing-value",
                    f"required configurable {rv.name} has no value",
                    path,
                    hints=[
                        f"workbench config {self.store.root} set {rv.name} {'-' if rv.decl.secret else 'VALUE'}",
                        f"export {env_name(rv.name)}=VALUE",
                        f"workbench run {self.store.root} --set {rv.name}=VALUE",
                    ],
                )
        secrets = self.store.secrets_file
        for key, file in [(k, CONFIG_FILE) for k in resolved.unknown_keys] + [
                (k, secrets.path.name) for k in secrets.data if k not in self.project.configurables]:
            self.add("unknown-configurable", f"{key} in {file} is not a declared configurable"
                     + did_you_mean(key, self.project.configurables), (key,), WARNING, file=file)
        from workbench.project.secret_checks import secret_file_problems

        for code, message, name, file in secret_file_problems(self.store):
            self.add(code, message, (name,), WARNING, file=file)

    # -- connections -----------------------------------------------------------------------------
    def connections(self) -> None:
        from workbench.connectors import catalogue

        for name, decl in self.project.connections.items():
            path = ("connections", name)
            try:
                spec = catalogue.get(decl.connector)
            except KeyError:
                known = [s.id for s in catalogue.all_specs()]
                self.add("unknown-connector", f"unknown connector {decl.connector!r}" + did_you_mean(decl.connector, known),
                         path + ("connector",))
                continue
            scope = self.base_scope()
            self.expressions(template_problems(self.project, decl.fields, path, scope))
            self.problems(connection_problems(spec, decl.fields, scope, name=name, base=path))
            self.literal_secrets(spec.secret_fields(), decl.fields, path)

    def literal_secrets(self, secret_fields: set[str], fields: dict, path: tuple) -> None:
        for dotted in sorted(secret_fields):
            value: Any = fields
            for key in dotted.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, str) and value and "${" not in value:
                key = dotted.rsplit(".", 1)[-1]
                self.add("literal-secret", f"{key} is written in workbench.toml; bind it to a secret configurable",
                         path + tuple(dotted.split(".")), WARNING)

    def expressions(self, problems) -> None:
        """(code, message, key path) from expression_checks.py."""
        for code, message, where in problems:
            self.add(code, message, where)

    def problems(self, problems) -> None:
        """Field problems from the one validation (workbench.project.validation)."""
        for problem in problems:
            message = self.redactor.text(problem.message) if self.redactor else problem.message
            self.add(problem.code, message, problem.key_path, problem.severity)

    def datamappers(self) -> None:
        from workbench.project.mapper_checks import mapper_env, mapper_problems, target_templates

        for name, decl in self.project.datamappers.items():
            scope = mapper_env(self.project, decl, self.config_static)
            for keys, template in target_templates(self.project, name):
                where = ("datamappers", name, "fields", *keys)
                self.expressions(reference_problems(self.project, template.references(), where, scope))
                self.expressions(mapper_call_problems(self.project, template, where))
            self.problems(mapper_problems(self.project, name, self.config_static))

    # -- entry points and steps -----------------------------------------------------------------
    def base_scope(self) -> dict:
        return base_scope(self.project, self.config_static)

    def entrypoint(self, name: str, entry) -> None:
        # the entry-point forms' check too
        from workbench.project.entry_checks import automation_problems

        path = ("entrypoints", name)
        for code, message, where in automation_problems(entry):
            self.add(code, message, path + where)
        scope = self.base_scope()
        if entry.kind == "service":
            from workbench.project.service import request_type

            scope["request"] = request_type(entry)
        self.steps(entry.steps, path + ("steps",), scope)
        self.steps(entry.onError, path + ("onError",), {**scope, "error": ERROR_TYPE})

    def steps(self, steps: list, path: tuple, scope: dict) -> None:
        for index, step in enumerate(steps):
            self.step(step, path + (index,), scope)

    def step(self, step, path: tuple, scope: dict) -> None:
        self.expressions(expression_problems(self.project, step, path, scope))
        if isinstance(step, (CallStep, SyncStep)):
            self.call(step, path, scope)
        elif isinstance(step, ForeachStep):
            self.problems(foreach_problems(step.concurrency, scope, base=path))
        for branch in child_branches(step):
            inner = dict(scope)
            if isinstance(step, ForeachStep):  # local to each item
                inner[step.as_] = item_type(static_value(step.foreach, scope))
            self.steps(getattr(step, BRANCH_ATTRS[branch]), path + (branch,), inner)
            if isinstance(step, IfStep):  # a branch's variables outlive it (the engine shares the scope)
                for var, static in inner.items():
                    if scope.get(var) is not static:
                        scope[var] = merge(scope.get(var), static)
        for var, static in defined_types(step, scope, self.project).items():
            if var in RESERVED:
                self.add("duplicate-name", f"{var!r} is reserved and cannot name a variable", path)
            scope[var] = static

    def call(self, step: CallStep | SyncStep, path: tuple, scope: dict) -> None:
        from workbench.connectors import catalogue

        # A sync step's arguments are its own keys; a call's are under `args`.
        key, prefix = ("sync", ()) if isinstance(step, SyncStep) else ("call", ("args",))
        decl = self.project.connections.get(step.connection)
        if decl is None:
            self.add("unknown-connection", f"unknown connection {step.connection!r}"
                     + did_you_mean(step.connection, self.project.connections), path + (key,))
            return
        try:
            spec = catalogue.get(decl.connector)
        except KeyError:
            return  # reported on the connection
        op = spec.operations.get(step.operation)
        if op is None:
            what = (f"connector {spec.id!r} cannot sync ({step.operation} is not one of its operations)"
                    if key == "sync" else f"connector {spec.id!r} has no operation {step.operation!r}"
                    + did_you_mean(step.operation, spec.operations))
            self.add("unknown-operation", what, path + (key,))
            return
        found = args_problems(spec, step.operation, step.args, scope, call=step.call, base=path, prefix=prefix)
        self.problems(found)
        if op.payload_type and self.project.datamappers:  # a mapper's output of another type (said once)
            from workbench.project.mapper_checks import step_type_problems

            said = {p.key_path for p in found}
            self.problems(p for p in step_type_problems(self.project, spec, op, step.args, path, prefix)
                          if p.key_path not in said)


def _too_short(value: Any) -> bool:
    """A secret value (or an item of a secret array) that masking would find everywhere."""
    items = value if isinstance(value, list) else [value]
    return any(0 < len(format_value(item)) < MIN_SECRET_LENGTH for item in items if item is not None)
