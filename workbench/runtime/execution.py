"""One run of an entry point, as `Engine.run` starts it: the steps' task, its events (redacted,
recorded, given to the sink), the connections it opened, the policies around each step, and the
foreach items a resume restores. The engine's docstring says the semantics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from workbench.project.expressions import ExpressionError
from workbench.project.mappers import mapper_scope
from workbench.runtime import events as ev
from workbench.runtime.compact import HistoryRecorder, count_retry, preview
from workbench.runtime.history import HistoryWriter
from workbench.runtime.log_masking import mask_logs, unmask_logs
from workbench.runtime.policies import StepTimeout, with_policies
from workbench.runtime.resume import ResumeState, ResumeWriter
from workbench.runtime.nodes import (NOTHING, Node, Return, StepError, compile_steps, current_step, error_dict, ms,
                                     rendered_args, summarize)

if TYPE_CHECKING:
    from workbench.runtime.engine import Engine

Sink = Callable[[ev.Event], None]
_NONE_RESTORED: Mapping[int, Any] = MappingProxyType({})  # one for every item of a run that resumes nothing


@dataclass
class RunResult:
    status: str  # succeeded, failed or cancelled
    result: Any = None
    error: dict | None = None
    run_id: str = ""
    duration_ms: float = 0.0
    history_error: str | None = None  # the run went on, but its history could not be written
    failed_items: int = 0  # failures that did not stop the run (errors = "collect", onError = "continue")
    ok_items: int = 0  # the items of errors = "collect" loops that succeeded

    @property
    def ok(self) -> bool:
        return self.status == ev.SUCCEEDED



class Execution:
    """One run of an entry point: its events, history, connections and steps."""

    # Set per run where they change (a class default costs a run nothing: a service's is short).
    extra: Mapping[str, Any] | None = None  # variables the caller adds (a service's request)
    trigger: dict | None = None
    compiled: tuple | None = None  # (steps, onError) compiled by the caller, else per run
    top = -1  # the top-level step running now (foreach items are kept per top-level loop)
    failures = 0  # failures that did not stop the run (collected items, continued steps)
    collected_ok = 0  # items of errors = "collect" loops that succeeded
    tolerant = False  # a collect loop or a continued step ran: report the counts
    cancel_requested = False
    body: asyncio.Future | None = None
    loop: asyncio.AbstractEventLoop | None = None
    ready = False  # the steps' task exists: cancel() may cancel it (a plain flag: an Event costs ~9 µs)

    def __init__(self, engine: Engine, entry: str, config, sink: Sink | None, run_id: str,
                 resume: ResumeState | None = None) -> None:
        self.engine = engine
        self.entry = entry
        self.run_id = run_id
        self.project = engine.store.project
        self.root = engine.store.root
        self.config_scope = config.scope()
        self.plan, self.force = engine.plan, engine.force
        self.redactor = config.redactor()
        self.sink = sink
        self.history = (HistoryWriter(self.root, run_id, keep=engine.keep, redactor=self.redactor,
                                      **engine.history_options) if engine.history else None)
        self.recorder = HistoryRecorder(self.history, self.redactor) if self.history is not None else None
        # A sink may say which events it takes (the CLI's skips a foreach item's): the others
        # are redacted only if the history keeps them (compact.py).
        self.wants = getattr(sink, "wants", None)
        self.trace = engine.trace
        # What a later `--resume` needs, kept beside the history (redacted like it).
        self.keeper = (ResumeWriter(self.root, run_id, entry, self.redactor)
                       if engine.history and engine.resumable else None)
        self.resumed = resume
        self.emit: Callable[[ev.Event], None] | None = self._emit if (sink is not None or self.history is not None) else None
        if sink is None and self.history is not None and self.history.background is not None:
            # A server's history redacts a run's events once, as it writes them (segments.encode_run);
            # only a sink (live output) needs each one redacted as it comes. With no foreach, no
            # item holds them back either: straight into the run's events.
            self.emit = self.recorder if engine.items_in(entry) else self.history.hold
        self.connections: dict[str, Any] = {}

    # -- events --
    def _emit(self, event: ev.Event) -> None:
        sink = self.sink
        if sink is None or (self.wants is not None and not self.wants(event)):
            if self.recorder is not None:
                self.recorder.unredacted(event)
            return
        if self.redactor.secrets:
            event = event.redacted(self.redactor)
        if self.recorder is not None:
            self.recorder(event)  # compact.py: a foreach item's events are held until it ends
        sink(event)

    def on_exchange(self, method: str, url: str, status: int | None, duration_ms: float) -> None:
        if self.emit is not None:
            where = current_step.get()
            step, item = where if where else (None, None)
            self.emit(ev.HttpExchange(self.run_id, time.time(), method, url, status, round(duration_ms, 1), step, item))

    # -- lifecycle --
    def cancel(self) -> None:
        self.cancel_requested = True
        if self.ready and self.body is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.body.cancel)

    async def execute(self) -> RunResult:
        """Run the steps in their own task, so `cancel()` can stop them while this coroutine
        still closes the connections and records the outcome (in this one when the engine is not
        cancellable: then only cancelling the caller's task stops them)."""
        # Always: a connection may add secrets it derives (an access token) to an empty redactor.
        # (Not `with masked_logs(...)`: a generator's context manager costs a short run ~2 µs.)
        mask_logs(self.redactor)
        try:
            return await self._execute()
        finally:
            unmask_logs(self.redactor)

    async def _execute(self) -> RunResult:
        started = time.perf_counter()
        if self.emit:
            self.emit(ev.RunStarted(self.run_id, time.time(), self.entry, self.project.integration.name, self.trigger))
        inline = not self.engine.cancellable
        if not inline:
            self.loop = asyncio.get_running_loop()
            self.body = asyncio.ensure_future(self.steps())
            self.ready = True
            if self.cancel_requested:
                self.body.cancel()
        external_cancel = False
        try:
            status, result, error = await (self.steps() if inline else self.body)
        except asyncio.CancelledError:
            status, result, error = ev.CANCELLED, None, None
            task = asyncio.current_task()
            external_cancel = task is not None and task.cancelling() > 0
        try:
            if self.connections:
                await self.close_connections()
        except asyncio.CancelledError:  # cancelled from outside while closing: record, then re-raise
            external_cancel = True
        duration = round((time.perf_counter() - started) * 1000, 1)
        if self.redactor:
            result, error = self.redactor.data(result), None if error is None else self.redactor.data(error)
        if self.emit:
            failed_items, ok_items = (self.failures, self.collected_ok) if self.tolerant or self.failures else (None, None)
            self.emit(ev.RunFinished(self.run_id, time.time(), status, duration, result, error, failed_items, ok_items))
        if self.history is not None:
            self.history.close()
        if self.keeper is not None:
            self.keeper.flush()
        if external_cancel:
            raise asyncio.CancelledError
        problem = self.history.problem if self.history is not None else None
        return RunResult(status, result, error, self.run_id, duration, history_error=problem,
                         failed_items=self.failures, ok_items=self.collected_ok)

    async def steps(self) -> tuple[str, Any, dict | None]:
        entry = self.project.entrypoints[self.entry]
        scope: dict[str, Any] = {"config": self.config_scope}
        scope.update(mapper_scope(self.project))  # `${hireToUser(row)}` finds the project's mappers
        if self.extra:
            scope.update(self.extra)
        raw = self.engine.raw_steps(self.entry) if self.keeper is not None else []
        compiled = self.compiled
        plain = self.resumed is None and self.keeper is None  # nothing to restore or keep (a service's request)
        try:
            for index, node in enumerate(compiled[0] if compiled else compile_steps(entry.steps, self.project)):
                if plain:
                    self.top = index
                    await self.step(node, scope, None)
                else:
                    await self.top_step(index, node, scope, raw)
        except Return as ret:
            return ev.SUCCEEDED, ret.value, None
        except StepError as exc:
            handlers = compiled[1] if compiled else compile_steps(entry.onError, self.project, "onError.")
            handled = await self.run_on_error(handlers, scope, exc.error)
            return ev.FAILED, handled, exc.error
        return ev.SUCCEEDED, None, None

    async def top_step(self, index: int, node: Node, scope: dict, raw: list) -> None:
        """A top-level step: restored when a resumed run finished it, else run and kept."""
        state = self.resumed
        if state is not None and index < state.done_prefix():
            variables = state.steps[index]["vars"]
            scope.update(variables)
            if self.emit is not None:
                self.emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.OK, 0.0,
                                          f"restored from run {state.run_id}"))
        else:
            before, failures = dict(scope), self.failures
            self.top = index
            await self.step(node, scope, None)
            if self.failures > failures:
                return  # it collected or continued past failures: a resume runs it again
            variables = {k: v for k, v in scope.items() if k != "config" and before.get(k) is not v}
        if self.keeper is not None and index < len(raw):
            self.keeper.step(index, raw[index], variables, getattr(node, "result", None) if node.kind == "foreach" else None)

    def restored_items(self, path: str) -> Mapping[int, Any]:
        """The items of a top-level foreach that the resumed run finished."""
        if self.resumed is None or "." in path:
            return _NONE_RESTORED
        return self.resumed.items.get(int(path), _NONE_RESTORED)

    def keep_item(self, path: str, item: int, value: Any) -> None:
        if self.keeper is not None and "." not in path:
            self.keeper.item(int(path), item, None if value is NOTHING else value)

    async def run_on_error(self, steps: list[Node], scope: dict, error: dict) -> Any:
        """The handler's `return` value (a service's response), else None."""
        handler_scope = {**scope, "error": error}
        try:
            await self.run_steps(steps, handler_scope, None)
        except Return as ret:
            return ret.value
        except StepError:
            pass  # the handler's own failure is in its step events; the run's error stays the first
        return None

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
    async def run_steps(self, nodes: list[Node], scope: dict, item: int | None) -> Any:
        last = NOTHING
        for node in nodes:
            value = await self.step(node, scope, item)
            if value is not NOTHING:
                last = value
        return last

    async def step(self, node: Node, scope: dict, item: int | None) -> Any:
        emit = self.emit
        if emit is not None:
            emit(ev.StepStarted(self.run_id, time.time(), node.path, node.kind, node.label, item))
        started = time.perf_counter()
        box: list = []  # the rendered arguments (nodes.rendered_args), for the inspector
        tries = [1]
        token = rendered_args.set(box) if node.renders else None
        try:
            if node.retry is None and node.timeout is None:
                value, summary = await node.run(self, scope, item)
            else:
                value, summary = await with_policies(
                    lambda: node.run(self, scope, item), retry=node.retry, timeout=node.timeout,
                    idempotent=node.idempotent, error_of=_error_of,
                    on_retry=lambda attempt, error, delay: self.retrying(node, item, attempt, error, delay, tries))
        except Return as ret:
            if emit is not None:
                text = summarize(ret.value) if node.kind == "return" else ""
                emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.OK,
                                     ms(started), text, item))
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a step is the run's error
            error = _error_of(exc)
            error.setdefault("step", node.path)
            if item is not None:
                error.setdefault("item", item)
            if emit is not None:
                emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.FAILED,
                                     ms(started), "", item, error, box[-1] if box else None, None,
                                     tries[0] if tries[0] > 1 else None))
            if node.continues:  # onError = "continue": recorded above, and the flow goes on
                self.failures += 1
                self.tolerant = True
                return NOTHING
            if isinstance(exc, StepError):
                raise
            raise StepError(error) from exc
        finally:
            if token is not None:
                rendered_args.reset(token)
        if emit is not None:
            # Outside a foreach item (or with --trace), the inspector's arguments and result too.
            detail = item is None or self.trace
            shown = detail and value is not NOTHING and node.produces and not node.children()
            emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.OK, ms(started),
                                 summarize(value) if summary is None else summary, item, None,
                                 box[-1] if box and detail else None, preview(value) if shown else None,
                                 tries[0] if tries[0] > 1 else None))
        return value if node.produces else NOTHING

    def retrying(self, node: Node, item: int | None, attempt: int, error: dict, delay: float,
                 tries: list | None = None) -> None:
        count_retry()
        if tries is not None:
            tries[0] = attempt + 1
        if self.emit is not None:
            message = (f"retrying {node.label} (attempt {attempt + 1} of {node.retry.attempts}) in {delay:g} s "
                       f"after: {error.get('message', '')}")
            self.emit(ev.Log(self.run_id, time.time(), "warning", message, node.path, item))

    def skip(self, nodes: list[Node], item: int | None) -> None:
        """Report the steps of a branch not taken, so the app can grey them out."""
        if self.emit is None:
            return
        for node in nodes:
            self.emit(ev.StepFinished(self.run_id, time.time(), node.path, node.kind, node.label, ev.SKIPPED, 0.0,
                                      "", item))
            for child in node.children():
                self.skip(child, item)


def _error_of(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, StepError):
        return exc.error
    if isinstance(exc, StepTimeout):
        return {"message": str(exc), "type": "StepTimeout", "timedOut": True}
    return error_dict(exc)
