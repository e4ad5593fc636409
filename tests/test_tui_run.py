"""Running automations from the app: the demo's run and its 409, cancel, missing values, history,
and a long foreach streamed into the Output panel."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import make_project
from workbench.cli.demo import demo_values, project_dir, sample_dir
from workbench.runtime.history import list_runs
from workbench.tui.app import WorkbenchApp
from workbench.tui.run_feed import RunFeed, RunFormat
from tests.tui_helpers import keys, settle, wait_for_runs

SAMPLE = Path(__file__).resolve().parents[1] / "projects" / "scim-provisioning"


def unique_user() -> str:
    return f"tui-{secrets.token_hex(4)}@example.com"


def card(app, address: str):
    return next(c for c in app.query("StepCard") if c.address == address)


def summary(app) -> str:
    return str(app.output.query_one("#run-summary").render())


# -- the demo's scenario ---------------------------------------------------------------------------


async def test_run_succeeds_then_fails_on_409_and_the_error_handler_runs(sample, sandbox):
    memory = {**demo_values(sandbox), "newUserName": unique_user()}
    app = WorkbenchApp(sample, env={}, memory=memory, memory_source="demo")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        text = "\n".join(app.output.lines)
        assert "✓ succeeded in" in text and f"userName {memory['newUserName']}" in text
        assert summary(app).startswith("✓ succeeded")
        assert card(app, "0").status == "ok" and card(app, "1").status == "ok"
        assert card(app, "onError.0").status == ""  # the Error Handler did not run

        await keys(pilot, "r")
        await wait_for_runs(pilot)
        text = "\n".join(app.output.lines)
        assert "✗ failed in" in text and "Provisioning failed: SCIM 409 uniqueness" in text
        failed = card(app, "0")
        assert failed.status == "failed" and failed.has_class("-run-error")
        assert "409 uniqueness" in str(failed.render())  # the card shows status and scimType
        assert card(app, "onError.0").status == "ok"  # the Error Handler ran
        assert card(app, "1").status == ""  # never reached
        assert summary(app).startswith("✗ failed") and "scimType uniqueness" in summary(app)
        assert "at step 0 scimClient.createUser" in summary(app)
        assert [r.status for r in list_runs(sample)] == ["succeeded", "failed"]
        assert app.internal_errors == []
    assert "scimServiceUrl" not in (sample / "Config.toml").read_text()  # memory values stay in memory


async def test_demo_values_show_as_demo_and_the_secret_is_masked(sample, sandbox):
    app = WorkbenchApp(sample, env={}, memory=demo_values(sandbox), memory_source="demo")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await keys(pilot, "g")
        table = app.query_one("#config-table")
        rows = {str(key.value): [str(c) for c in table.get_row(key)] for key in table.rows}
        assert rows["scimServiceUrl"][1:3] == [sandbox.service_url[:15] + "…", "demo"]
        assert rows["scimClientSecret"][1] == "••••" and rows["scimClientSecret"][2] == "demo"
        assert sandbox.client_secret not in "".join(map(str, rows.values()))
        assert app.issues.counts == (0, 0)  # no "missing value" problems in the demo


async def test_a_second_run_of_the_same_entry_cannot_start(sample, sandbox):
    app = WorkbenchApp(sample, env={}, memory={**demo_values(sandbox), "newUserName": unique_user()})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_run_entry()
        app.action_run_entry()  # at once: the first is still going
        assert len(app.live_runs()) == 1
        await pilot.pause()
        assert any("already running" in n.message for n in app._notifications)
        await wait_for_runs(pilot)
        assert len(list_runs(sample)) == 1


# -- missing values ----------------------------------------------------------------------------------


async def test_missing_values_open_the_configurations_pane_on_the_first(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")
        await settle(pilot)
        assert app.current == ("configurables", "scimServiceUrl")
        pane = app.query_one("ConfigPane")
        assert pane.selected_name() == "scimServiceUrl"
        assert app.focused is pane.table
        messages = [n.message for n in app._notifications]
        assert any("scimServiceUrl, scimTokenUrl, scimClientId, scimClientSecret" in m for m in messages)
        assert not any("Run anyway" in m for m in messages)
        assert list_runs(sample) == []  # nothing ran
        assert not app.live_runs()


# -- cancel --------------------------------------------------------------------------------------------


class SlowHandler(BaseHTTPRequestHandler):
    delay = 0.1

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        time.sleep(self.delay)
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slow_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


SLOW_PROJECT = """
[integration]
name = "slow"

[configurables.baseUrl]
type = "string"

[configurables.items]
type = "int[]"

[connections.api]
connector = "http"
baseUrl = "${config.baseUrl}"

[entrypoints.pollAll]
kind = "automation"

[[entrypoints.pollAll.steps]]
foreach = "${config.items}"
as = "n"
concurrency = 1

[[entrypoints.pollAll.steps.steps]]
call = "api.get"
args = { path = "/slow/${n}" }
"""


async def test_cancel_stops_a_slow_foreach_and_the_run_is_recorded_as_cancelled(tmp_path, slow_server):
    root = make_project(tmp_path / "slow", SLOW_PROJECT)
    app = WorkbenchApp(root, env={}, memory={"baseUrl": slow_server, "items": list(range(100))})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_run_entry()
        deadline = time.monotonic() + 15
        while card(app, "0").progress is None or card(app, "0").progress[0] < 2:
            assert time.monotonic() < deadline, "the foreach made no progress"
            await asyncio.sleep(0.05)
        assert card(app, "0").status == "running"
        assert "────" in str(card(app, "0").render())  # the progress bar, then done/total
        assert "/100" in str(card(app, "0").render())
        await pilot.press("escape")
        await wait_for_runs(pilot)
        assert summary(app).startswith("■ cancelled")
        assert card(app, "0").status == "cancelled"  # cut short: no step.finished came
        assert card(app, "0").border_subtitle == "■ cancelled"
        done, total, failed = card(app, "0").progress
        assert 2 <= done < total == 100 and failed == 0
        assert [r.status for r in list_runs(root)] == ["cancelled"]
        assert app.internal_errors == []


# -- history -------------------------------------------------------------------------------------------


async def test_history_replays_a_past_run_into_the_output(sample, sandbox):
    from workbench.project.store import ProjectStore
    from workbench.runtime import Engine

    memory = {**demo_values(sandbox), "newUserName": unique_user()}
    result = await Engine(ProjectStore.open(sample), env={}, memory=memory).run("provisionUser")
    assert result.ok
    app = WorkbenchApp(sample, env={})  # no values: a replay does not need them
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "h")
        assert type(app.screen).__name__ == "RunHistoryScreen"
        await settle(pilot)
        await keys(pilot, "enter")
        await wait_for_runs(pilot)
        text = "\n".join(app.output.lines)
        assert f"replay of run {result.run_id}" in text
        assert f"Created user {memory['newUserName']}" in text and "✓ succeeded in" in text
        assert summary(app).startswith("✓ succeeded") and "replay of" in summary(app)
        assert card(app, "0").status == "ok"


# -- a long stream -----------------------------------------------------------------------------------

LOOP_PROJECT = """
[integration]
name = "loop"

[configurables.items]
type = "int[]"

[entrypoints.countUp]
kind = "automation"

[[entrypoints.countUp.steps]]
foreach = "${config.items}"
as = "n"

[[entrypoints.countUp.steps.steps]]
log = "item ${n}"
"""


async def test_a_long_foreach_streams_every_line_and_its_progress(tmp_path):
    root = make_project(tmp_path / "loop", LOOP_PROJECT)
    app = WorkbenchApp(root, env={}, memory={"items": list(range(3000))})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        lines = app.output.lines
        assert sum(" info    item " in line for line in lines) == 3000
        assert card(app, "0").progress == (3000, 3000, 0)
        assert "3000/3000" in str(card(app, "0").render())
        assert card(app, "0").status == "ok"


async def test_http_exchanges_toggle(sample, sandbox):
    app = WorkbenchApp(sample, env={}, memory={**demo_values(sandbox), "newUserName": unique_user()})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        assert not any("POST" in line for line in app.output.lines)
        await keys(pilot, "e")
        assert any("POST" in line and "/scim2/Users → 201" in line for line in app.output.lines)
        await keys(pilot, "e")
        assert not any("POST" in line for line in app.output.lines)


# -- small pieces ---------------------------------------------------------------------------------------


def test_the_feed_formats_like_the_cli_and_steady_masks_what_changes():
    from workbench.cli.run import EventPrinter
    from workbench.runtime import events as ev

    event = ev.StepFinished("20261129T160501-123abc", 0.0, "0", "call", "scimClient.createUser", "ok", 12.3,
                            "id 35074b129754418fa3c2e2553047f059, userName ada")
    feed = RunFeed(RunFormat.steady())
    feed.push(None, event)
    (item,) = feed.take(10)
    cli = EventPrinter(color=False).format(event.to_dict())
    assert item.lines == ("hh:mm:ss   ✓ 0 scimClient.createUser → id ‹id›, userName ada  ‹ms›",)
    assert cli.replace("12 ms", "‹ms›").replace("35074b129754418fa3c2e2553047f059", "‹id›") in item.lines[0]


def test_demo_resolves_the_sample_next_to_the_package(tmp_path):
    from workbench.cli.common import CliError

    assert sample_dir() == SAMPLE
    assert project_dir(None) == SAMPLE
    with pytest.raises(CliError, match="holds no workbench.toml"):
        project_dir(str(tmp_path))


TWO_ENTRIES = """
[integration]
name = "two"

[configurables.items]
type = "int[]"

[entrypoints.first]
kind = "automation"

[[entrypoints.first.steps]]
foreach = "${config.items}"
as = "n"

[[entrypoints.first.steps.steps]]
log = "first ${n}"

[entrypoints.second]
kind = "automation"

[[entrypoints.second.steps]]
log = "second"
"""


async def test_two_entries_may_run_together_and_their_lines_are_told_apart(tmp_path):
    root = make_project(tmp_path / "two", TWO_ENTRIES)
    app = WorkbenchApp(root, env={}, memory={"items": list(range(3000))})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_run_entry("first")
        app.action_run_entry("second")
        assert {s.entry for s in app.live_runs()} == {"first", "second"}
        await wait_for_runs(pilot)
        lines = app.output.lines
        assert any("[second] " in line and "info    second" in line for line in lines)
        assert any("[first] ✓ succeeded in " in line for line in lines)
        assert sum("[first] " in line and "info    first " in line for line in lines) == 3000
        assert [r.status for r in list_runs(root)] == ["succeeded", "succeeded"]


async def test_a_run_whose_history_cannot_be_written_says_so(tmp_path):
    project = make_project(tmp_path / "p", '[integration]\nname = "ro"\n[entrypoints.main]\nkind = "automation"\n'
                                          '[[entrypoints.main.steps]]\nlog = "hi"\n')
    (project / ".workbench").write_text("a file where the history folder would be")
    app = WorkbenchApp(project, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        assert str(app.output.query_one("#run-summary").render()).startswith("✓ succeeded")
        assert any("history" in n.message for n in app._notifications)
