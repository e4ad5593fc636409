"""The steps that hold no steps: call (and sync, a call that plans), set, log, return and fail."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import ValidationError

from workbench.project.model import CallStep, FailStep, LogStep, ReturnStep, SetStep, SyncStep
from workbench.runtime import events as ev
from workbench.runtime.node_base import NOTHING, Node, Return, StepError, _compile_value, current_step, rendered_args

MAX_RESULT_LINES = 50  # lines a result may add to the run output (the result keeps them all)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, default=str)


class _Call(Node):
    produces = True
    renders = True

    def __init__(self, step: CallStep | SyncStep, path: str, project) -> None:
        super().__init__(step, path)
        self.call = step.call
        self.connection = step.connection
        self.operation = step.operation
        self.raw_args = step.args
        self.args = _compile_value(step.args)
        self.result = step.result
        self.params = None
        self.op = None
        self.problem = None
        try:
            from workbench.connectors import catalogue

            spec = catalogue.get(project.connections[step.connection].connector)
            self.op = spec.operations[step.operation]
            self.params = self.op.params
            self.idempotent = self.op.idempotent
        except KeyError:  # reported by the diagnostics; fail only if the step runs
            self.problem = f"{step.call}: unknown connection or operation"

    def default_label(self, step) -> str:
        return f"sync {step.sync}" if step.kind == "sync" else step.call

    async def run(self, run, scope, item):
        if self.problem:
            raise StepError({"message": self.problem, "type": "UnknownOperation"})
        if run.plan and self.kind == "call" and not self.op.reads_only:
            if self.result:
                scope[self.result] = None
            return NOTHING, "not run: a plan sends no write"
        conn = run.connection(self.connection)
        args = self.args(scope)
        box = rendered_args.get()
        if box is not None:
            box.append(args)
        if self.kind == "sync":  # `workbench run --plan` / `--force` reach the sync steps
            args["planOnly"] = run.plan or args.get("planOnly", False)
            args["force"] = run.force or args.get("force", False)
        try:
            params = self.params.model_validate(args)
        except ValidationError:
            # Explained by the one validation (check's), with this run's values.
            from workbench.project.validation import args_failure

            failure = args_failure(self.op, self.raw_args, scope, call=self.call, rendered=args)
            raise StepError({"message": str(failure), "type": "ValidationError"}) from None
        token = current_step.set((self.path, item))
        try:
            value = await conn.call(self.operation, params)
        finally:
            current_step.reset(token)
        if self.result:
            scope[self.result] = value
        if self.op.result_lines and run.emit is not None:  # e.g. a sync's plan, as a diff
            lines = self.op.lines_of(value)
            if len(lines) > MAX_RESULT_LINES:
                more = len(lines) - MAX_RESULT_LINES
                lines = [*lines[:MAX_RESULT_LINES - 1], f"… and {more} more (the step's result has them all)", lines[-1]]
            for line in lines:
                run.emit(ev.Log(run.run_id, time.time(), "info", line, self.path, item))
        return value, None


class _Set(Node):
    produces = True

    def __init__(self, step: SetStep, path: str) -> None:
        super().__init__(step, path)
        self.name = step.set
        self.value = _compile_value(step.value)

    def default_label(self, step) -> str:
        return f"set {step.set}"

    async def run(self, run, scope, item):
        value = scope[self.name] = self.value(scope)
        return value, None


class _Log(Node):
    def __init__(self, step: LogStep, path: str) -> None:
        super().__init__(step, path)
        self.message = _compile_value(step.log)
        self.level = step.level

    async def run(self, run, scope, item):
        message = _text(self.message(scope))
        if run.emit is not None:
            run.emit(ev.Log(run.run_id, time.time(), self.level, message, self.path, item))
        return NOTHING, message


class Returner(Node):
    def __init__(self, step: ReturnStep, path: str) -> None:
        super().__init__(step, path)
        self.value = _compile_value(step.return_)

    async def run(self, run, scope, item):
        raise Return(self.value(scope))


class _Fail(Node):
    def __init__(self, step: FailStep, path: str) -> None:
        super().__init__(step, path)
        self.message = _compile_value(step.fail)
        self.status = step.status

    async def run(self, run, scope, item):
        error = {"message": _text(self.message(scope)), "type": "Fail"}
        if self.status is not None:  # a service answers with it
            error["status"] = self.status
        raise StepError(error)
