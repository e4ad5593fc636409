"""Run every automation that has a `schedule` (5-field cron, croniter) in its `timezone`.

Rules:
- A run never overlaps another run of the same automation: a fire time that comes while the
  previous run is still going is skipped, and the skip is reported.
- After a gap (the machine slept, the clock jumped) every missed fire time collapses into one
  catch-up run; the next fire time is computed from "now".
- `stop()` lets the runs in progress finish, and cancels them after `grace` seconds; a second
  `stop()` cancels them at once.

The clock (`clock() -> aware datetime`) and `sleep(seconds)` are injectable, so tests run on a
fake clock without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from workbench.runtime.engine import Engine, PreflightError, RunResult, Sink

MAX_SLEEP = 60.0  # seconds; wake at least this often so a wall-clock jump is noticed


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Job:
    name: str
    cron: str
    tz: ZoneInfo
    next_at: datetime | None = None
    task: asyncio.Task | None = None
    engine: Any = None
    results: list[RunResult] = field(default_factory=list)
    skipped: int = 0

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


def next_fire(cron: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first fire time strictly after `after`, as an aware datetime in `tz`."""
    from croniter import croniter

    return croniter(cron, after.astimezone(tz)).get_next(datetime)


class Scheduler:
    def __init__(
        self,
        store,
        *,
        overrides: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        memory: Mapping[str, Any] | None = None,
        sink_for: Callable[[str], Sink | None] | None = None,
        notify: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        grace: float = 30.0,
        engine_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.store = store
        self.sink_for = sink_for or (lambda name: None)
        self.notify = notify or (lambda text: None)
        self.clock = clock
        self.sleep = sleep
        self.grace = grace
        self.engine_factory = engine_factory or (
            lambda: Engine(store, overrides=overrides, env=env, memory=memory))
        self.jobs = [
            Job(name, entry.schedule, ZoneInfo(entry.timezone))
            for name, entry in store.project.entrypoints.items() if entry.schedule
        ]
        self._stop = asyncio.Event()
        self._force = asyncio.Event()

    def now(self) -> datetime:
        now = self.clock()
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    def stop(self) -> None:
        """Stop scheduling; the first call lets runs finish (up to `grace`), the second cancels."""
        if self._stop.is_set():
            self._force.set()
        self._stop.set()

    async def serve(self) -> None:
        """Fire the jobs until `stop()`. Returns once the runs in progress have ended."""
        now = self.now()
        for job in self.jobs:
            job.next_at = next_fire(job.cron, job.tz, now)
            self.notify(f"{job.name}: next run at {_show(job.next_at)} ({job.cron}, {job.tz.key})")
        try:
            while self.jobs and not self._stop.is_set():
                now = self.now()
                due = [job for job in self.jobs if job.next_at <= now]
                if not due:
                    delay = min((job.next_at - now).total_seconds() for job in self.jobs)
                    await self._wait(self._stop, min(delay, MAX_SLEEP))
                    continue
                for job in due:
                    self.fire(job, job.next_at)
                    job.next_at = next_fire(job.cron, job.tz, now)  # skips every other missed time
                    self.notify(f"{job.name}: next run at {_show(job.next_at)}")
                await asyncio.sleep(0)  # let the new runs start
        finally:
            await self._shutdown()

    def fire(self, job: Job, scheduled: datetime) -> None:
        if job.running:
            job.skipped += 1
            self.notify(f"{job.name}: skipped the {_show(scheduled)} run: the previous run is still going")
            return
        self.notify(f"{job.name}: starting the {_show(scheduled)} run")
        job.task = asyncio.ensure_future(self._run(job))

    async def _run(self, job: Job) -> None:
        # Nothing here may escape: an exception in this task would surface only as "Task
        # exception was never retrieved", long after, and the fire time would vanish unrecorded.
        try:
            if self.store.changed_on_disk():
                self.store.reload()
            job.engine = self.engine_factory()
        except Exception as exc:  # noqa: BLE001 - one broken run must not stop the scheduler
            self._not_run(job, f"{type(exc).__name__}: {exc}")
            return
        try:
            result = await job.engine.run(job.name, self.sink_for(job.name))
        except PreflightError as exc:
            self._not_run(job, "; ".join(_where(d) for d in exc.diagnostics if d.severity == "error"))
            return
        except Exception as exc:  # noqa: BLE001 - its history (if it started) shows it unfinished: failed
            self.notify(f"{job.name}: run crashed: {type(exc).__name__}: {exc}")
            return
        job.results.append(result)
        self.notify(f"{job.name}: run {result.run_id} {result.status}")
        if result.history_error:
            self.notify(f"{job.name}: warning: {result.history_error}")

    def _not_run(self, job: Job, reason: str) -> None:
        """Say why a fire time did not run, and record it in the history as a failed run, so
        `workbench runs` shows the gap."""
        import time

        from workbench.runtime import events as ev
        from workbench.runtime.history import HistoryWriter, new_run_id

        self.notify(f"{job.name}: not run: {reason}")
        run_id = new_run_id()
        history = HistoryWriter(self.store.root, run_id)
        history.write(ev.RunStarted(run_id, time.time(), job.name, self.store.name).to_dict())
        history.write(ev.RunFinished(run_id, time.time(), ev.FAILED, 0.0, None,
                                     {"message": f"not run: {reason}"}).to_dict())
        history.close()
        if history.problem:
            self.notify(f"{job.name}: warning: {history.problem}")

    async def _shutdown(self) -> None:
        running = [job for job in self.jobs if job.running]
        if not running:
            return
        if not self._force.is_set():
            self.notify(f"stopping: waiting up to {self.grace:g} s for {len(running)} run(s) to finish")
            tasks = {job.task for job in running}
            await self._wait(self._force, self.grace, tasks)
        for job in running:
            if job.running:
                self.notify(f"{job.name}: cancelling the run in progress")
                if job.engine is not None:
                    job.engine.cancel()
                else:  # the task has not started its run yet
                    job.task.cancel()
        await asyncio.wait({job.task for job in running})

    async def _wait(self, event: asyncio.Event, seconds: float, tasks: set | None = None) -> None:
        """Sleep `seconds` with the injected sleep, waking early when `event` is set or every
        task in `tasks` has finished."""
        sleeper = asyncio.ensure_future(self.sleep(max(0.0, seconds)))
        waiter = asyncio.ensure_future(event.wait())
        watched = {sleeper, waiter}
        if tasks:
            watched.add(asyncio.ensure_future(asyncio.wait(tasks)))
        try:
            await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in watched:
                future.cancel()
            await asyncio.wait(watched)


def _where(diag) -> str:
    """`Config.toml:1:5: message` for a diagnostic that has a place, else its message."""
    return f"{diag.location()}: {diag.message}" if diag.file and diag.line else diag.message


def _show(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M %Z")
