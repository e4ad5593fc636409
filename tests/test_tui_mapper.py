"""The data mapper editor in the app: create a mapper with "map by name", fix one field, see the
preview follow, use it in a Create User step, and run it against the sandbox."""

from __future__ import annotations

import uuid

from tests.helpers import make_project

PROJECT = """
[integration]
name = "mapper-app"

[configurables.scimServiceUrl]
type = "string"
[configurables.scimTokenUrl]
type = "string"
[configurables.scimClientId]
type = "string"
[configurables.scimClientSecret]
type = "string"
secret = true

[connections.scimClient]
connector = "scim"
serviceUrl = "${config.scimServiceUrl}"

[connections.scimClient.auth]
type = "oauth2-client-credentials"
tokenUrl = "${config.scimTokenUrl}"
clientId = "${config.scimClientId}"
clientSecret = "${config.scimClientSecret}"

[connections.files]
connector = "file"

[entrypoints.main]
kind = "automation"

[[entrypoints.main.steps]]
call = "files.readCsv"
args = { path = "hires.csv" }
result = "hires"

[[entrypoints.main.steps]]
foreach = "${hires}"
as = "hire"
"""


def values(sb) -> dict:
    return {"scimServiceUrl": sb.service_url, "scimTokenUrl": sb.token_url, "scimClientId": sb.client_id,
            "scimClientSecret": sb.client_secret}


async def test_create_a_mapper_by_name_preview_it_and_create_a_user_with_it(tmp_path, make_sandbox):
    from textual.widgets import Input, Select, Static, Tree

    from tests.tui_helpers import keys, settle, type_text, wait_for_runs
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.screens.mapper_editor import MapperEditor
    from workbench.tui.screens.step_form import StepFormScreen

    sb = make_sandbox()
    email = f"kim.{uuid.uuid4().hex[:6]}@example.com"
    project = make_project(tmp_path / "p", PROJECT)
    (project / "hires.csv").write_text(f"email,firstName,lastName,jobTitle\n{email},Kim,Jensen,Engineer\n",
                                       encoding="utf-8")
    app = WorkbenchApp(project, env={}, memory=values(sb))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tree = app.tree
        tree.select_ref(("datamappers", "", "add"))
        await keys(pilot, "enter")  # "+ Add data mapper"
        editor = app.screen
        assert isinstance(editor, MapperEditor)
        editor.query_one("#mapper-name", Input).value = "hireToUser"
        editor.query_one("#mapper-file", Input).focus()
        await type_text(pilot, "hires.csv")
        await keys(pilot, "enter")  # the preview's record: the first row
        await keys(pilot, "ctrl+b")  # map by name
        assert editor.fields["userName"] == "${input.email}"
        assert editor.fields["name.givenName"] == "${input.firstName}"
        assert editor.fields["title"] == "${input.jobTitle}"
        preview = editor.query_one("#mapper-preview", Static)
        assert '"title": "Engineer"' in str(preview.render())

        attrs = editor.query_one("#mapper-attrs", Tree)
        node = next(n for n in attrs.root.children if n.data == "title")
        attrs.focus()
        attrs.move_cursor(node)
        await settle(pilot)
        editor.query_one("#mapper-expr", Input).focus()
        await keys(pilot, "ctrl+u")  # clear the field, then type the fix
        await type_text(pilot, "${upper(input.jobTitle)}")
        assert editor.fields["title"] == "${upper(input.jobTitle)}"
        assert '"title": "ENGINEER"' in str(preview.render())  # the preview followed the keys
        await keys(pilot, "ctrl+s")
        assert not isinstance(app.screen, MapperEditor)
        text = (project / "workbench.toml").read_text(encoding="utf-8")
        assert "[datamappers.hireToUser]" in text and "${upper(input.jobTitle)}" in text
        assert "hireToUser" in str(tree.find(("datamappers", "hireToUser", "")).label)

        app.show_item("entrypoints", "main")
        await settle(pilot)
        assert app.flow.focus_key("insert:1.steps.0")  # the `+` inside the foreach
        await settle(pilot)
        await keys(pilot, "enter")  # the step panel: scimClient → Create User
        await type_text(pilot, "create user")
        await keys(pilot, "enter")
        form = app.screen
        assert isinstance(form, StepFormScreen)
        form.query_one("#use-mapper", Select).value = "hireToUser"
        await settle(pilot)
        assert any(getattr(w, "text", "") == "${hireToUser(hire)}" for w in form.query("FieldRow"))
        await keys(pilot, "ctrl+s")
        assert not isinstance(app.screen, StepFormScreen)
        assert 'payload = "${hireToUser(hire)}"' in (project / "workbench.toml").read_text(encoding="utf-8")

        app.show_item("entrypoints", "main")
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        assert app.runs["main"].finished["status"] == "succeeded"
    assert not app.internal_errors
    from tests.test_cli_run import users_named

    [user] = users_named(sb, email)  # the run created it, mapped
    assert user["title"] == "ENGINEER" and user["name"] == {"givenName": "Kim", "familyName": "Jensen"}
    assert user["emails"] == [{"type": "work", "value": email}]


async def test_the_command_palette_opens_a_data_mapper_and_an_automation_by_name(tmp_path):
    from tests.helpers import copy_sample
    from tests.tui_helpers import keys, settle, type_text
    from workbench.tui.app import WorkbenchApp

    root = copy_sample("bulk-onboarding", tmp_path)
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for query, opened in (("data mapper hireToUser", "MapperEditor"), ("automation onboardNewHires", None)):
            await keys(pilot, "ctrl+p")
            await type_text(pilot, query)
            await settle(pilot)
            await pilot.pause(0.3)  # the palette searches in a worker
            await keys(pilot, "enter")
            await settle(pilot)
            if opened:
                assert type(app.screen).__name__ == opened
                await keys(pilot, "escape")
                await settle(pilot)
            else:
                assert app.current == ("entrypoints", "onboardNewHires") and app.flow.entry == "onboardNewHires"
        assert app.internal_errors == []


async def test_the_mapper_trees_marks_follow_the_record_and_map_by_name(tmp_path):
    """A new mapper: its record read from a file, then map by name: a target the preview maps
    without a problem carries no ✗ (the tree kept the marks of the preview before)."""
    from textual.widgets import Input, Tree

    from tests.helpers import copy_sample
    from tests.tui_helpers import keys, settle
    from workbench.tui.app import WorkbenchApp

    root = copy_sample("bulk-onboarding", tmp_path)
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_add_mapper()
        await settle(pilot)
        editor = app.screen
        box = editor.query_one("#mapper-file", Input)
        box.value = "new-hires.csv"
        box.focus()
        await keys(pilot, "enter")
        await settle(pilot)
        await pilot.pause(0.2)  # the record is read in a thread
        editor.action_map_by_name()
        await settle(pilot)
        assert "userName" in editor.canon and not editor.marks.get("userName")
        stack, labels = list(editor.query_one("#mapper-attrs", Tree).root.children), {}
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            labels[node.data] = str(node.label)
        assert all(("✗" in label) == bool(editor.marks.get(key)) for key, label in labels.items()), labels
        assert app.internal_errors == []
