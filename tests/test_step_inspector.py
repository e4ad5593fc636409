"""The step inspector (issue 13 §3) and the compact history it reads (issue 18 §2), against the
sandbox: a foreach of creates where 2 of 6 fail (their userNames exist), a step retried on its
404, and call steps whose arguments and result carry a secret. Headless first (RunInspector, from
the live events and from the history), then `workbench runs show ID --step`, then the app."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.helpers import make_project
from tests.test_step_policies import SCIM_CONNECTION, sandbox_sets
from tests.tui_helpers import keys, settle, wait_for_runs
from workbench.cli import main
from workbench.runtime.history import find_run, read_events
from workbench.runtime.inspect import RunInspector, loop_of, parse_target, value_path

TAKEN = (1, 4)  # the items whose userName exists already: their create fails with 409 uniqueness
MASK = "••••"


def inspected_project(tmp_path, sandbox) -> tuple:
    """The project, and its six userNames (TAKEN of them created beforehand)."""
    tag = uuid.uuid4().hex[:8]
    names = [f"insp{i}-{tag}@example.com" for i in range(6)]
    with httpx.Client(timeout=10) as client:
        token = client.post(sandbox.token_url, data={"grant_type": "client_credentials"},
                            auth=(sandbox.client_id, sandbox.client_secret)).json()["access_token"]
        for i in TAKEN:
            client.post(f"{sandbox.service_url}/Users", headers={"Authorization": f"Bearer {token}"},
                        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                              "userName": names[i]}).raise_for_status()
    project = make_project(tmp_path / f"insp-{tag}", f"""
[integration]
name = "inspect"
{SCIM_CONNECTION}
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
set = "names"
value = {json.dumps(names)}
[[entrypoints.main.steps]]
foreach = "${{names}}"
as = "name"
concurrency = 2
errors = "collect"
result = "outcome"
[[entrypoints.main.steps.steps]]
call = "idp.createUser"
label = "Create the user"
args = {{ payload = {{ userName = "${{name}}", title = "t ${{config.secret}}" }} }}
[[entrypoints.main.steps]]
call = "idp.getUser"
args = {{ id = "gone-{tag}" }}
retry = {{ attempts = 2, initial = "10ms", on = ["404"] }}
onError = "continue"
[[entrypoints.main.steps]]
call = "idp.createUser"
result = "top"
args = {{ payload = {{ userName = "top-{tag}@example.com", title = "${{config.secret}}" }} }}
""")
    return project, names


def memory_of(sandbox) -> dict:
    return {"url": sandbox.service_url, "tokenUrl": sandbox.token_url, "clientId": sandbox.client_id,
            "secret": sandbox.client_secret}


def inspector_of(events) -> RunInspector:
    inspector = RunInspector()
    for event in events:
        inspector.add(event)
    return inspector


@pytest.fixture
def recorded(tmp_path, sandbox):
    """A run of the project (the engine, as `workbench run` runs it): (project, names, run id, live events)."""
    import asyncio

    from workbench.project import ProjectStore
    from workbench.runtime import Engine

    project, names = inspected_project(tmp_path, sandbox)
    live: list[dict] = []
    result = asyncio.run(Engine(ProjectStore.open(project), env={}, memory=memory_of(sandbox))
                         .run("main", lambda event: live.append(event.to_dict())))
    assert result.ok and result.failed_items == 3 and result.ok_items == 4  # 2 items, and the continued step
    return project, names, result.run_id, live


# -- headless -----------------------------------------------------------------------------------------


def test_the_inspector_reads_steps_items_and_retries_from_the_compact_history(recorded, sandbox):
    project, names, run_id, live = recorded
    path = find_run(project, run_id)
    inspector = inspector_of(read_events(path))

    assert inspector.step("0").result == names  # a set step's value
    top = inspector.step("3")
    assert top.kind == "call" and top.status == "ok"
    assert top.args == {"payload": {"userName": names[0].replace("insp0", "top"), "title": MASK}}
    assert top.result["title"] == MASK and top.result["id"]
    assert [(h["method"], h["status"]) for h in top.http] == [("POST", 201)]

    retried = inspector.step("2")
    assert retried.status == "failed" and retried.attempts == 2 and retried.error["status"] == 404
    assert [h["status"] for h in retried.http] == [404, 404]

    loop = inspector.step("1")
    assert loop.kind == "foreach" and loop.summary == "4 ok, 2 failed"
    items = inspector.items_of("1")
    assert [i.index for i in items] == list(range(6))
    assert [i.index for i in inspector.items_of("1", failed_only=True)] == list(TAKEN)
    assert inspector.items_of("1.steps.0") == items  # a body step lists its loop's items
    for item in items:
        if item.index in TAKEN:
            assert item.error["scimType"] == "uniqueness" and item.id is None
            step = item.steps["1.steps.0"]  # a failed item's full events are kept
            assert step.args == {"payload": {"userName": names[item.index], "title": f"t {MASK}"}}
            assert [(h["method"], h["status"]) for h in step.http] == [("POST", 409)]
        else:
            assert item.status == "ok" and len(str(item.id)) >= 8 and item.steps == {}  # compact: no events
    assert inspector.item("1.steps.0", TAKEN[0]) is inspector.item("1", TAKEN[0])

    # The history: one compact line per succeeded item, ≤ 150 bytes, no events of it; a failed
    # item's events, then its record saying so.
    lines = path.read_bytes().splitlines()
    records = [json.loads(line) for line in lines if b'"item.finished"' in line]
    assert len(records) == 6
    for line in lines:
        data = json.loads(line)
        if data["event"] == "item.finished" and data["status"] == "ok":
            assert len(line) <= 150 and "kept" not in data and "ts" not in data
        if data["event"] == "item.finished" and data["status"] == "failed":
            assert data["kept"] is True
    item_events = [json.loads(line) for line in lines if b'"item":' in line and b'"item.finished"' not in line]
    assert {e["item"] for e in item_events} == set(TAKEN)
    assert sandbox.client_secret not in path.read_text(encoding="utf-8")

    # Live, the sink saw every event: an ok item has its step (its HTTP exchange; no args: only a
    # failed step inside an item, or --trace, carries them).
    live_inspector = inspector_of(live)
    ok = live_inspector.item("1", 0)
    assert ok.status == "ok" and [h["status"] for h in ok.steps["1.steps.0"].http][-1] == 201
    assert live_inspector.item("1", TAKEN[1]).steps["1.steps.0"].args == items[TAKEN[1]].steps["1.steps.0"].args


def test_addresses_targets_and_paths():
    assert loop_of("1.steps.0") == "1" and loop_of("1.steps.0.then.2") == "1" and loop_of("0") is None
    assert loop_of("2.steps.1.steps.0") == "2.steps.1" and loop_of("steps.1.steps.0") == "1"  # the old form too
    assert parse_target("1[12]") == ("1", 12) and parse_target("onError.0") == ("onError.0", None)
    assert value_path("user", ("emails", 0, "value")) == "${user.emails[0].value}"
    assert value_path("u", ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "department")) == \
        '${u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].department}'


def test_trace_keeps_every_items_events_and_the_compact_form_is_small(tmp_path, capsys):
    project = make_project(tmp_path / "many", """
[integration]
name = "many"
[configurables.rows]
type = "int[]"
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
foreach = "${config.rows}"
as = "n"
concurrency = 4
[[entrypoints.main.steps.steps]]
set = "user"
value = { id = "${n}-0123456789abcdef0123456789abcdef", userName = "user-${n}@example.com" }
""")
    rows = json.dumps(list(range(2000)))
    assert main(["run", str(project), "--set", f"rows={rows}"]) == 0
    out = capsys.readouterr().out
    assert "set user" not in out and "✓ 0 foreach" in out  # no line per item without -v
    assert main(["run", str(project), "--set", f"rows={rows}", "--trace"]) == 0
    capsys.readouterr()
    compact, traced = sorted((project / ".workbench" / "runs").glob("*.jsonl"))
    per_item = compact.stat().st_size / 2000
    assert per_item <= 150, per_item  # was 705 B and 3 lines per item
    assert len(compact.read_bytes().splitlines()) < 2000 * 1.1
    events = read_events(traced)
    assert sum(e["event"] == "step.finished" and e.get("item") is not None for e in events) == 2000
    assert all(e.get("kept") for e in events if e["event"] == "item.finished")
    traced_item = inspector_of(events).item("0", 7)
    assert traced_item.steps["0.steps.0"].result == {"id": "7-0123456789abcdef0123456789abcdef",
                                                     "userName": "user-7@example.com"}
    assert inspector_of(read_events(compact)).item("0", 7).id == "7-0123456789abcdef0123456789abcdef"


# -- the CLI ------------------------------------------------------------------------------------------------


def test_runs_show_step_prints_the_inspector_as_text_and_json(tmp_path, sandbox, capsys):
    project, names = inspected_project(tmp_path, sandbox)
    assert main(["run", str(project), *sandbox_sets(sandbox)]) == 0
    out = capsys.readouterr().out
    # No TTY: the summary and one line per failed item, no line per succeeded one.
    assert out.count("✗ 1.steps.0 Create the user") == 2 and "✓ 1.steps.0" not in out
    assert "4 ok, 2 failed" in out
    from workbench.runtime.history import list_runs

    [run] = list_runs(project)
    run_id = run.id

    def show(*argv) -> tuple[int, str]:
        code = main(["runs", str(project), "show", run_id, *argv])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    code, text = show("--step", "3")
    assert code == 0 and "arguments" in text and "result" in text and "→ 201" in text
    assert f'"title": "{MASK}"' in text
    code, text = show("--step", "2")
    assert code == 0 and "failed in" in text and "2 attempts" in text and text.count("→ 404") == 2
    code, text = show("--step", "1")
    assert code == 0 and "items      6, 2 failed" in text and "uniqueness" in text
    code, text = show("--step", f"1[{TAKEN[0]}]")
    assert code == 0 and names[TAKEN[0]] in text and f"t {MASK}" in text and "→ 409" in text
    code, text = show("--step", "1", "--json")
    data = json.loads(text)
    assert data["kind"] == "foreach" and len(data["items"]) == 6
    assert [i["item"] for i in data["items"] if i["status"] == "failed"] == list(TAKEN)
    code, text = show("--step", "1.steps.0", "--item", str(TAKEN[1]), "--json")
    item = json.loads(text)
    assert item["status"] == "failed" and item["steps"][0]["args"]["payload"]["title"] == f"t {MASK}"
    code, text = show("-v")  # the replay: a line per item from its compact record
    assert code == 0 and text.count("✓ 1 [") == 4
    everything = "".join(show("--step", step, *flag)[1] for step in ("0", "1", "3", "1[1]", "1[0]")
                         for flag in ((), ("--json",)))
    assert sandbox.client_secret not in everything and sandbox.client_secret not in text
    code, text = show("--step", "1.nope")
    assert code == 2 and "bad step address" in text
    code, text = show("--step", "7")
    assert code == 2 and "did not run" in text


def test_a_terminal_shows_one_progress_line_for_a_foreach():
    import io

    from workbench.cli.progress import eta_text, progress_text
    from workbench.cli.run import EventPrinter

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    printer = EventPrinter(stream, color=False)
    assert printer.progress is not None and EventPrinter(io.StringIO()).progress is None
    base = {"run": "r", "ts": "2026-12-01T00:00:00.000Z"}
    printer({**base, "event": "step.started", "step": "1", "kind": "foreach", "label": "Create them"})
    for done in (0, 5):
        printer({**base, "event": "foreach.progress", "step": "1", "done": done, "total": 10, "failed": 1})
    printer({**base, "event": "step.finished", "step": "1.steps.0", "kind": "call", "label": "c", "status": "ok",
             "durationMs": 1, "summary": "", "item": 2})
    printer({**base, "event": "step.finished", "step": "1.steps.0", "kind": "call", "label": "c",
             "status": "failed", "durationMs": 1, "summary": "", "item": 3,
             "error": {"message": "boom", "type": "X", "step": "1.steps.0"}})
    printer({**base, "event": "step.finished", "step": "1", "kind": "foreach", "label": "Create them",
             "status": "ok", "durationMs": 9, "summary": "9 ok, 1 failed"})
    text = stream.getvalue()
    assert "\r\033[K  ▸ 1 Create them  5/10 · 1 failed" in text
    assert "\r\033[K    ✗ 1.steps.0 c [3] — boom" in text and "[2]" not in text  # the line goes first
    assert text.endswith("boom  1 ms\n  ✓ 1 Create them → 9 ok, 1 failed  9 ms\n")
    assert progress_text("1", "x", 50, 100, 0, 2.0) == "▸ 1 x  50/100 · 25/s · ETA 2 s"
    assert eta_text(125) == "2 min 05 s" and eta_text(7300) == "2 h 01 min"


def test_the_history_keeps_to_its_byte_budget_and_never_prunes_a_running_run(tmp_path, monkeypatch):
    import fcntl

    from workbench.runtime.history import history_max_bytes, list_runs, prune, runs_dir

    folder = runs_dir(tmp_path)
    folder.mkdir(parents=True)
    for n in range(6):
        started = {"event": "run.started", "ts": "2026-12-01T00:00:00.000Z", "run": f"r{n}", "entry": "e",
                   "project": "p"}
        (folder / f"2026120{n}T000000-000abc.jsonl").write_text(json.dumps(started) + "\n" + "x" * 1000 + "\n")
    (folder / "20261200T000000-000abc.resume").write_text("y" * 500)
    running = open(folder / "20261201T000000-000abc.jsonl", "a")
    fcntl.flock(running.fileno(), fcntl.LOCK_EX)  # the run going on
    try:
        deleted = prune(tmp_path, keep=100, max_bytes=3 * 1200)  # each file is ~1,110 bytes
    finally:
        running.close()
    assert deleted == ["20261200T000000-000abc", "20261202T000000-000abc", "20261203T000000-000abc"]
    assert not (folder / "20261200T000000-000abc.resume").exists()
    assert len(list_runs(tmp_path)) == 3
    monkeypatch.setenv("WB_HISTORY_MAX_MB", "0.5")
    assert history_max_bytes() == 512 * 1024
    monkeypatch.setenv("WB_HISTORY_MAX_MB", "lots")
    assert history_max_bytes() == 200 * 1024 * 1024


# -- the app -----------------------------------------------------------------------------------------------


async def test_the_app_opens_a_steps_inspector_after_a_run_and_an_items_after_that(tmp_path, sandbox):
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.screens.step_inspector import StepInspectorScreen

    project, names = inspected_project(tmp_path, sandbox)
    app = WorkbenchApp(project, env={}, memory=memory_of(sandbox))
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        app.flow.focus_step("3")
        await keys(pilot, "enter")  # a card that ran: its inspector, not its form
        screen = app.screen
        assert isinstance(screen, StepInspectorScreen)
        tree = screen.query_one("#inspector-tree")
        labels = [str(node.label) for node in tree.root.children]
        assert labels[0].startswith("arguments") and labels[1].startswith("result") and "HTTP" in labels[2]
        result = tree.root.children[1]
        user_name = next(n for n in result.children if str(n.label).startswith("userName"))
        tree.move_cursor(user_name)
        await settle(pilot)
        assert str(screen.query_one("#inspector-path").render()).endswith("${top.userName}")
        await keys(pilot, "c")
        assert app.clipboard == "${top.userName}"
        shown = " ".join(str(n.label) for n in tree.root.children[0].children[0].children)
        assert MASK in shown and sandbox.client_secret not in shown
        await keys(pilot, "escape")

        app.flow.focus_step("1")
        await keys(pilot, "enter")
        screen = app.screen
        options = screen.query_one("#inspector-items")
        assert options.display and options.option_count == 6
        await keys(pilot, "f")  # the failed ones only
        assert options.option_count == 2 and "uniqueness" in str(options.get_option_at_index(0).prompt)
        options.focus()
        await keys(pilot, "enter")
        item_screen = app.screen
        assert isinstance(item_screen, StepInspectorScreen) and item_screen.item == TAKEN[0]
        assert "item 1 of step 1" in str(item_screen.query_one("#inspector-title").render())
        step_node = item_screen.query_one("#inspector-tree").root.children[0]
        assert "1.steps.0" in str(step_node.label)
        assert str(step_node.children[1].label).startswith("arguments")
        await keys(pilot, "escape", "escape")
        assert not isinstance(app.screen, StepInspectorScreen)

        app.flow.focus_step("0")  # e in the inspector edits the step
        await keys(pilot, "enter", "e")
        assert type(app.screen).__name__ == "StepFormScreen"
        assert app.internal_errors == []


async def test_a_replayed_run_opens_the_inspector_from_the_compact_history(recorded):
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.screens.step_inspector import StepInspectorScreen

    project, names, run_id, _ = recorded
    app = WorkbenchApp(project, env={})  # no values: a replay needs none
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        await keys(pilot, "h")
        await settle(pilot)
        await keys(pilot, "enter")
        await wait_for_runs(pilot)
        assert any("✓ 1 [0] → id" in line for line in app.output.lines)  # an item from its compact record
        app.flow.focus_step("2")
        await keys(pilot, "v")
        screen = app.screen
        assert isinstance(screen, StepInspectorScreen)
        assert "2 attempts" in str(screen.query_one("#inspector-status").render())
        await keys(pilot, "escape")
        app.flow.focus_step("1")
        await keys(pilot, "enter")
        options = app.screen.query_one("#inspector-items")
        assert app.focused is options  # a loop's inspector starts on its items
        await keys(pilot, "enter")  # item 0: succeeded, kept as its compact record
        text = str(app.screen.query_one("#inspector-tree").root.children[0].label)
        assert text.startswith("id: ")
        assert app.internal_errors == []
