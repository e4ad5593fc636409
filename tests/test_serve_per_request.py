"""What a service request does not repeat: its steps are compiled once per project version,
and a short run's history reaches the background writer in one hand-over, as one line of a
segment (still every event, in order); a long run's events are not held back."""

from __future__ import annotations

import asyncio
import json
import time

from tests.helpers import make_project
from workbench.project import ProjectStore
from workbench.runtime import history as history_module
from workbench.runtime import nodes
from workbench.runtime.history import (
    HistoryWriter,
    find_run,
    list_runs,
    read_events,
    runs_dir,
)
from workbench.runtime.segments import SEGMENT_SUFFIX, BackgroundWriter
from workbench.runtime.service import Request, Services

PROJECT = '''
[integration]
name = "ping"
[entrypoints.ping]
kind = "service"
method = "GET"
path = "/ping"
auth = { type = "none" }
[[entrypoints.ping.steps]]
set = "n"
value = 1
[[entrypoints.ping.steps]]
return = { ok = true, n = "${n}" }
[[entrypoints.ping.onError]]
log = "failed"
'''


def ask(services: Services, times: int) -> list:
    async def go():
        out = []
        for _ in range(times):
            match = services.route("GET", "/ping", {})
            out.append(await services.respond(match, Request("GET", "/ping")))
        return out
    return asyncio.run(go())


def test_steps_are_compiled_once_per_version_not_per_request(tmp_path, monkeypatch):
    services = Services(ProjectStore.open(make_project(tmp_path / "p", PROJECT)), env={})
    calls = []
    real = nodes.compile_steps
    monkeypatch.setattr(nodes, "compile_steps", lambda *a, **k: calls.append(a) or real(*a, **k))
    from workbench.runtime import execution

    monkeypatch.setattr(execution, "compile_steps", nodes.compile_steps)
    try:
        answers = ask(services, 3)
    finally:
        services.close()
    assert [a.status for a in answers] == [200, 200, 200]
    assert json.loads(answers[0].body) == {"ok": True, "n": 1}
    assert calls == []  # the version's nodes, every time
    runs = list_runs(tmp_path / "p")
    assert [r.status for r in runs] == ["succeeded"] * 3
    assert [p.name.endswith(SEGMENT_SUFFIX) for p in runs_dir(tmp_path / "p").iterdir()] == [True]  # one file
    kinds = [e["event"] for e in read_events(find_run(tmp_path / "p", runs[0].id))]
    assert kinds[0] == "run.started" and kinds[-1] == "run.finished" and kinds.count("step.finished") == 2


def test_a_short_run_is_one_hand_over_and_a_long_one_is_not_held(tmp_path, monkeypatch):
    puts = []
    writer_thread = BackgroundWriter()

    class Counted:  # the writer's queue, counting hand-overs
        def __init__(self, queue) -> None:
            self.inner = queue

        def put(self, item) -> None:
            puts.append(item)
            self.inner.put(item)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    writer_thread.queue = Counted(writer_thread.queue)  # type: ignore[assignment]

    async def short_run() -> None:  # closed on a loop, as a server's runs are
        short = HistoryWriter(tmp_path, "20260101T000000-000aaa", prune=False, background=writer_thread)
        for kind in ("run.started", "step.started", "step.finished", "run.finished"):
            short.write({"event": kind, "run": "20260101T000000-000aaa"})
        short.close()
        await asyncio.sleep(0.05)  # its line is made after the answer has gone

    asyncio.run(short_run())
    assert len(puts) == 1  # the whole run, encoded, in one piece

    monkeypatch.setattr(history_module, "FLUSH_EVERY", 0.05)
    long = HistoryWriter(tmp_path, "20260101T000001-000bbb", prune=False, background=writer_thread)
    long.write({"event": "run.started"})
    long.write({"event": "step.started"})
    deadline = time.monotonic() + 5  # on disk while the run goes on (the writer's sweep)
    while time.monotonic() < deadline and len(long.path.read_text().splitlines() if long.path.exists() else []) < 2:
        time.sleep(0.01)
    assert [json.loads(x)["event"] for x in long.path.read_text().splitlines()] == ["run.started", "step.started"]
    assert len(puts) == 1
    long.write({"event": "run.finished"})
    long.close()
    writer_thread.stop()
    assert [e["event"] for e in read_events(find_run(tmp_path, "20260101T000000-000aaa"))] == [
        "run.started", "step.started", "step.finished", "run.finished"]
    assert not (runs_dir(tmp_path) / "20260101T000000-000aaa.jsonl").exists()  # in the segment
    assert [json.loads(x)["event"] for x in long.path.read_text().splitlines()][-1] == "run.finished"
