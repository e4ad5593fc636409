"""A server's short runs are kept many to a file (runtime/segments.py): listed, shown and pruned
like runs in files of their own (which stay readable beside them), a crash or a failed write
loses only what was not written, and secrets are masked there too."""

from __future__ import annotations

import asyncio
import json
import os

from tests.helpers import make_project
from workbench.cli import main
from workbench.project import ProjectStore
from workbench.runtime import segments
from workbench.runtime.engine import Engine
from workbench.runtime.history import find_run, list_runs, prune, read_events, runs_dir
from workbench.runtime.segments import SEGMENT_SUFFIX, SegmentRun
from workbench.runtime.service import Request, Services

TOKEN = "segment-token-5f3a9c"
PROJECT = '''
[integration]
name = "segments"
[configurables.hookToken]
secret = true
[entrypoints.job]
[[entrypoints.job.steps]]
log = "a job of its own file"
[entrypoints.ping]
kind = "service"
method = "GET"
path = "/ping"
auth = { type = "bearer", token = "${config.hookToken}" }
[[entrypoints.ping.steps]]
set = "n"
value = 1
[[entrypoints.ping.steps]]
log = "cookie ${request.headers.cookie}"
[[entrypoints.ping.steps]]
return = { ok = true, n = "${n}", echo = "${config.hookToken}" }
[entrypoints.quiet]
kind = "service"
method = "GET"
path = "/quiet"
auth = { type = "bearer", token = "${config.hookToken}" }
[[entrypoints.quiet.steps]]
set = "n"
value = 1
[[entrypoints.quiet.steps]]
return = { ok = true, n = "${n}" }
[entrypoints.each]
kind = "service"
method = "GET"
path = "/each"
auth = { type = "bearer", token = "${config.hookToken}" }
[[entrypoints.each.steps]]
set = "xs"
value = [1, 2]
[[entrypoints.each.steps]]
foreach = "${xs}"
[[entrypoints.each.steps.steps]]
set = "m"
value = "${item}"
[[entrypoints.each.steps]]
return = { ok = true }
'''
COOKIE = "session=cookie-secret-8e1d"


def serve(root, times: int, *, sink=None, cookie: str = COOKIE, path: str = "/ping") -> list:
    """`times` requests to a fresh server on the project (its own writer thread, closed after)."""
    services = Services(ProjectStore.open(root), overrides={"hookToken": TOKEN}, env={},
                        sink_for=(lambda name: sink) if sink is not None else None)
    headers = {"authorization": f"Bearer {TOKEN}", "cookie": cookie}

    async def go():
        out = []
        for _ in range(times):
            match = services.route("GET", path, headers)
            out.append(await services.respond(match, Request("GET", path, "", headers)))
        return out

    try:
        return asyncio.run(go())
    finally:
        services.close()


def segment_files(root) -> list:
    return sorted(p for p in runs_dir(root).iterdir() if p.name.endswith(SEGMENT_SUFFIX))


def test_a_segment_lists_shows_and_prunes_like_runs_in_files_of_their_own(tmp_path, capsys):
    root = make_project(tmp_path / "p", PROJECT)
    job = asyncio.run(Engine(ProjectStore.open(root), overrides={"hookToken": TOKEN}, env={}).run("job"))
    answers = serve(root, 4)
    assert [a.status for a in answers] == [200] * 4
    assert (runs_dir(root) / f"{job.run_id}.jsonl").is_file()  # the old layout, beside the new
    [segment] = segment_files(root)

    runs = list_runs(root)
    assert [r.id for r in runs] == sorted([job.run_id] + [a.run_id for a in answers])
    served = [r for r in runs if r.entry == "ping"]
    assert [(r.trigger, r.status) for r in served] == [("GET /ping", "succeeded")] * 4
    assert main(["runs", str(root)]) == 0
    listing = capsys.readouterr().out
    assert all(a.run_id in listing for a in answers) and job.run_id in listing and "ping GET /ping" in listing

    run = find_run(root, answers[2].run_id)
    assert run == SegmentRun(segment, answers[2].run_id) and run.stem == answers[2].run_id
    events = read_events(run)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run.started" and kinds[-1] == "run.finished" and kinds.count("step.finished") == 3
    assert {e["run"] for e in events} == {answers[2].run_id}
    assert main(["runs", str(root), "show", answers[2].run_id]) == 0
    shown = capsys.readouterr().out
    assert "set n" in shown and "cookie" in shown

    deleted = prune(root, keep=2)  # the job's file first, then the segment's oldest lines
    assert deleted == [job.run_id] + [a.run_id for a in answers[:2]]
    assert [r.id for r in list_runs(root)] == sorted(a.run_id for a in answers[2:])
    assert len(segment.read_text().splitlines()) == 2
    assert prune(root, keep=0) == [a.run_id for a in answers[2:]] and not segment.exists()


def test_the_records_of_a_segment_are_those_a_sink_is_given(tmp_path):
    """With a secret in its events (redacted one by one) or none (the run's line as it was made)."""
    root = make_project(tmp_path / "p", PROJECT)
    for path in ("/ping", "/quiet", "/each"):
        seen: list = []
        [answer] = serve(root, 1, sink=seen.append, path=path)
        assert answer.status == 200
        recorded = read_events(find_run(root, answer.run_id))
        if path == "/each":  # a foreach keeps one compact record per item (compact.py), in a segment too
            items = [e for e in recorded if e["event"] == "item.finished"]
            assert [(e["item"], e["status"], "ts" in e) for e in items] == [(0, "ok", False), (1, "ok", False)]
            continue
        assert [e.to_dict() for e in seen] == recorded


def test_a_crash_or_a_failed_write_loses_only_what_was_not_written(tmp_path, monkeypatch):
    root = make_project(tmp_path / "p", PROJECT)
    first = sorted(a.run_id for a in serve(root, 3))
    [segment] = segment_files(root)
    whole = segment.read_bytes()
    with open(segment, "ab") as f:  # the process died halfway through a line
        f.write(whole.splitlines()[-1][: len(whole.splitlines()[-1]) // 2])
    assert [r.id for r in list_runs(root)] == first
    assert all(read_events(find_run(root, i))[-1]["event"] == "run.finished" for i in first)

    real_write, failures = os.write, []

    def failing_once(fd, data):
        if not failures:
            failures.append(fd)
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(segments.os, "write", failing_once)
    monkeypatch.setattr(segments, "ENCODE_AFTER", 0.0)
    services = Services(ProjectStore.open(root), overrides={"hookToken": TOKEN}, env={})
    headers = {"authorization": f"Bearer {TOKEN}", "cookie": COOKIE}

    async def one():
        await services.respond(services.route("GET", "/ping", headers), Request("GET", "/ping", "", headers))
        await asyncio.sleep(0.1)  # encoded and written (or not) before the next

    async def go():
        lost = await one()
        kept = [await one() for _ in range(2)]
        return lost, kept

    asyncio.run(go())
    services.close()
    assert failures and "No space left on device" in services.history.problems[0]
    runs = list_runs(root)
    assert runs[:3] == list_runs(root)[:3] and [r.id for r in runs[:3]] == first
    assert len(runs) == 5  # the batch whose write failed is lost, the next ones are in a new segment
    assert len(segment_files(root)) == 2 and segment.read_bytes().startswith(whole)  # none left empty


def test_secrets_are_masked_in_a_segment(tmp_path):
    root = make_project(tmp_path / "p", PROJECT)
    [answer] = serve(root, 1)
    assert json.loads(answer.body)["echo"] == "••••"
    text = "".join(p.read_text(encoding="utf-8") for p in runs_dir(root).iterdir())
    for secret in (TOKEN, TOKEN.upper(), COOKIE, COOKIE.partition("=")[2]):
        assert secret not in text
    events = read_events(find_run(root, answer.run_id))
    assert events[-1]["result"]["echo"] == "••••"
    assert any(e.get("message") == "cookie ••••" for e in events)
