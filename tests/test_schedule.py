"""Schedules (workbench.runtime.schedule, `workbench schedule`): fire times on an injected clock,
timezones, no overlapping runs, one catch-up after a gap, stopping with a grace period."""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from workbench.cli import main
from workbench.project import ProjectStore
from workbench.runtime import RunResult
from workbench.runtime.history import list_runs
from workbench.runtime.schedule import Scheduler, next_fire

ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc


def project(tmp_path: Path, entries: dict[str, tuple[str, str]]) -> ProjectStore:
    """A project whose entries (name -> (cron, timezone)) each log one line."""
    text = '[integration]\nname = "sched"\n'
    for name, (cron, tz) in entries.items():
        text += (f'\n[entrypoints.{name}]\nschedule = "{cron}"\ntimezone = "{tz}"\n'
                 f'[[entrypoints.{name}.steps]]\nlog = "tick from {name}"\n')
    folder = tmp_path / "sched"
    folder.mkdir()
    (folder / "workbench.toml").write_text(text, encoding="utf-8")
    return ProjectStore.open(folder)


class FakeClock:
    """`clock()` and `sleep()` for the scheduler: sleeping moves the time, nothing waits.
    `at(when, action)` runs an action once the time reaches `when`; `jump` oversleeps once."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.actions: list[tuple[datetime, object]] = []
        self.jump = timedelta(0)

    def __call__(self) -> datetime:
        return self.now

    def at(self, when: datetime, action) -> None:
        self.actions.append((when, action))

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds) + self.jump
        self.jump = timedelta(0)
        for when, action in list(self.actions):
            if self.now >= when:
                self.actions.remove((when, action))
                action()
        for _ in range(5):  # let woken runs finish
            await asyncio.sleep(0)


class FakeEngine:
    """Records when each run starts; a run waits for `gate` (if any) or for cancel()."""

    def __init__(self, starts: list, clock: FakeClock, gate: asyncio.Event | None = None) -> None:
        self.starts, self.clock, self.gate = starts, clock, gate
        self.cancelled = asyncio.Event()

    async def run(self, entry: str, sink=None) -> RunResult:
        self.starts.append((entry, self.clock()))
        if self.gate is not None and not self.gate.is_set():
            waits = {asyncio.ensure_future(self.gate.wait()), asyncio.ensure_future(self.cancelled.wait())}
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        return RunResult("cancelled" if self.cancelled.is_set() else "succeeded", run_id=f"fake-{len(self.starts)}")

    def cancel(self) -> None:
        self.cancelled.set()


def serve(scheduler: Scheduler) -> None:
    asyncio.run(asyncio.wait_for(scheduler.serve(), timeout=20))


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- fire times -------------------------------------------------------------------------------------


def test_next_fire_uses_the_timezone():
    paris = ZoneInfo("Europe/Paris")
    friday_after_nine = t("2026-11-27T08:30:00")  # 09:30 in Paris
    fire = next_fire("0 9 * * 1-5", paris, friday_after_nine)
    assert fire.astimezone(UTC) == t("2026-11-30T08:00:00")  # Monday 09:00 CET
    assert next_fire("0 9 * * 1-5", ZoneInfo("UTC"), friday_after_nine) == t("2026-11-27T09:00:00")
    summer = next_fire("0 9 * * *", paris, t("2026-07-01T12:00:00"))
    assert summer.astimezone(UTC) == t("2026-07-02T07:00:00")  # CEST is UTC+2


def test_runs_fire_on_time_in_their_timezones(tmp_path):
    store = project(tmp_path, {"quarterly": ("*/15 * * * *", "UTC"), "morning": ("0 9 * * 1-5", "Europe/Paris")})
    clock = FakeClock(t("2026-11-27T07:50:00"))  # a Friday
    starts: list = []
    notes: list[str] = []
    scheduler = Scheduler(store, clock=clock, sleep=clock.sleep, notify=notes.append,
                          engine_factory=lambda: FakeEngine(starts, clock))
    clock.at(t("2026-11-27T08:50:00"), scheduler.stop)
    serve(scheduler)
    assert [when for name, when in starts if name == "morning"] == [t("2026-11-27T08:00:00")]
    assert [when for name, when in starts if name == "quarterly"] == [
        t("2026-11-27T08:00:00"), t("2026-11-27T08:15:00"), t("2026-11-27T08:30:00"), t("2026-11-27T08:45:00")]
    assert "morning: next run at 2026-11-27 09:00 CET (0 9 * * 1-5, Europe/Paris)" in notes
    assert "morning: next run at 2026-11-30 09:00 CET" in notes  # the weekend is skipped
    assert not any("skipped" in note for note in notes)


def test_a_run_never_overlaps_the_previous_one(tmp_path):
    store = project(tmp_path, {"minutely": ("* * * * *", "UTC")})
    clock = FakeClock(t("2026-11-27T10:00:30"))
    gate = asyncio.Event()
    starts: list = []
    notes: list[str] = []
    scheduler = Scheduler(store, clock=clock, sleep=clock.sleep, notify=notes.append,
                          engine_factory=lambda: FakeEngine(starts, clock, gate))
    clock.at(t("2026-11-27T10:03:30"), gate.set)  # the first run ends between 10:03 and 10:04
    clock.at(t("2026-11-27T10:05:00"), scheduler.stop)
    serve(scheduler)
    assert [when for _, when in starts] == [t("2026-11-27T10:01:00"), t("2026-11-27T10:04:00")]
    skipped = [note for note in notes if "skipped" in note]
    assert skipped == [
        "minutely: skipped the 2026-11-27 10:02 UTC run: the previous run is still going",
        "minutely: skipped the 2026-11-27 10:03 UTC run: the previous run is still going",
    ]
    assert scheduler.jobs[0].skipped == 2


def test_catches_up_at_most_one_missed_run(tmp_path):
    store = project(tmp_path, {"minutely": ("* * * * *", "UTC")})
    clock = FakeClock(t("2026-11-27T10:00:30"))
    clock.jump = timedelta(minutes=10)  # the machine sleeps through ten fire times
    starts: list = []
    notes: list[str] = []
    scheduler = Scheduler(store, clock=clock, sleep=clock.sleep, notify=notes.append,
                          engine_factory=lambda: FakeEngine(starts, clock))
    clock.at(t("2026-11-27T10:12:00"), scheduler.stop)
    serve(scheduler)
    assert [when for _, when in starts] == [t("2026-11-27T10:11:00")]  # one catch-up, when the clock came back
    assert "minutely: starting the 2026-11-27 10:01 UTC run" in notes
    assert "minutely: next run at 2026-11-27 10:12 UTC" in notes


# -- stopping ---------------------------------------------------------------------------------------


def test_stop_lets_the_current_run_finish_within_the_grace_period(tmp_path):
    store = project(tmp_path, {"minutely": ("* * * * *", "UTC")})
    gate = asyncio.Event()
    starts: list = []
    engines: list[FakeEngine] = []
    notes: list[str] = []

    def factory():
        engines.append(FakeEngine(starts, clock, gate))
        return engines[-1]

    clock = FakeClock(t("2026-11-27T10:00:30"))

    async def scenario():
        scheduler = Scheduler(store, clock=clock, sleep=clock.sleep, notify=notes.append, grace=42,
                              engine_factory=factory)
        clock.at(t("2026-11-27T10:01:30"), scheduler.stop)  # stop while the 10:01 run is going
        serving = asyncio.ensure_future(scheduler.serve())
        for _ in range(10_000):
            if any(note.startswith("stopping") for note in notes):
                break
            await asyncio.sleep(0)
        gate.set()  # the run finishes during the grace period
        await asyncio.wait_for(serving, timeout=10)

    real_sleep = clock.sleep

    async def grace_sleep(seconds):  # the grace period runs in real time here
        if seconds == 42:
            await asyncio.sleep(5)
        else:
            await real_sleep(seconds)

    clock.sleep = grace_sleep
    asyncio.run(scenario())
    assert len(starts) == 1 and not engines[0].cancelled.is_set()
    assert "stopping: waiting up to 42 s for 1 run(s) to finish" in notes
    assert "minutely: run fake-1 succeeded" in notes


def test_stop_cancels_the_run_after_the_grace_period(tmp_path):
    store = project(tmp_path, {"minutely": ("* * * * *", "UTC")})
    clock = FakeClock(t("2026-11-27T10:00:30"))
    gate = asyncio.Event()  # never set: the run would go on forever
    starts: list = []
    engines: list[FakeEngine] = []
    notes: list[str] = []

    def factory():
        engines.append(FakeEngine(starts, clock, gate))
        return engines[-1]

    scheduler = Scheduler(store, clock=clock, sleep=clock.sleep, notify=notes.append, grace=30,
                          engine_factory=factory)
    clock.at(t("2026-11-27T10:01:30"), scheduler.stop)
    serve(scheduler)
    assert engines[0].cancelled.is_set()
    assert "minutely: cancelling the run in progress" in notes
    assert "minutely: run fake-1 cancelled" in notes


def test_a_real_engine_runs_on_schedule_and_records_history(tmp_path):
    store = project(tmp_path, {"minutely": ("* * * * *", "UTC")})
    clock = FakeClock(t("2026-11-27T10:00:30"))
    seen: list = []
    scheduler = Scheduler(store, clock=clock, sleep=clock.sleep, sink_for=lambda name: seen.append)
    clock.at(t("2026-11-27T10:01:30"), scheduler.stop)
    serve(scheduler)
    [result] = scheduler.jobs[0].results
    assert result.status == "succeeded"
    assert [e.message for e in seen if e.event == "log"] == ["tick from minutely"]
    assert [(r.id, r.entry, r.status) for r in list_runs(store.root)] == [(result.run_id, "minutely", "succeeded")]


# -- the command -----------------------------------------------------------------------------------


def test_schedule_command_needs_a_scheduled_entry(tmp_path, capsys):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "workbench.toml").write_text('[integration]\nname = "p"\n[entrypoints.main]\n', encoding="utf-8")
    assert main(["schedule", str(folder)]) == 2
    assert "no entry point has a schedule" in capsys.readouterr().err


def test_schedule_command_prints_next_runs_and_stops_on_sigterm(tmp_path):
    store = project(tmp_path, {"weekly": ("0 9 * * 1", "Europe/Oslo"), "nightly": ("30 2 * * *", "UTC")})
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "schedule", str(store.root)], cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    seen = b""
    try:
        deadline = time.monotonic() + 20
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout.fileno(), selectors.EVENT_READ)
            while seen.count(b"next run at") < 2 and time.monotonic() < deadline:
                if selector.select(deadline - time.monotonic()):
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    seen += chunk
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    text = (seen + out).decode()
    assert proc.returncode == 0, err.decode()
    assert "[schedule] weekly: next run at " in text and "(0 9 * * 1, Europe/Oslo)" in text
    assert "[schedule] nightly: next run at " in text and " 02:30 UTC" in text
    assert text.rstrip().endswith("[schedule] stopped")


@pytest.mark.parametrize("cron", ["* * *", "61 * * * *"])
def test_schedule_command_refuses_an_invalid_cron(tmp_path, capsys, cron):
    store = project(tmp_path, {"bad": (cron, "UTC")})
    assert main(["schedule", str(store.root)]) == 2
    assert "bad-cron" in capsys.readouterr().out
