"""The compiled steps of a run: one small node per step, templates parsed up front, so a step
costs little more than its own work. `Execution` (execution.py) drives them; each node's `run` returns
(value, summary)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from workbench.project.expressions import parse_expression, parse_template
from workbench.project.policy import parse_duration
from workbench.project.model import CallStep, FailStep, ForeachStep, IfStep, LogStep, ReturnStep, SetStep, SyncStep
from workbench.runtime import events as ev
from workbench.runtime.compact import begin_item, end_item, release_item

if TYPE_CHECKING:
    from workbench.runtime.execution import Execution

NOTHING = object()  # "this step produced no value"
PROGRESS_INTERVAL = 0.1  # seconds between foreach.progress events of one loop
MAX_RESULT_LINES = 50  # lines a result may add to the run output (the result keeps them all)
current_step: contextvars.ContextVar[tuple[str, int | None] | None] = contextvars.ContextVar("wb_step", default=None)
# The arguments a call step rendered (the engine sets a fresh list per step): the inspector's.
rendered_args: contextvars.ContextVar[list | None] = contextvars.ContextVar("wb_args", default=None)


class StepError(Exception):
    """A step failed; `error` is what `${error}` holds in onError."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


class Return(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def error_dict(exc: BaseException) -> dict[str, Any]:
    from workbench.connectors.base import ConnectorError

    if isinstance(exc, ConnectorError):
        return exc.to_dict()
    if isinstance(exc, ValidationError):
        return {"message": describe_validation(exc), "type": "ValidationError"}
    return {"message": str(exc) or type(exc).__name__, "type": type(exc).__name__}


def describe_validation(exc: ValidationError) -> str:
    """In the project's words (no "Value error,", never the value)."""
    from workbench.connectors.base import describe_errors

    return "; ".join(describe_errors(exc.errors(include_url=False)))


def summarize(value: Any, limit: int = 80) -> str:
    """A short description of a step's result for the step line."""
    if value is None or value is NOTHING:
        return ""
    if isinstance(value, dict):
        parts = [f"{key} {value[key]}" for key in ("id", "userName", "displayName", "status")
                 if isinstance(value.get(key), (str, int))]
        text = ", ".join(parts) if parts else f"{len(value)} keys"
    elif isinstance(value, (list, tuple)):
        text = f"{len(value)} items"
    elif isinstance(value, str):
        text = value
    elif type(value) is int:  # as json.dumps writes it, at a tenth of its cost (a step per request)
        text = str(value)
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, default=str)


# -- compiled steps -----------------------------------------------------------------------------


def _compile_value(value: Any) -> Callable[[Mapping[str, Any]], Any]:
    """A function that renders `value` in a scope. Templates are parsed once here; containers are
    rebuilt on each call so connectors never share (and mutate) the same dict."""
    if isinstance(value, str):
        if "$" not in value:
            return lambda scope: value
        return parse_template(value).evaluate
    if isinstance(value, Mapping):
        items = [(key, _compile_value(item)) for key, item in value.items()]
        return lambda scope: {key: fn(scope) for key, fn in items}
    if isinstance(value, (list, tuple)):
        parts = [_compile_value(item) for item in value]
        return lambda scope: [fn(scope) for fn in parts]
    return lambda scope: value


class Node:
    produces = False  # whether its value counts as "the last value" of a foreach item

    idempotent = False  # whether running its body twice is harmless (a retry policy asks)

    renders = False  # whether it renders arguments for the inspector (rendered_args): a call

    def __init__(self, step, path: str) -> None:
        self.path = path
        self.kind = step.kind
        self.label = step.label or self.default_label(step)
        self.retry = step.retry
        self.timeout = parse_duration(step.timeout) if step.timeout is not None else None
        self.continues = step.onError == "continue"

    def default_label(self, step) -> str:
        return self.kind

    def children(self) -> list[list[Node]]:
        return []

    async def run(self, run: Execution, scope: dict, item: int | None) -> tuple[Any, str | None]:
        raise NotImplementedError


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


class _If(Node):
    produces = True

    def __init__(self, step: IfStep, path: str, project) -> None:
        super().__init__(step, path)
        self.condition = parse_expression(step.if_)
        self.then = compile_steps(step.then, project, f"{path}.then.")
        self.else_ = compile_steps(step.else_, project, f"{path}.else.")

    def default_label(self, step) -> str:
        return f"if {step.if_}"

    def children(self):
        return [self.then, self.else_]

    async def run(self, run, scope, item):
        if self.condition.evaluate(scope):
            run.skip(self.else_, item)
            return await run.run_steps(self.then, scope, item), "then"
        run.skip(self.then, item)
        return await run.run_steps(self.else_, scope, item), "else"


class _Foreach(Node):
    produces = True

    def __init__(self, step: ForeachStep, path: str, project) -> None:
        super().__init__(step, path)
        self.source = _compile_value(step.foreach)
        self.name = step.as_
        self.concurrency = step.concurrency
        self.dynamic = isinstance(step.concurrency, str)  # an expression: rendered and checked per run
        self.result = step.result
        self.collect = step.errors == "collect"
        self.steps = compile_steps(step.steps, project, f"{path}.steps.")

    def default_label(self, step) -> str:
        return f"foreach {step.as_} in {step.foreach}"

    def children(self):
        return [self.steps]

    def width(self, scope) -> int:
        if not self.dynamic:
            return self.concurrency
        from workbench.project.validation import InvalidValues, parse_concurrency

        try:
            return parse_concurrency(self.concurrency, scope)
        except InvalidValues as exc:
            raise StepError({"message": str(exc), "type": "ValidationError"}) from None

    async def run(self, run, scope, item):
        concurrency = self.width(scope)
        items = self.source(scope)
        if isinstance(items, dict) or not isinstance(items, (list, tuple)):
            raise StepError({"message": f"foreach expects a list, got {type(items).__name__}", "type": "TypeError"})
        progress = _Progress(run, self.path, len(items), item)
        collect = self.collect
        results = [None] * len(items) if (self.result or collect) else None
        failed: list[dict[str, Any]] | None = [] if collect else None
        try:
            if concurrency == 1 or len(items) <= 1:
                for index, value in enumerate(items):
                    self.store(results, index, await self.one(run, scope, index, value, progress, failed))
            else:
                await self.concurrently(run, scope, items, results, progress, concurrency, failed)
        finally:
            progress.finish()
        if failed is not None:
            failed.sort(key=lambda f: f["index"])
            gone = {f["index"] for f in failed}
            results = {"ok": [r for i, r in enumerate(results) if i not in gone], "failed": failed}
            run.failures += len(failed)
            run.collected_ok += len(items) - len(failed)
            run.tolerant = True
        if self.result:
            scope[self.result] = results
        summary = f"{len(items)} items" if failed is None else f"{len(items) - len(failed)} ok, {len(failed)} failed"
        return (results if results is not None else NOTHING), summary

    async def one(self, run, scope, index: int, value: Any, progress: _Progress,
                  failed: list[dict[str, Any]] | None = None) -> Any:
        """One item. With `failed` (errors = "collect"), its failure is kept there, not raised."""
        restored = run.restored_items(self.path)  # items a resumed run finished: not run again
        if index in restored:
            progress.count(failed=False)
            run.keep_item(self.path, index, restored[index])
            return restored[index]
        held, started = begin_item(run), time.perf_counter()  # the history keeps one record per item
        try:
            last = await run.run_steps(self.steps, {**scope, self.name: value}, index)
        except StepError as exc:
            end_item(run, held, self.path, index, started, error=exc.error)
            progress.count(failed=True)
            if failed is None:
                raise
            failed.append({"index": index, "item": value, "error": exc.error})
            return NOTHING
        except BaseException:
            release_item(run, held)
            progress.count(failed=False)
            raise
        end_item(run, held, self.path, index, started, None if last is NOTHING else last)
        progress.count(failed=False)
        run.keep_item(self.path, index, last)
        return last

    @staticmethod
    def store(results: list | None, index: int, last: Any) -> None:
        if results is not None:
            results[index] = None if last is NOTHING else last

    async def concurrently(self, run, scope, items, results, progress, concurrency: int,
                           failed: list[dict[str, Any]] | None = None) -> None:
        """N workers take the next item until the list is done or an item fails; a failure
        lets the items in flight finish, then raises the first error."""
        next_index = 0
        first_error: list[BaseException] = []

        async def worker() -> None:
            nonlocal next_index
            while not first_error and next_index < len(items):
                index = next_index
                next_index += 1
                try:
                    self.store(results, index, await self.one(run, scope, index, items[index], progress, failed))
                except Exception as exc:  # StepError or Return: stop taking items
                    first_error.append(exc)

        workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(items)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.wait(workers)
        if first_error:
            raise first_error[0]


class _Progress:
    """Throttled foreach.progress events: the first, then at most one per PROGRESS_INTERVAL,
    and the final count (also when the loop fails or is cancelled)."""

    __slots__ = ("run", "path", "total", "item", "done", "failed", "last", "sent")

    def __init__(self, run: Execution, path: str, total: int, item: int | None) -> None:
        self.run, self.path, self.total, self.item = run, path, total, item
        self.done = self.failed = 0
        self.last = time.monotonic()
        self.sent = (-1, -1)
        self.send()

    def count(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        now = time.monotonic()
        if now - self.last >= PROGRESS_INTERVAL:
            self.last = now
            self.send()

    def finish(self) -> None:
        if self.sent != (self.done, self.failed):
            self.send()

    def send(self) -> None:
        self.sent = (self.done, self.failed)
        if self.run.emit is not None:
            self.run.emit(ev.ForeachProgress(self.run.run_id, time.time(), self.path, self.done, self.total,
                                             self.failed, self.item))


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


def compile_steps(steps: list, project, prefix: str = "") -> list[Node]:
    nodes: list[Node] = []
    for index, step in enumerate(steps):
        path = f"{prefix}{index}"
        if isinstance(step, (CallStep, SyncStep)):
            nodes.append(_Call(step, path, project))
        elif isinstance(step, SetStep):
            nodes.append(_Set(step, path))
        elif isinstance(step, LogStep):
            nodes.append(_Log(step, path))
        elif isinstance(step, IfStep):
            nodes.append(_If(step, path, project))
        elif isinstance(step, ForeachStep):
            nodes.append(_Foreach(step, path, project))
        elif isinstance(step, ReturnStep):
            nodes.append(Returner(step, path))
        elif isinstance(step, FailStep):
            nodes.append(_Fail(step, path))
        else:  # pragma: no cover - the model has no other kinds
            raise TypeError(f"unknown step {step!r}")
    return nodes


def compile_entry(project, name: str) -> tuple[list[Node], list[Node]]:
    """An entry point's steps and Error Handler, compiled once for many runs (a service's
    requests). Nodes keep no run state: the run and the scope are passed to `run`."""
    entry = project.entrypoints[name]
    return compile_steps(entry.steps, project), compile_steps(entry.onError, project, "onError.")
