"""ProjectSession and RunController: the app's state outside Textual, tested without it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT
from workbench.project.session import NotLoaded, ProjectSession
from workbench.runtime.controller import AlreadyRunning, CancelledEarly, RunController

SAMPLE = ROOT / "projects" / "scim-provisioning"
LOOP = """[integration]
name = "loop"

[entrypoints.hello]
[[entrypoints.hello.steps]]
log = "hello"
[[entrypoints.hello.steps]]
if = "${true}"
then = [{ log = "inner" }]
"""


@pytest.fixture
def loop(tmp_path) -> Path:
    root = tmp_path / "loop"
    root.mkdir()
    (root / "workbench.toml").write_text(LOOP)
    return root


def test_no_textual_in_the_session_or_the_controller():
    code = "import sys, workbench.project.session, workbench.runtime.controller; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_session_view_before_and_after_loading(sample):
    session = ProjectSession(sample, env={"WB_VAR_SCIMCLIENTID": "x"})
    assert session.exists and not session.loaded
    assert list(session.view().entrypoints) == ["provisionUser"]
    with pytest.raises(NotLoaded):
        session.check()
    session.load()
    rows = {r.name: r.is_set for r in session.view().config_rows()}
    assert rows["scimClientId"] is True and rows["scimServiceUrl"] is False
    assert {d.code for d in session.check()} >= {"missing-value"}


def test_session_edits_apply_on_top_of_an_external_change(sample):
    session = ProjectSession(sample, env={})
    session.load()
    text = (sample / "workbench.toml").read_text()
    (sample / "workbench.toml").write_text(text + '\n[configurables.byHand]\ntype = "int"\n')
    time.sleep(0.01)
    address = session.edit(lambda store: store.add_step("provisionUser", {"log": "x"}, at="0"))
    assert address == "0"
    assert "byHand" in session.store.project.configurables  # reloaded first, then edited
    assert "byHand" in (sample / "workbench.toml").read_text()


def test_session_edit_loads_when_needed_and_polls_quietly(sample):
    session = ProjectSession(sample, env={})
    assert not session.changed_on_disk()  # not loaded: nothing to compare
    session.edit(lambda store: store.add_configurable("fresh"))
    assert session.loaded and "fresh" in session.store.project.configurables
    with session.lock:  # an edit being written: the poll skips a beat instead of waiting
        assert not session.changed_on_disk()


def test_controller_runs_an_entry_and_tracks_its_steps(loop):
    session = ProjectSession(loop, env={})
    controller = RunController(session)
    addresses = [str(a) for a in session.view().addresses("hello")]
    assert addresses == ["0", "1", "1.then.0"]
    run = controller.begin("hello", addresses)
    with pytest.raises(AlreadyRunning):
        controller.begin("hello", addresses)
    seen: list = []
    result = controller.execute(run, seen.append)
    for event in seen:
        run.track(event.to_dict())
    controller.ended(run)
    assert result.status == "succeeded" and not controller.live()
    assert run.statuses["1.then.0"][0] == "ok" and run.finished["status"] == "succeeded"
    history = controller.history()
    assert history[0].id == run.run_id
    replayed, events = controller.replay(run.run_id)
    assert replayed.replay == run.run_id and events[0]["event"] == "run.started"
    assert controller.runs["hello"] is replayed


def test_a_cancel_before_the_start_and_a_refused_run(loop, sample):
    controller = RunController(ProjectSession(loop, env={}))
    run = controller.begin("hello", [])
    controller.cancel(run)
    with pytest.raises(CancelledEarly):
        controller.execute(run, lambda event: None)

    from workbench.runtime import PreflightError

    refused = RunController(ProjectSession(sample, env={}))  # values are missing
    first = refused.begin("provisionUser", ["0", "1"])
    with pytest.raises(PreflightError):
        refused.execute(first, lambda event: None)
    assert refused.refused(first) and "provisionUser" not in refused.runs


def test_history_written_before_the_one_address_form_still_replays(loop):
    """Old files may name steps "steps.1.then.0": the replay reads them in the one form."""
    controller = RunController(ProjectSession(loop, env={}))
    runs = loop / ".workbench" / "runs"
    runs.mkdir(parents=True)
    lines = [
        {"event": "run.started", "run": "20260101T000000-abcdef", "entry": "hello", "ts": "2026-01-01T00:00:00Z"},
        {"event": "step.finished", "run": "x", "step": "steps.1.then.0", "status": "ok", "durationMs": 1},
        {"event": "run.finished", "run": "x", "status": "failed", "durationMs": 2,
         "error": {"message": "boom", "step": "steps.0"}},
    ]
    (runs / "20260101T000000-abcdef.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    session, events = controller.replay("20260101T000000-abcdef")
    for event in events:
        session.track(event)
    assert session.statuses == {"1.then.0": ("ok", 1)} and session.error_address == "0"
