"""A step form saved after another window changed the same step (project/edit_base.py): the
other side's change of the same field is a conflict the app shows, with the form kept open; a
change of another field merges with this form's."""

from __future__ import annotations

import tomllib

from workbench.project.session import ProjectSession
from workbench.tui.app import WorkbenchApp
from tests.tui_helpers import keys, settle, type_text


def log_step(root) -> dict:
    return tomllib.loads((root / "workbench.toml").read_text())["entrypoints"]["provisionUser"]["steps"][1]


async def open_log_step_form(pilot) -> None:
    await settle(pilot)
    await keys(pilot, "enter", "down", "down")  # the flow's first card, the +, the log card
    assert pilot.app.flow.current.key == "step:1"
    await keys(pilot, "enter")
    assert type(pilot.app.screen).__name__ == "StepFormScreen"


def other_window(root, step: dict) -> None:
    other = ProjectSession(root, env={})
    other.load()
    other.edit(lambda store: store.update_step("provisionUser", "1", step))


async def test_the_same_field_changed_behind_a_step_form_is_a_conflict(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_log_step_form(pilot)
        other_window(sample, {"log": "from the other window"})
        await keys(pilot, "end", "ctrl+u")
        await type_text(pilot, "from this window")
        await keys(pilot, "ctrl+s")
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert any("step 1 (log) of provisionUser changed in another window" in n and ": log." in n
                   for n in notes), notes
        assert type(app.screen).__name__ == "StepFormScreen"  # the person's input is kept
        assert log_step(sample) == {"log": "from the other window"}
        assert app.internal_errors == []


async def test_another_field_changed_behind_a_step_form_merges(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_log_step_form(pilot)
        original = log_step(sample)["log"]
        other_window(sample, {"log": original, "level": "warning"})
        await keys(pilot, "end", "ctrl+u")
        await type_text(pilot, "from this window")
        await keys(pilot, "ctrl+s")
        await settle(pilot)
        assert type(app.screen).__name__ != "StepFormScreen"
        assert log_step(sample) == {"log": "from this window", "level": "warning"}
        assert app.internal_errors == []


async def test_a_connection_form_saved_over_the_same_field_is_a_conflict(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.tree.select_ref(("connections", "scimClient", ""))
        await settle(pilot)
        await keys(pilot, "enter")  # the form of scimClient
        form = app.connection_form
        form.fields.row("timeout").control.focus()
        await type_text(pilot, "12")
        other = ProjectSession(sample, env={})
        other.load()
        decl = other.view().connections["scimClient"]
        other.edit(lambda store: store.update_connection("scimClient", "scim", {
            **{k: v for k, v in decl.items() if k != "connector"}, "timeout": 30}))
        await keys(pilot, "ctrl+s")
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert any("connection scimClient changed in another window" in n and "timeout" in n for n in notes), notes
        assert app.connection_form is form and form.fields.row("timeout").text == "12"
        saved = tomllib.loads((sample / "workbench.toml").read_text())["connections"]["scimClient"]
        assert saved["timeout"] == 30


async def test_a_delete_from_the_tree_refuses_an_item_another_window_changed(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.tree.select_ref(("connections", "scimClient", ""))
        app.tree.focus()
        await keys(pilot, "delete")
        assert type(app.screen).__name__ == "ConfirmScreen"
        other = ProjectSession(sample, env={})
        other.load()
        other.edit(lambda store: store.update_connection("scimClient", "scim", {
            **tomllib.loads((sample / "workbench.toml").read_text())["connections"]["scimClient"],
            "serviceUrl": "https://other.example/scim/v2"}))
        await keys(pilot, "y")
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert any("the connection scimClient changed in another window" in n and "nothing was deleted" in n
                   for n in notes), notes
        assert "scimClient" in tomllib.loads((sample / "workbench.toml").read_text())["connections"]
        # Looked at again (the reload shows the other version), it deletes.
        await settle(pilot)
        app.tree.select_ref(("connections", "scimClient", ""))
        app.tree.focus()
        await keys(pilot, "delete", "y")
        await settle(pilot)
        assert "scimClient" not in tomllib.loads((sample / "workbench.toml").read_text()).get("connections", {})
        assert app.internal_errors == []


async def test_a_data_mapper_deletes_from_the_tree(tmp_path):
    from tests.helpers import copy_sample

    root = copy_sample("bulk-onboarding", tmp_path)
    mappers = tomllib.loads((root / "workbench.toml").read_text())["datamappers"]
    name = next(iter(mappers))
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.tree.select_ref(("datamappers", name, ""))
        app.tree.focus()
        await keys(pilot, "delete")
        assert app.screen.question.startswith(f"Delete the data mapper {name}?")
        await keys(pilot, "y")
        await settle(pilot)
        assert name not in tomllib.loads((root / "workbench.toml").read_text()).get("datamappers", {})
        assert app.internal_errors == []
