"""The steps that hold steps: if (then, else) and foreach (its items one by one or N at a time,
`_Progress` its throttled progress events), and `compile_steps`, which compiles a list of steps
and, through these two, the lists inside them."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from workbench.project.expressions import parse_expression
from workbench.project.model import CallStep, FailStep, ForeachStep, IfStep, LogStep, ReturnStep, SetStep, SyncStep
from workbench.runtime import events as ev
from workbench.runtime.compact import begin_item, end_item, release_item
from workbench.runtime.leaf_nodes import Returner, _Call, _Fail, _Log, _Set
from workbench.runtime.node_base import NOTHING, Node, StepError, _compile_value

if TYPE_CHECKING:
    from workbench.runtime.execution import Execution

PROGRESS_INTERVAL = 0.1  # seconds between foreach.progress events of one loop


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
