"""The engine: runs one entry point of a project and streams events to a sink.

    engine = Engine(store, overrides={"newUserName": "ada"})
    result = await engine.run("provisionUser", sink=print)   # RunResult(status, result, error, run_id)

Before any step the project is checked (`diagnostics.check`); any error raises PreflightError and
nothing is called. Steps are compiled once per run into small nodes (templates parsed up front),
so a step costs little more than its own work. Connections open on first use, one per
connection per run, and close when the run ends. Every event is redacted (configured secrets
become `••••`), written to the run history, then given to the sink; Python log records written
while a run is active are masked too (log_masking.py).

Semantics worth knowing:
- Variables set inside a `foreach` body are local to that item. With `result`, the loop
  collects each item's value (that of the last `call` or `set` it ran), in input order.
- A failing item stops the loop from starting new items; the items in flight finish, then the
  first error goes to `onError`.
- `onError` steps see `${error}`: message, type, step (its path), item (in a loop), and status,
  scimType, detail when the server sent them. The run then ends as failed.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from workbench.project.expressions import ExpressionError, parse_expression, parse_template
from workbench.project.model import CallStep, FailStep, ForeachStep, IfStep, LogStep, ReturnStep, SetStep
from workbench.runtime import events as ev
from workbench.runtime.history import HistoryWriter, new_run_id
from workbench.runtime.log_masking import masked_logs

Sink = Callable[[ev.Event], None]
_NOTHING = object()  # "this step produced no value"
PROGRESS_INTERVAL = 0.1  # seconds between foreach.progress events of one loop
_current_step: contextvars.ContextVar[tuple[str, int | None] | None] = contextvars.ContextVar("wb_step", default=None)


class PreflightError(Exception):
    """The run did not start: the project has errors or a required value is missing.
    `diagnostics` holds every diagnostic (warnings too); nothing was called."""

    def __init__(self, diagnostics: list) -> None:
        self.diagnostics = diagnostics
        errors = [d.message for d in diagnostics if d.severity == "error"]
        super().__init__("; ".join(errors) or "the project cannot run")


@dataclass
class RunResult:
    status: str  # succeeded, failed or cancelled
    result: Any = None
    error: dict | None = None
    run_id: str = ""
    duration_ms: float = 0.0
    history_error: str | None = None  # the run went on, but its history could not be written

    @property
    def ok(self) -> bool:
        return self.status == ev.SUCCEEDED


class StepError(Exception):
    """A step failed; `error` is what `${error}` holds in onError."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class Engine:
    def __init__(
        self,
        store,
        *,
        overrides: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        memory: Mapping[str, Any] | None = None,
        history: bool = True,
        keep: int | None = None,
    ) -> None:
        self.store = store
        self.overrides = dict(overrides or {})
        self.env = env
        self.memory = memory
        self.history = history
        self.keep = keep  # runs kept in the history (default: WB_HISTORY_LIMIT or 200)
        self.diagnostics: list = []
        self._active: _Run | None = None

    def entry_name(self, entry: str | None = None) -> str:
        """The entry point to run: `entry`, or the only one. Raises PreflightError."""
        from workbench.project.diagnostic import ERROR, Diagnostic

        names = list(self.store.project.entrypoints)
        if entry is not None and entry in names:
            return entry
        if entry is None and len(names) == 1:
            return names[0]
        if entry is None:
            message = "the project has no entry point" if not names else (
                "the project has several entry points; choose one with --entry: " + ", ".join(names))
        else:
            message = f"unknown entry point {entry!r} (known: {', '.join(names) or 'none'})"
        raise PreflightError(self.diagnostics + [Diagnostic(ERROR, "unknown-entrypoint", message)])

    def preflight(self, entry: str | None = None) -> str:
        """Check the project and pick the entry point. Raises PreflightError; returns its name."""
        from workbench.project.diagnostics import check, has_errors

        self.diagnostics = check(self.store, env=self.env, overrides=self.overrides, memory=self.memory)
        project_file = getattr(self.store, "project_file", None)
        if project_file is not None and project_file.error:
            raise PreflightError(self.diagnostics)  # its syntax error says it all: no "no entry point"
        name = self.entry_name(entry)
        if has_errors(self.diagnostics):
            raise PreflightError(self.diagnostics)
        return name

    async def run(self, entry: str | None = None, sink: Sink | None = None, *, run_id: str | None = None) -> RunResult:
        """Run an entry point. Raises PreflightError before any step; otherwise returns the
        result, also when the run failed or was cancelled with `cancel()`. If the task running
        this is cancelled from outside, the run is recorded as cancelled and CancelledError
        propagates."""
        name = self.preflight(entry)
        config = self.store.resolve_config(env=self.env, overrides=self.overrides, memory=self.memory)
        run = _Run(self, name, config, sink, run_id or new_run_id())
        self._active = run
        try:
            return await run.execute()
        finally:
            self._active = None

    def cancel(self) -> None:
        """Cancel the current run (safe from any thread): in-flight requests are cancelled,
        connections closed, and `run()` returns with status "cancelled"."""
        run = self._active
        if run is not None:
            run.cancel()


# -- a run --------------------------------------------------------------------------------------


class _Run:
    def __init__(self, engine: Engine, entry: str, config, sink: Sink | None, run_id: str) -> None:
        self.engine = engine
        self.entry = entry
        self.run_id = run_id
        self.project = engine.store.project
        self.root = engine.store.root
        self.config_scope = config.scope()
        self.redactor = config.redactor()
        self.sink = sink
        self.history = HistoryWriter(self.root, run_id, keep=engine.keep) if engine.history else None
        self.emit: Callable[[ev.Event], None] | None = self._emit if (sink is not None or self.history is not None) else None
        self.connections: dict[str, Any] = {}
        self.cancel_requested = False
        self.body: asyncio.Future | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ready = threading.Event()

    # -- events --
    def _emit(self, event: ev.Event) -> None:
        if self.redactor:
            event = event.redacted(self.redactor)
        if self.history is not None:
            self.history.write(event.to_dict())
        if self.sink is not None:
            self.sink(event)

    def on_exchange(self, method: str, url: str, status: int | None, duration_ms: float) -> None:
        if self.emit is not None:
            where = _current_step.get()
            step, item = where if where else (None, None)
            self.emit(ev.HttpExchange(self.run_id, time.time(), method, url, status, round(duration_ms, 1), step, item))

    # -- lifecycle --
    def cancel(self) -> None:
        self.cancel_requested = True
        if self.ready.is_set() and self.body is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.body.cancel)

    async def execute(self) -> RunResult:
        """Run the steps in their own task, so `cancel()` can stop them while this coroutine
        still closes the connections and records the outcome."""
        # Always: a connection may add secrets it derives (an access token) to an empty redactor.
        with masked_logs(self.redactor):
            return await self._execute()

    async def _execute(self) -> RunResult:
        self.loop = asyncio.get_running_loop()
        started = time.perf_counter()
        if self.emit:
            self.emit(ev.RunStarted(self.run_id, time.time(), self.entry, self.project.integration.name))
        self.body = asyncio.ensure_future(self.steps())
        self.ready.set()
        if self.cancel_requested:
            self.body.cancel()
        external_cancel = False
        try:
            status, result, error = await self.body
        except asyncio.CancelledError:
            status, result, error = ev.CANCELLED, None, None
            task = asyncio.current_task()
            external_cancel = task is not None and task.cancelling() > 0
        try:
            await self.close_connections()
        except asyncio.CancelledError:  # cancelled from outside while closing: record, then re-raise
            external_cancel = True
        duration = round((time.perf_counter() - started) * 1000, 1)
        if self.redactor:
            result, error = self.redactor.data(result), self.redactor.data(error)
        if self.emit:
            self.emit(ev.RunFinished(self.run_id, time.time(), status, duration, result, error))
        if self.history is not None:
            self.history.close()
        if external_cancel:
            raise asyncio.CancelledError
        problem = self.history.problem if self.history is not None else None
        return RunResult(status, result, error, self.run_id, duration, history_error=problem)

    async def steps(self) -> tuple[str, Any, dict | None]:
        entry = self.project.entrypoints[self.entry]
        scope: dict[str, Any] = {"config": self.config_scope}
        try:
            await self.run_steps(compile_steps(entry.steps, self.project), scope, None)
        except _Return as ret:
            return ev.SUCCEEDED, ret.value, None
        except StepError as exc:
            await self.run_on_error(compile_steps(entry.onError, self.project, "onError."), scope, exc.error)
            return ev.FAILED, None, exc.error
        return ev.SUCCEEDED, None, None

    async def run_on_error(self, steps: list[_Node], scope: dict, error: dict) -> None:
        handler_scope = {**scope, "error": error}
        try:
            await self.run_steps(steps, handler_scope, None)
        except (_Return, StepError):
            pass  # the handler's own failure is in its step events; the run's error stays the first

    async def close_connections(self) -> None:
        connections, self.connections = list(self.connections.values()), {}
        if connections:
            # Shielded: a second cancel must not leave sockets open.
            await asyncio.shield(asyncio.gather(*(c.aclose() for c in connections), return_exceptions=True))

    def connection(self, name: str):
        conn = self.connections.get(name)
        if conn is None:
            conn = self.connections[name] = self.open_connection(name)
        return conn

    def open_connection(self, name: str):
        from workbench.connectors import catalogue
        from workbench.connectors.base import OperationContext
        from workbench.project.validation import InvalidValues, parse_connection

        decl = self.project.connections.get(name)
        if decl is None:
            raise StepError({"message": f"unknown connection {name!r}", "type": "UnknownConnection"})
        spec = catalogue.get(decl.connector)
        try:
            # The one validation (check's), with the run's values: the same verdict, the same words.
            config = parse_connection(spec, decl.fields, {"config": self.config_scope}, name=name)
        except InvalidValues as exc:
            raise StepError({"message": str(exc), "type": "ValidationError"})
        except ExpressionError as exc:
            raise StepError({"message": f"connection {name}: {exc}", "type": type(exc).__name__})
        cls = spec.load()
        return cls(spec, config, context=OperationContext(project_dir=self.root, redactor=self.redactor), on_exchange=self.on_exchange)

    # -- steps --
    async def run_steps(self, nodes: list[_Node], scope: dict, item: int | None) -> Any:
        last = _NOTHING
        for node in nodes:
            value = await self.step(node, scope, item)
            if value is not _NOTHING:
                last = value
        return last

    async def step(self, node: _Node, scope: dict, item: int | None) -> Any:
        emit = self.emit
        if emit is not None:
            emit(ev.StepStarted(self.run_id, time.time(), node.path, node.kind, node.label, item))
        started = time.perf_counter()
        try:
            value, summary = await node.run(self, scope, item)
        except _Return as ret:
            if emit is not None:
                text = summarize(ret.value) if node.kind == "return" else ""
                emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.OK,
                                     _ms(started), text, item))
            raise
        except StepError as exc:
            exc.error.setdefault("step", node.path)
            if item is not None:
                exc.error.setdefault("item", item)
            if emit is not None:
                emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.FAILED,
                                     _ms(started), "", item, exc.error))
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a step is the run's error
            error = error_dict(exc)
            error["step"] = node.path
            if item is not None:
                error["item"] = item
            if emit is not None:
                emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.FAILED,
                                     _ms(started), "", item, error))
            raise StepError(error) from exc
        if emit is not None:
            emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.OK, _ms(started),
                                 summarize(value) if summary is None else summary, item))
        return value if node.produces else _NOTHING

    def skip(self, nodes: list[_Node], item: int | None) -> None:
        """Report the steps of a branch not taken, so the app can grey them out."""
        if self.emit is None:
            return
        for node in nodes:
            self.emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.SKIPPED, 0.0,
                                      "", item))
            for child in node.children():
                self.skip(child, item)


def _ms(started: float) -> float:
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
    if value is None or value is _NOTHING:
        return ""
    if isinstance(value, dict):
        parts = [f"{key} {value[key]}" for key in ("id", "userName", "displayName", "status")
                 if isinstance(value.get(key), (str, int))]
        text = ", ".join(parts) if parts else f"{len(value)} keys"
    elif isinstance(value, (list, tuple)):
        text = f"{len(value)} items"
    elif isinstance(value, str):
        text = value
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


class _Node:
    produces = False  # whether its value counts as "the last value" of a foreach item

    def __init__(self, step, path: str) -> None:
        self.path = path
        self.kind = step.kind
        self.label = step.label or self.default_label(step)

    def default_label(self, step) -> str:
        return self.kind

    def children(self) -> list[list[_Node]]:
        return []

    async def run(self, run: _Run, scope: dict, item: int | None) -> tuple[Any, str | None]:
        raise NotImplementedError


class _Call(_Node):
    produces = True

    def __init__(self, step: CallStep, path: str, project) -> None:
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
        except KeyError:  # reported by the diagnostics; fail only if the step runs
            self.problem = f"{step.call}: unknown connection or operation"

    def default_label(self, step) -> str:
        return step.call

    async def run(self, run, scope, item):
        if self.problem:
            raise StepError({"message": self.problem, "type": "UnknownOperation"})
        conn = run.connection(self.connection)
        args = self.args(scope)
        try:
            params = self.params.model_validate(args)
        except ValidationError:
            # Explained by the one validation (check's), with this run's values.
            from workbench.project.validation import args_failure

            failure = args_failure(self.op, self.raw_args, scope, call=self.call, rendered=args)
            raise StepError({"message": str(failure), "type": "ValidationError"}) from None
        token = _current_step.set((self.path, item))
        try:
            value = await conn.call(self.operation, params)
        finally:
            _current_step.reset(token)
        if self.result:
            scope[self.result] = value
        return value, None


class _Set(_Node):
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


class _Log(_Node):
    def __init__(self, step: LogStep, path: str) -> None:
        super().__init__(step, path)
        self.message = _compile_value(step.log)
        self.level = step.level

    async def run(self, run, scope, item):
        message = _text(self.message(scope))
        if run.emit is not None:
            run.emit(ev.Log(run.run_id, time.time(), self.level, message, self.path, item))
        return _NOTHING, message


class _If(_Node):
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


class _Foreach(_Node):
    produces = True

    def __init__(self, step: ForeachStep, path: str, project) -> None:
        super().__init__(step, path)
        self.source = _compile_value(step.foreach)
        self.name = step.as_
        self.concurrency = step.concurrency
        self.dynamic = isinstance(step.concurrency, str)  # an expression: rendered and checked per run
        self.result = step.result
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
        results = [None] * len(items) if self.result else None
        try:
            if concurrency == 1 or len(items) <= 1:
                for index, value in enumerate(items):
                    self.store(results, index, await self.one(run, scope, index, value, progress))
            else:
                await self.concurrently(run, scope, items, results, progress, concurrency)
        finally:
            progress.finish()
        if self.result:
            scope[self.result] = results
        return (results if results is not None else _NOTHING), f"{len(items)} items"

    async def one(self, run, scope, index: int, value: Any, progress: _Progress) -> Any:
        try:
            last = await run.run_steps(self.steps, {**scope, self.name: value}, index)
        except BaseException as exc:
            progress.count(failed=isinstance(exc, StepError))
            raise
        progress.count(failed=False)
        return last

    @staticmethod
    def store(results: list | None, index: int, last: Any) -> None:
        if results is not None:
            results[index] = None if last is _NOTHING else last

    async def concurrently(self, run, scope, items, results, progress, concurrency: int) -> None:
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
                    self.store(results, index, await self.one(run, scope, index, items[index], progress))
                except Exception as exc:  # StepError or _Return: stop taking items
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

    def __init__(self, run: _Run, path: str, total: int, item: int | None) -> None:
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


class _Returner(_Node):
    def __init__(self, step: ReturnStep, path: str) -> None:
        super().__init__(step, path)
        self.value = _compile_value(step.return_)

    async def run(self, run, scope, item):
        raise _Return(self.value(scope))


class _Fail(_Node):
    def __init__(self, step: FailStep, path: str) -> None:
        super().__init__(step, path)
        self.message = _compile_value(step.fail)

    async def run(self, run, scope, item):
        raise StepError({"message": _text(self.message(scope)), "type": "Fail"})


def compile_steps(steps: list, project, prefix: str = "") -> list[_Node]:
    nodes: list[_Node] = []
    for index, step in enumerate(steps):
        path = f"{prefix}{index}"
        if isinstance(step, CallStep):
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
            nodes.append(_Returner(step, path))
        elif isinstance(step, FailStep):
            nodes.append(_Fail(step, path))
        else:  # pragma: no cover - the model has no other kinds
            raise TypeError(f"unknown step {step!r}")
    return nodes
