"""The app's Plan (`P`): a plan run of the hr-sync sample against a sandbox, its diff on the Plan
screen with counts and filters, `a` to apply, and a second plan with nothing to do. The sandbox
counts write requests on the server side: a plan sends none."""

from __future__ import annotations

from tests.helpers import copy_sample


def values(sb) -> dict[str, str]:
    return {"scimServiceUrl": sb.service_url, "scimTokenUrl": sb.token_url, "scimClientId": sb.client_id,
            "scimClientSecret": sb.client_secret}


async def test_plan_shows_the_diff_filters_it_and_applies_it(tmp_path, make_sandbox):
    from tests.tui_helpers import keys, settle, type_text, wait_for_runs
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.screens.plan_screen import PlanScreen

    sb = make_sandbox()
    project = copy_sample("hr-sync", tmp_path)
    app = WorkbenchApp(project, env={}, memory=values(sb))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "P")
        await wait_for_runs(pilot)
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        counts = str(screen.query_one("#plan-counts").render())
        assert "40 to create, 0 to update, 0 to deprovision, 0 unchanged" in counts
        assert len(screen.shown) == 40 and "+ E1001  (create)" in screen.shown
        assert sb.writes == 0  # a plan sends no write request
        assert app.run_controller.resumable("nightlySync") == ""  # and is never resumed

        await keys(pilot, "minus")  # the deprovisions: none
        assert screen.shown == []
        await keys(pilot, "plus")  # the creates
        assert len(screen.shown) == 40 and all(line.startswith("+ ") for line in screen.shown)
        await keys(pilot, "slash")
        await type_text(pilot, "e1001")
        assert screen.shown == ["+ E1001  (create)"]
        await keys(pilot, "enter")  # back to the list: the keys are the screen's again
        assert screen.check_action("apply_force", ()) is False  # not refused: no force offered

        await keys(pilot, "a")  # apply: a normal run
        assert not isinstance(app.screen, PlanScreen)
        await wait_for_runs(pilot)
        assert app.runs["nightlySync"].finished["status"] == "succeeded"
        assert sb.writes == 40

        await keys(pilot, "P")
        await wait_for_runs(pilot)
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        assert "0 to create, 0 to update, 0 to deprovision, 40 unchanged" in str(screen.query_one("#plan-counts").render())
        assert screen.shown == []
        assert sb.writes == 40  # the second plan wrote nothing
        await keys(pilot, "escape")
        assert not isinstance(app.screen, PlanScreen)
    assert not app.internal_errors


async def test_a_plan_over_max_changes_offers_apply_with_force(tmp_path, make_sandbox):
    from tests.tui_helpers import keys, settle, wait_for_runs
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.screens.plan_screen import PlanScreen

    sb = make_sandbox()
    project = copy_sample("hr-sync", tmp_path)
    app = WorkbenchApp(project, env={}, memory=values(sb))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")  # the 40 users exist
        await wait_for_runs(pilot)
        assert sb.writes == 40
        path = project / "hr-export.csv"
        rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(rows[:21]), encoding="utf-8")  # half of them left: 20 to deactivate
        await keys(pilot, "P")
        await wait_for_runs(pilot)
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        assert "maxChanges" in str(screen.query_one("#plan-counts").render())
        assert screen.check_action("apply", ()) is False and screen.check_action("apply_force", ()) is True
        assert sb.writes == 40
        await keys(pilot, "F")  # apply with force
        await wait_for_runs(pilot)
        assert app.runs["nightlySync"].finished["status"] == "succeeded"
        assert sb.writes == 60
    assert not app.internal_errors


def test_the_plan_comes_from_the_sync_steps_log_lines_when_the_run_returns_no_report():
    from workbench.connectors.scim.sync import plan_lines
    from workbench.runtime.controller import RunController
    from workbench.tui.screens.plan_screen import plan_sections, shown_lines

    report = {"counts": {"create": 1, "update": 1, "deprovision": 1, "unchanged": 0}, "inScope": 2,
              "create": ["E1"], "update": [{"key": "E2", "changes": [{"path": "title", "from": "A", "to": "B"}]}],
              "deprovision": [{"key": "E3", "action": "deactivate"}], "applied": False, "failed": []}
    session = RunController(None).begin("main", ["0", "1"], plan=True, sync_steps=["1"])
    session.track({"event": "step.started", "step": "1", "label": "Reconcile"})
    for line in ["not a plan", *plan_lines(report)]:
        session.track({"event": "log", "step": "0" if line == "not a plan" else "1", "message": line})
    session.track({"event": "run.finished", "status": "succeeded", "result": None})
    [section] = plan_sections(session)
    assert section.title == "Reconcile" and section.counts.startswith("1 to create, 1 to update, 1 to deprovision")
    assert section.lines == ['+ E1  (create)', '~ E2  title: "A" → "B"', "- E3  (deactivate)"]
    assert shown_lines(section, "update", "") == ['~ E2  title: "A" → "B"']
    assert shown_lines(section, "all", "e3") == ["- E3  (deactivate)"]
    assert RunController(None).begin("main", ["1"], sync_steps=["1"]).sync_steps == frozenset()  # not a plan
