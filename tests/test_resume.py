"""`workbench run --resume RUN_ID`: finished steps and foreach items are not run again, against
the sandbox over real HTTP (writes counted on the server side)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import httpx

from tests.helpers import make_project
from tests.test_step_policies import SCIM_CONNECTION, run_json, sandbox_sets
from workbench.cli import main
from workbench.project.store import ProjectStore
from workbench.runtime import Engine
from workbench.runtime import events as ev


# Fails until `ok` is set: a resume restores `greeting` (step 0) and runs step 1 again.
FIXABLE = """
[integration]
name = "changed"
[configurables.ok]
type = "boolean"
default = false
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
set = "greeting"
value = "hello"
[[entrypoints.main.steps]]
if = "config.ok"
then = [{ return = "${greeting}" }]
else = [{ fail = "not yet" }]
"""


def bulk_project(tmp_path, names: list[str], *, collect: bool, concurrency: int = 4):
    return make_project(tmp_path / "p", f"""
[integration]
name = "resume"
{SCIM_CONNECTION}
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
set = "names"
value = {json.dumps(names)}
[[entrypoints.main.steps]]
foreach = "${{names}}"
as = "name"
concurrency = {concurrency}
{'errors = "collect"' if collect else ''}
result = "created"
[[entrypoints.main.steps.steps]]
call = "idp.createUser"
args = {{ payload = {{ userName = "${{name}}" }} }}
[[entrypoints.main.steps]]
return = "${{len(names)}}"
""")


@contextlib.contextmanager
def scim(sb):
    """A plain SCIM client with a token, for setting up and checking the server."""
    with httpx.Client(base_url=sb.service_url + "/", timeout=5) as client:
        token = client.post(sb.token_url, data={"grant_type": "client_credentials"},
                            auth=(sb.client_id, sb.client_secret)).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_resume_runs_only_the_failed_items(tmp_path, make_sandbox, capsys):
    sb = make_sandbox()
    tag = uuid.uuid4().hex[:6]
    names = [f"r{i:02d}-{tag}@example.com" for i in range(50)]
    project = bulk_project(tmp_path, names, collect=True)
    with scim(sb) as client:
        taken = [client.post("Users", json={"userName": names[i]}).json()["id"] for i in (5, 15, 25, 35, 45)]
    code, events = run_json(capsys, project, *sandbox_sets(sb))
    assert code == 0 and events[-1]["failedItems"] == 5
    first_run = events[0]["run"]
    with scim(sb) as client:  # fix the 5: the conflicting accounts are removed
        for uid in taken:
            client.delete(f"Users/{uid}").raise_for_status()
    writes = sb.writes
    code, events = run_json(capsys, project, *sandbox_sets(sb), "--resume", first_run)
    assert code == 0 and events[-1]["status"] == "succeeded" and events[-1]["failedItems"] == 0
    assert sb.writes == writes + 5  # exactly the 5 creates that failed
    restored = [e for e in events if e["event"] == "step.finished" and "restored" in e.get("summary", "")]
    assert [e["step"] for e in restored] == ["0"]


def test_a_cancelled_run_resumes_with_each_remaining_item_once(tmp_path, make_sandbox, capsys):
    sb = make_sandbox()
    tag = uuid.uuid4().hex[:6]
    names = [f"k{i:02d}-{tag}@example.com" for i in range(50)]
    project = bulk_project(tmp_path, names, collect=False, concurrency=1)
    overrides = {"url": sb.service_url, "tokenUrl": sb.token_url, "clientId": sb.client_id, "secret": sb.client_secret}
    engine = Engine(ProjectStore.open(project), overrides=overrides)
    created = []

    def sink(event) -> None:
        if isinstance(event, ev.StepFinished) and event.kind == "call" and event.status == ev.OK:
            created.append(event.item)
            if len(created) == 20:
                engine.cancel()

    result = asyncio.run(engine.run("main", sink))
    assert result.status == "cancelled" and sb.writes in (20, 21)
    resumed = Engine(ProjectStore.open(project), overrides=overrides, resume=result.run_id)
    again = asyncio.run(resumed.run("main"))
    assert again.status == "succeeded", again.error
    assert sb.writes == 50  # each remaining item once: no item was sent twice
    with scim(sb) as client:
        listed = client.get("Users", params={"filter": f'userName ew "{tag}@example.com"', "count": 100}).json()
    assert sorted(u["userName"] for u in listed["Resources"]) == sorted(names)


def test_resume_refuses_when_a_finished_step_changed(tmp_path, capsys):
    project = make_project(tmp_path / "p", FIXABLE)
    code, events = run_json(capsys, project)
    assert code == 1
    run_id = events[0]["run"]
    # Fixed by a value, not by the steps: the resume restores `greeting` and runs step 1 again.
    code, events = run_json(capsys, project, "--set", "ok=true", "--resume", run_id[:17])
    assert code == 0 and events[-1]["result"] == "hello"
    text = (project / "workbench.toml").read_text()
    (project / "workbench.toml").write_text(text.replace('value = "hello"', 'value = "bonjour"'))
    assert main(["run", str(project), "--resume", run_id]) == 2
    err = capsys.readouterr().err
    assert "step 0 of main changed" in err and "Traceback" not in err
    assert main(["run", str(project), "--resume", "no-such-run"]) == 2
    assert "no run" in capsys.readouterr().err


async def test_the_app_offers_resume_after_a_failed_run(tmp_path):
    from tests.tui_helpers import keys, settle, wait_for_runs
    from workbench.runtime.history import list_runs
    from workbench.tui.app import WorkbenchApp

    project = make_project(tmp_path / "p", FIXABLE)
    env = {}
    app = WorkbenchApp(project, env=env)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        summary = str(app.output.query_one("#run-summary").render())
        assert summary.startswith("✗ failed") and "R resumes" in summary
        env["WB_VAR_OK"] = "true"  # fixed by a value: the resume runs step 1 again
        await keys(pilot, "R")
        await wait_for_runs(pilot)
        summary = str(app.output.query_one("#run-summary").render())
        assert summary.startswith("✓ succeeded") and "hello" in summary and "R resumes" not in summary
        assert any("restored from run" in line for line in app.output.lines)
    assert [r.status for r in list_runs(project)] == ["failed", "succeeded"]


# A foreach that finishes, then a step that fails until `ok`: a resume restores the foreach's
# result from its item lines (the state does not write it twice).
ITEMS_THEN_FAIL = """
[integration]
name = "items"
[configurables.ok]
type = "boolean"
default = false
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
set = "names"
value = %s
[[entrypoints.main.steps]]
foreach = "${names}"
as = "name"
concurrency = 2
%s
result = "upper"
steps = [{ set = "shout", value = "${upper(name)}" }]
[[entrypoints.main.steps]]
if = "config.ok"
then = [{ return = "${upper}" }]
else = [{ fail = "not yet" }]
"""


def _failed_run(tmp_path, collect: bool, names: str = '["ada", "bo", "cy"]'):
    project = make_project(tmp_path / "p", ITEMS_THEN_FAIL % (names, 'errors = "collect"' if collect else ""))
    result = asyncio.run(Engine(ProjectStore.open(project)).run("main"))
    assert result.status == "failed"
    return project, result.run_id


def _resume(project, run_id):
    events: list = []
    result = asyncio.run(Engine(ProjectStore.open(project), overrides={"ok": "true"}, resume=run_id).run("main", events.append))
    assert result.status == "succeeded", result.error
    restored = [e.step for e in events if isinstance(e, ev.StepFinished) and "restored" in e.summary]
    calls = [e.item for e in events if isinstance(e, ev.StepFinished) and e.step == "1.steps.0"]
    return result.result, restored, calls


def test_a_finished_foreach_is_restored_from_its_item_lines(tmp_path):
    for collect, expected in ((False, ["ADA", "BO", "CY"]), (True, {"ok": ["ADA", "BO", "CY"], "failed": []})):
        project, run_id = _failed_run(tmp_path / str(collect), collect)
        lines = [json.loads(line) for line in next((project / ".workbench").rglob(f"{run_id}.resume")).read_text().splitlines()]
        step = next(line for line in lines if line.get("step") == 1 and "item" not in line)
        assert step["vars"] == {} and step["count"] == 3  # the values are in the item lines only
        assert step["items"] == {"upper": "collect" if collect else "list"}
        assert _resume(project, run_id) == (expected, ["0", "1"], [])


def test_a_torn_item_line_runs_that_item_again(tmp_path):
    project, run_id = _failed_run(tmp_path, False)
    path = next((project / ".workbench").rglob(f"{run_id}.resume"))
    path.write_text("\n".join(line for line in path.read_text().splitlines() if '"item":1,' not in line) + "\n")
    assert _resume(project, run_id) == (["ADA", "BO", "CY"], ["0"], [1])


def test_a_foreach_over_nothing_is_kept_and_restored(tmp_path):
    # No item line at all: the state still records the (empty) result, and a resume restores it.
    for collect, expected in ((False, []), (True, {"ok": [], "failed": []})):
        project, run_id = _failed_run(tmp_path / str(collect), collect, names="[]")
        assert _resume(project, run_id) == (expected, ["0", "1"], [])
