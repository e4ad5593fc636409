"""The engine (workbench.runtime): preflight, steps, foreach, errors, cancellation, events,
redaction and history. Unit tests use a tiny in-test `noop` connector; the end-to-end tests run
the sample project against the sandbox over real HTTP."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict

from tests.helpers import copy_sample
from workbench.connectors import catalogue
from workbench.connectors.base import Connection, ConnectorError, ConnectorSpec, OperationSpec
from workbench.project import ProjectStore
from workbench.runtime import Engine, PreflightError, events
from workbench.runtime.history import find_run, history_limit, list_runs, new_run_id, prune, read_events, runs_dir

ROOT = Path(__file__).resolve().parent.parent


# -- a no-op connector registered for these tests ---------------------------------------------------


class EchoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any = None
    delay: float = 0.0
    fail: str | None = None
    status: int | None = None
    scimType: str | None = None
    gate: bool = False  # wait until the test opens GATE


class NoopConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "noop"


class NoopConnection(Connection):
    opened: list[NoopConnection] = []
    in_flight = 0
    max_in_flight = 0
    gate: asyncio.Event | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closed = False
        self.calls = 0
        NoopConnection.opened.append(self)

    async def echo(self, params: EchoParams) -> Any:
        cls = NoopConnection
        self.calls += 1
        cls.in_flight += 1
        cls.max_in_flight = max(cls.max_in_flight, cls.in_flight)
        try:
            if params.gate and cls.gate is not None:
                await cls.gate.wait()
            if params.delay:
                await asyncio.sleep(params.delay)
            if self.on_exchange:
                self.on_exchange("GET", f"http://noop.invalid/{self.config.name}", 200, 0.1)
            if params.fail:
                raise ConnectorError(params.fail, status=params.status, scim_type=params.scimType)
            return params.value
        finally:
            cls.in_flight -= 1

    async def aclose(self) -> None:
        self.closed = True


NOOP = ConnectorSpec(
    id="noop", name="No-op", package="tests/noop", version="0", description="test double", category="Test",
    connection=NoopConfig, operations={"echo": OperationSpec("echo", "Echo", "returns value", EchoParams)},
    implementation=f"{__name__}:NoopConnection",
)


@pytest.fixture
def noop(monkeypatch):
    real_get = catalogue.get
    monkeypatch.setattr(catalogue, "get", lambda cid: NOOP if cid == "noop" else real_get(cid))
    NoopConnection.opened = []
    NoopConnection.in_flight = NoopConnection.max_in_flight = 0
    NoopConnection.gate = None
    return NoopConnection


HEADER = """
[integration]
name = "unit"

[configurables.token]
type = "string"
secret = true
default = "hunter2-secret"

[configurables.limit]
type = "int"
default = 3

[connections.svc]
connector = "noop"
"""


def make_project(tmp_path: Path, body: str) -> ProjectStore:
    folder = tmp_path / "proj"
    folder.mkdir(exist_ok=True)
    (folder / "workbench.toml").write_text(HEADER + body, encoding="utf-8")
    return ProjectStore.open(folder)


def run(engine: Engine, entry: str | None = None, sink=None):
    collected: list[events.Event] = []

    def collect(event):
        collected.append(event)
        if sink:
            sink(event)

    result = asyncio.run(engine.run(entry, collect))
    return result, collected


def of(collected, kind):
    return [e for e in collected if e.event == kind]


# -- preflight --------------------------------------------------------------------------------------


def test_preflight_names_every_problem_and_calls_nothing(tmp_path, noop):
    store = make_project(tmp_path, """
[configurables.apiKey]
type = "string"

[configurables.region]
type = "string"

[entrypoints.main]
[[entrypoints.main.steps]]
call = "svc.echo"
args = { value = "${config.apiKey}" }
""")
    with pytest.raises(PreflightError) as info:
        run(Engine(store, env={}))
    codes = [(d.code, d.message) for d in info.value.diagnostics if d.severity == "error"]
    assert [c for c, _ in codes] == ["missing-value", "missing-value"]
    assert "apiKey" in codes[0][1] and "region" in codes[1][1]
    assert noop.opened == []
    assert not runs_dir(store.root).exists()  # nothing recorded either


def test_preflight_rejects_an_invalid_project(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
call = "svc.nope"

[[entrypoints.main.steps]]
log = "${undefinedVar}"
""")
    with pytest.raises(PreflightError) as info:
        run(Engine(store, env={}))
    codes = {d.code for d in info.value.diagnostics}
    assert {"unknown-operation", "unknown-variable"} <= codes
    assert noop.opened == []


def test_entry_is_required_when_there_are_several(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.a]
[[entrypoints.a.steps]]
log = "a"

[entrypoints.b]
[[entrypoints.b.steps]]
log = "b"
""")
    with pytest.raises(PreflightError, match="several entry points"):
        run(Engine(store, env={}))
    with pytest.raises(PreflightError, match="unknown entry point 'c'"):
        run(Engine(store, env={}), "c")
    result, collected = run(Engine(store, env={}), "b")
    assert result.status == "succeeded"
    assert [e.message for e in of(collected, "log")] == ["b"]


# -- steps ------------------------------------------------------------------------------------------


def test_if_else_set_log_and_return(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
set = "count"
value = "${config.limit}"

[[entrypoints.main.steps]]
if = "count > 5"
then = [{ log = "big" }]
else = [{ set = "size", value = "small" }, { log = "size is ${size}", level = "warning" }]

[[entrypoints.main.steps]]
return = { size = "${size}", count = "${count}", twice = ["${count}", "${count}"] }

[[entrypoints.main.steps]]
log = "never"
""")
    result, collected = run(Engine(store, env={}))
    assert result.status == "succeeded"
    assert result.result == {"size": "small", "count": 3, "twice": [3, 3]}
    finished = {(e.step, e.status) for e in of(collected, "step.finished")}
    assert ("1.then.0", "skipped") in finished
    assert {("1.else.0", "ok"), ("1.else.1", "ok"), ("1", "ok"), ("2", "ok")} <= finished
    assert not any(e.step == "3" for e in of(collected, "step.started"))
    logs = of(collected, "log")
    assert [(e.level, e.message, e.step) for e in logs] == [("warning", "size is small", "1.else.1")]
    if_step = next(e for e in of(collected, "step.finished") if e.step == "1")
    assert if_step.summary == "else"
    end = of(collected, "run.finished")[0]
    assert end.status == "succeeded" and end.result == result.result


def test_call_stores_result_and_connection_opens_once_lazily(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
log = "before any call"

[[entrypoints.main.steps]]
call = "svc.echo"
args = { value = { id = "u1", userName = "ada" } }
result = "user"

[[entrypoints.main.steps]]
call = "svc.echo"
args = { value = "${user.userName}" }
result = "name"

[[entrypoints.main.steps]]
return = "${name}"
""")
    opened_at_first_log = []
    result, collected = run(Engine(store, env={}), sink=lambda e: e.event == "log" and opened_at_first_log.append(
        len(NoopConnection.opened)))
    assert result.result == "ada"
    assert opened_at_first_log == [0]  # lazily: not before the first call
    assert len(noop.opened) == 1 and noop.opened[0].calls == 2 and noop.opened[0].closed
    call = next(e for e in of(collected, "step.finished") if e.step == "1")
    assert call.summary == "id u1, userName ada" and call.label == "svc.echo" and call.kind == "call"
    exchanges = of(collected, "http.exchange")
    assert [(x.method, x.status, x.step) for x in exchanges] == [("GET", 200, "1"), ("GET", 200, "2")]


def test_args_validation_error_is_a_clear_step_error(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
set = "d"
value = "${default(later, 'not a number')}"  # known only at run time (a literal is check's to refuse)

[[entrypoints.main.steps]]
call = "svc.echo"
args = { delay = "${d}" }

[[entrypoints.main.onError]]
log = "handled ${error.type} at ${error.step}: ${error.message}"
""")
    result, collected = run(Engine(store, env={}))
    assert result.status == "failed"
    assert result.error["type"] == "ValidationError" and result.error["step"] == "1"
    assert "svc.echo args: delay" in result.error["message"]
    assert noop.opened[0].calls == 0  # no call was made with bad params
    assert of(collected, "log")[0].message.startswith("handled ValidationError at 1: svc.echo args: delay")


def test_connector_error_runs_on_error_with_server_fields(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
call = "svc.echo"
args = { fail = "already exists", status = 409, scimType = "uniqueness" }

[[entrypoints.main.onError]]
log = "failed: ${error.status} ${error.scimType} ${error.step}"
level = "error"

[[entrypoints.main.onError]]
fail = "handler fails too"

[[entrypoints.main.onError]]
log = "not reached"
""")
    result, collected = run(Engine(store, env={}))
    assert result.status == "failed"
    assert result.error == {"message": "already exists", "type": "ConnectorError", "status": 409,
                            "scimType": "uniqueness", "step": "0"}
    assert [e.message for e in of(collected, "log")] == ["failed: 409 uniqueness 0"]
    handler = [(e.step, e.status) for e in of(collected, "step.finished")]
    assert handler == [("0", "failed"), ("onError.0", "ok"), ("onError.1", "failed")]
    end = of(collected, "run.finished")[0]
    assert end.status == "failed" and end.error["scimType"] == "uniqueness"  # the first error stays


def test_fail_step_and_unknown_variable_at_run_time(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
call = "svc.echo"
args = { value = { a = 1 } }
result = "r"

[[entrypoints.main.steps]]
if = "r.a == 1"
then = [{ fail = "stop: a is ${r.a}" }]
""")
    result, _ = run(Engine(store, env={}))
    assert result.error == {"message": "stop: a is 1", "type": "Fail", "step": "1.then.0"}

    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
call = "svc.echo"
args = { value = { a = 1 } }
result = "r"

[[entrypoints.main.steps]]
log = "${r.missing}"
""")
    result, _ = run(Engine(store, env={}))
    assert result.status == "failed" and result.error["type"] == "UnknownVariable"
    assert "r.missing" in result.error["message"] and result.error["step"] == "1"


# -- foreach ----------------------------------------------------------------------------------------


def test_foreach_concurrency_keeps_input_order(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
set = "local"
value = "outer"

[[entrypoints.main.steps]]
set = "items"
value = [[0, 0.03], [1, 0.0], [2, 0.02], [3, 0.0], [4, 0.01], [5, 0.0], [6, 0.0], [7, 0.02], [8, 0.0], [9, 0.01]]

[[entrypoints.main.steps]]
foreach = "${items}"
as = "pair"
concurrency = 3
result = "out"
steps = [
  { set = "local", value = "${pair[0]}" },
  { call = "svc.echo", args = { value = "v${local}", delay = "${pair[1]}" } },
]

[[entrypoints.main.steps]]
return = { out = "${out}", local = "${local}" }
""")
    result, collected = run(Engine(store, env={}))
    assert result.status == "succeeded", result.error
    assert result.result["out"] == [f"v{i}" for i in range(10)]
    assert result.result["local"] == "outer"  # variables set inside an item stay in the item
    assert noop.max_in_flight == 3
    assert len(noop.opened) == 1  # one connection for all the concurrent items
    inner = [e for e in of(collected, "step.finished") if e.step == "2.steps.1"]
    assert sorted(e.item for e in inner) == list(range(10)) and all(e.status == "ok" for e in inner)
    progress = of(collected, "foreach.progress")
    assert progress[0].done == 0 and progress[-1].done == progress[-1].total == 10
    assert len(progress) < 10  # throttled
    assert next(e for e in of(collected, "step.finished") if e.step == "2").summary == "10 items"


def test_foreach_failure_stops_new_items_and_reports_the_item(tmp_path, noop):
    store = make_project(tmp_path, """
[configurables.items]
type = "int[]"
default = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

[entrypoints.main]
[[entrypoints.main.steps]]
foreach = "${config.items}"
as = "i"
concurrency = 2
steps = [{ if = "i == 3", then = [{ call = "svc.echo", args = { fail = "bad row", delay = 0.01 } }], else = [{ call = "svc.echo", args = { value = "${i}", delay = 0.01 } }] }]

[[entrypoints.main.onError]]
log = "item ${error.item} failed at ${error.step}"
""")
    result, collected = run(Engine(store, env={}))
    assert result.status == "failed"
    assert result.error["step"] == "0.steps.0.then.0" and result.error["item"] == 3
    started_items = {e.item for e in of(collected, "step.started") if e.step == "0.steps.0"}
    assert 3 in started_items and max(started_items) <= 4  # no new item after the failure
    assert [e.message for e in of(collected, "log")] == ["item 3 failed at 0.steps.0.then.0"]
    last = of(collected, "foreach.progress")[-1]
    assert last.failed == 1


# -- cancellation -----------------------------------------------------------------------------------


CANCELLABLE = """
[entrypoints.main]
[[entrypoints.main.steps]]
foreach = "${config.rows}"
as = "row"
concurrency = 4
steps = [{ call = "svc.echo", args = { value = "${row}", delay = 0.05 } }]

[configurables.rows]
type = "int[]"
default = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
"""


def test_cancel_mid_foreach(tmp_path, noop):
    store = make_project(tmp_path, CANCELLABLE)
    engine = Engine(store, env={})

    def sink(event):
        if event.event == "step.finished" and event.step == "0.steps.0" and event.status == "ok":
            engine.cancel()

    result, collected = run(engine, sink=sink)
    assert result.status == "cancelled"
    assert len(noop.opened) == 1 and noop.opened[0].closed
    assert noop.in_flight == 0  # the in-flight requests were cancelled
    assert noop.opened[0].calls < 20
    assert collected[-1].event == "run.finished" and collected[-1].status == "cancelled"
    history = read_events(find_run(store.root, result.run_id))
    assert history[-1]["event"] == "run.finished" and history[-1]["status"] == "cancelled"
    assert list_runs(store.root)[-1].status == "cancelled"


def test_cancel_from_outside_records_cancelled_and_propagates(tmp_path, noop):
    store = make_project(tmp_path, CANCELLABLE)
    engine = Engine(store, env={})

    async def main():
        task = asyncio.ensure_future(engine.run())
        await asyncio.sleep(0.08)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert noop.opened[0].closed and noop.in_flight == 0
    assert list_runs(store.root)[-1].status == "cancelled"


def test_cancel_from_another_thread(tmp_path, noop):
    import threading

    store = make_project(tmp_path, CANCELLABLE)
    engine = Engine(store, env={})
    timer = threading.Timer(0.08, engine.cancel)
    timer.start()
    result, _ = run(engine)
    timer.join()
    assert result.status == "cancelled"


# -- events, redaction, history ---------------------------------------------------------------------


def test_secrets_are_redacted_from_events_result_and_history(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
log = "token is ${config.token}"

[[entrypoints.main.steps]]
call = "svc.echo"
args = { value = { id = "${config.token}" } }
result = "r"

[[entrypoints.main.steps]]
call = "svc.echo"
args = { fail = "server said ${config.token}" }

[[entrypoints.main.onError]]
log = "${error.message}"
""")
    result, collected = run(Engine(store, env={}))
    dumped = json.dumps([e.to_dict() for e in collected], ensure_ascii=False)
    assert "hunter2-secret" not in dumped and "token is ••••" in dumped and "id ••••" in dumped
    assert "hunter2-secret" not in json.dumps(result.error)
    text = find_run(store.root, result.run_id).read_text(encoding="utf-8")
    assert "hunter2-secret" not in text and "token is ••••" in text


def test_event_dicts_are_camel_case_and_round_trip(tmp_path, noop):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
call = "svc.echo"
args = { value = 1 }
""")
    result, collected = run(Engine(store, env={}))
    for event in collected:
        data = event.to_dict()
        assert list(data)[:3] == ["event", "ts", "run"] and data["run"] == result.run_id
        assert all("_" not in key for key in data)
        assert events.from_dict(json.loads(json.dumps(data))).to_dict() == data
    finished = [e.to_dict() for e in of(collected, "step.finished")][0]
    # The inspector's: the rendered arguments and the result of a step outside a foreach item.
    assert set(finished) == {"event", "ts", "run", "step", "kind", "label", "status", "durationMs", "summary",
                             "args", "result"}
    assert finished["args"] == {"value": 1} and finished["result"] == 1


def test_timestamps_and_run_ids_format_each_second_once_and_never_another_seconds_text():
    from workbench.runtime.events import _iso_second, iso
    from workbench.runtime.history import _id_second

    for cached in (_iso_second, _id_second):
        cached.cache_clear()
        for _ in range(3):
            cached(1_764_432_301)
        assert cached.cache_info().misses == 1  # formatted once for the second
    # Ids and timestamps of alternating seconds: each gets its own second's text.
    assert [new_run_id(t)[:15] for t in (1_764_432_301.9, 1_764_432_302.1, 1_764_432_301.5)] == [
        "20251129T160501", "20251129T160502", "20251129T160501"]
    assert [iso(t) for t in (0.5, 1.25, 0.75)] == [
        "1970-01-01T00:00:00.500Z", "1970-01-01T00:00:01.250Z", "1970-01-01T00:00:00.750Z"]


def test_history_ids_sort_by_time_and_old_runs_are_pruned(tmp_path, noop, monkeypatch):
    assert new_run_id(1_000_000.0) < new_run_id(1_000_000.5) < new_run_id(1_000_001.0)
    assert new_run_id(1_764_432_301.25).startswith("20251129T160501-250")
    monkeypatch.setenv("WB_HISTORY_LIMIT", "3")
    assert history_limit() == 3
    monkeypatch.setenv("WB_HISTORY_LIMIT", "zero")
    assert history_limit() == 200
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
log = "hi"
""")
    ids = [run(Engine(store, env={}, keep=3))[0].run_id for _ in range(5)]
    kept = [r.id for r in list_runs(store.root)]
    assert kept == sorted(ids)[-3:]
    assert all(r.status == "succeeded" and r.entry == "main" for r in list_runs(store.root))
    assert prune(store.root, keep=1) == kept[:2]
    with pytest.raises(KeyError, match="no run"):
        find_run(store.root, "nope")


def test_no_history_and_no_sink_builds_no_events(tmp_path, noop, monkeypatch):
    store = make_project(tmp_path, """
[entrypoints.main]
[[entrypoints.main.steps]]
call = "svc.echo"
args = { value = 7 }
result = "x"

[[entrypoints.main.steps]]
return = "${x}"
""")
    built = []
    real = events.StepStarted
    monkeypatch.setattr(events, "StepStarted", lambda *a: built.append(a) or real(*a))
    result = asyncio.run(Engine(store, env={}, history=False).run())
    assert result.result == 7 and built == []
    assert not runs_dir(store.root).exists()


def test_runtime_does_not_import_textual():
    import subprocess

    code = "import sys, workbench.runtime, workbench.runtime.schedule; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -- end to end against the sandbox -----------------------------------------------------------------


def sandbox_values(sb, user: str) -> dict[str, str]:
    return {"scimServiceUrl": sb.service_url, "scimTokenUrl": sb.token_url, "scimClientId": sb.client_id,
            "scimClientSecret": sb.client_secret, "newUserName": user}


def find_users(sb, user_name: str) -> list[dict]:
    with httpx.Client(timeout=5) as client:
        token = client.post(sb.token_url, data={"grant_type": "client_credentials"},
                            auth=(sb.client_id, sb.client_secret)).json()["access_token"]
        response = client.get(f"{sb.service_url}/Users", params={"filter": f'userName eq "{user_name}"'},
                              headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json().get("Resources", [])


def test_sample_provisions_a_user_then_hits_uniqueness(tmp_path, sandbox):
    store = ProjectStore.open(copy_sample("scim-provisioning", tmp_path))
    user = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    result, collected = run(Engine(store, overrides=sandbox_values(sandbox, user), env={}))
    assert result.status == "succeeded", result.error
    assert [u["userName"] for u in find_users(sandbox, user)] == [user]
    assert any(e.event == "http.exchange" and e.status == 201 for e in collected)

    result, collected = run(Engine(store, overrides=sandbox_values(sandbox, user), env={}))
    assert result.status == "failed"
    assert result.error["status"] == 409 and result.error["scimType"] == "uniqueness"
    assert result.error["step"] == "0"
    handler = [e for e in of(collected, "log") if e.step == "onError.0"]
    assert handler and handler[0].level == "error" and "uniqueness" in handler[0].message
    assert sandbox.client_secret not in json.dumps([e.to_dict() for e in collected])


def test_missing_value_makes_no_request(tmp_path, sandbox):
    store = ProjectStore.open(copy_sample("scim-provisioning", tmp_path))
    before = (sandbox.requests, sandbox.tokens_issued)
    values = sandbox_values(sandbox, "nobody@example.com")
    del values["scimClientSecret"]
    with pytest.raises(PreflightError) as info:
        run(Engine(store, overrides=values, env={}))
    assert [d.code for d in info.value.diagnostics if d.severity == "error"] == ["missing-value"]
    assert (sandbox.requests, sandbox.tokens_issued) == before
