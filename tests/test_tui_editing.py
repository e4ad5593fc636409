"""Editing, moving and deleting steps; external edits; errors shown, never a crash."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path


from workbench.tui.app import WorkbenchApp
from tests.tui_helpers import keys, settle, type_text

SAMPLE = Path(__file__).resolve().parents[1] / "projects" / "scim-provisioning"


def steps_of(root: Path, entry: str = "provisionUser", part: str = "steps") -> list[dict]:
    return tomllib.loads((root / "workbench.toml").read_text())["entrypoints"][entry].get(part, [])


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def open_flow(pilot) -> None:
    """From the start (tree on provisionUser): enter focuses the first step card."""
    await settle(pilot)
    await keys(pilot, "enter")
    assert pilot.app.flow.current.key == "step:0"


async def test_edit_a_step_keeps_the_rest_of_the_file(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await open_flow(pilot)
        await keys(pilot, "down", "down")  # + then the log card
        assert app.flow.current.key == "step:1"
        await keys(pilot, "enter")
        assert type(app.screen).__name__ == "StepFormScreen"
        await keys(pilot, "end", "ctrl+u")
        await type_text(pilot, "Hello ${createdUser.id}")
        await keys(pilot, "ctrl+s")
        assert steps_of(sample)[1] == {"log": "Hello ${createdUser.id}"}
        text = (sample / "workbench.toml").read_text()
        assert text.startswith("# The reference scenario")  # comments survive
        assert app.flow.current.key == "step:1"
        assert app.internal_errors == []


async def test_edit_the_call_step_payload_in_the_toml_editor(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await open_flow(pilot)
        await keys(pilot, "enter", "tab", "tab", "ctrl+t")  # result, payload mode, first key; TOML
        editor = app.screen.query_one("PayloadEditor")
        assert editor.mode == "toml"
        area = editor.query_one("TextArea")
        assert app.focused is area
        await keys(pilot, *["down"] * 12, "end", "enter")
        await type_text(pilot, 'title = "Engineer"')
        status = str(editor.query_one(".payload-status").render())
        assert "unknown field 'payload.name.title'" in status  # it parses; check's verdict: name has no title
        await type_text(pilot, " = broken")
        assert "✗" in str(editor.query_one(".payload-status").render())
        await keys(pilot, "ctrl+s")  # refused: the payload does not parse
        assert type(app.screen).__name__ == "StepFormScreen"
        await keys(pilot, *["backspace"] * len(" = broken"))
        await keys(pilot, "ctrl+s")
        payload = steps_of(sample)[0]["args"]["payload"]
        assert payload["name"] == {"givenName": "Kim", "familyName": "Jensen", "title": "Engineer"}
        assert payload["emails"][0]["value"] == "${config.newUserName}"
        assert app.internal_errors == []


async def test_move_a_step_up_and_down(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await open_flow(pilot)
        await keys(pilot, "down", "down", "shift+up")
        assert [next(iter(s)) for s in steps_of(sample)] == ["log", "call"]
        assert app.flow.current.key == "step:0"
        await keys(pilot, "J")  # the letter alternative of shift+down
        assert [next(iter(s)) for s in steps_of(sample)] == ["call", "log"]
        assert app.flow.current.key == "step:1"
        await keys(pilot, "shift+down")  # already at the bottom: refused, not a crash
        assert any("bottom" in n for n in notes(app))
        assert app.internal_errors == []


async def test_delete_a_step_after_confirmation(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await open_flow(pilot)
        await keys(pilot, "down", "down", "delete")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await keys(pilot, "n")
        assert len(steps_of(sample)) == 2
        await keys(pilot, "delete", "y")
        assert [next(iter(s)) for s in steps_of(sample)] == ["call"]
        assert steps_of(sample, part="onError")  # the error handler is untouched
        assert app.internal_errors == []


async def test_insert_a_log_step_in_the_error_handler(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await open_flow(pilot)
        nodes = app.flow.nodes
        target = next(n for n in nodes if n.key == "insert:onError.1")
        target.focus()
        await keys(pilot, "enter")
        await type_text(pilot, "log")
        await keys(pilot, "enter")
        await type_text(pilot, "Giving up")
        await keys(pilot, "ctrl+s")
        assert steps_of(sample, part="onError")[1] == {"log": "Giving up"}


async def test_external_edit_is_reloaded(sample):
    app = WorkbenchApp(sample, env={}, poll_seconds=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        path = sample / "workbench.toml"
        path.write_text(path.read_text() + '\n[connections.files]\nconnector = "file"\n')
        for _ in range(30):
            await asyncio.sleep(0.05)
            await settle(pilot, 1)
            if app.tree.find(("connections", "files", "")):
                break
        assert app.tree.find(("connections", "files", "")) is not None
        assert "files" in app.store.project.connections


async def test_external_edit_with_an_unsaved_form_warns_and_keeps_both(sample):
    app = WorkbenchApp(sample, env={}, poll_seconds=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.tree.select_ref(("connections", "scimClient", ""))
        await settle(pilot)
        await keys(pilot, "enter")  # open the form of scimClient
        form = app.connection_form
        row = form.fields.row("timeout")
        row.control.focus()
        await type_text(pilot, "12")
        assert form.is_dirty
        path = sample / "workbench.toml"
        path.write_text(path.read_text().replace('description = "Create the new user every weekday morning"',
                                                 'description = "Edited by hand"'))
        for _ in range(10):
            await asyncio.sleep(0.05)
            await settle(pilot, 1)
        assert any("changed on disk" in n for n in notes(app))
        assert app.connection_form is form and row.text == "12"
        await keys(pilot, "ctrl+s")
        data = tomllib.loads(path.read_text())
        assert data["connections"]["scimClient"]["timeout"] == 12
        assert data["entrypoints"]["provisionUser"]["description"] == "Edited by hand"


async def test_bad_value_is_refused_with_a_clear_message(sample):
    app = WorkbenchApp(sample, env={"WB_VAR_SCIMCLIENTID": "from-env"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.store.add_configurable("pageSize", "int")
        app.refresh_views()
        await keys(pilot, "g")
        pane = app.query_one("ConfigPane")
        # a value from the environment is read-only
        pane.table.move_cursor(row=pane.table.get_row_index("scimClientId"))
        await keys(pilot, "enter")
        assert "read-only" in str(pane.query_one("#value-hint").render())
        assert not pane.query_one("#value-input").display
        await keys(pilot, "escape")
        pane.table.move_cursor(row=pane.table.get_row_index("pageSize"))
        await keys(pilot, "enter")
        await type_text(pilot, "ten")
        assert "expected an int" in str(pane.query_one("#value-hint").render())
        await keys(pilot, "enter")
        assert any("expected an int" in n for n in notes(app))
        assert "pageSize" not in (sample / "Config.toml").read_text()
        await keys(pilot, *["backspace"] * 3)
        await type_text(pilot, "10")
        await keys(pilot, "enter")
        assert tomllib.loads((sample / "Config.toml").read_text())["pageSize"] == 10
        assert app.internal_errors == []


async def test_a_broken_file_does_not_crash_the_app(sample):
    path = sample / "workbench.toml"
    path.write_text(path.read_text() + "\n[connections.broken\n")
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.issues.diagnostics and app.issues.diagnostics[0].code == "toml-syntax"
        await keys(pilot, "a")
        await type_text(pilot, "another")
        await keys(pilot, "ctrl+s")
        assert any("not overwritten" in n for n in notes(app))
        assert path.read_text().endswith("[connections.broken\n")
        assert app.internal_errors == []


async def test_diagnostics_show_on_cards_tree_and_problems(sample):
    path = sample / "workbench.toml"
    path.write_text(path.read_text().replace("${createdUser.id}", "${createdUsr.id}"))
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        card = next(c for c in app.query("StepCard") if c.address == "1")
        assert card.has_class("-error") and "createdUsr" in str(card.render())
        entry_label = app.tree.find(("entrypoints", "provisionUser", "")).label
        assert "✗" in str(entry_label)
        await keys(pilot, "p")
        problems = app.problems
        assert problems.expanded and app.focused is problems.query_one("OptionList")
        index = next(i for i, d in enumerate(problems.diagnostics) if d.code == "unknown-variable")
        problems.query_one("OptionList").highlighted = index
        await keys(pilot, "enter")
        assert app.flow.current is not None and app.flow.current.key == "step:1"


async def test_no_project_offers_to_create_one(tmp_path):
    root = tmp_path / "fresh"
    app = WorkbenchApp(root, env={}, shown_path="fresh")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "CreateProjectScreen"
        await keys(pilot, "ctrl+s")
        assert (root / "workbench.toml").is_file()
        assert app.store is not None and app.store.name == "fresh"


async def test_command_palette_has_the_app_commands(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "ctrl+p")
        await type_text(pilot, "add entry")
        await asyncio.sleep(0.3)
        await keys(pilot, "enter")
        assert type(app.screen).__name__ == "EntryPointScreen"
        await keys(pilot, "escape")
        called = []
        app.start_run = called.append  # the part 2 hook
        await keys(pilot, "ctrl+p")
        await type_text(pilot, "run automation")
        await asyncio.sleep(0.3)
        await keys(pilot, "enter")
        assert called == ["provisionUser"]


async def test_rename_and_reschedule_an_automation_from_its_start_node(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await open_flow(pilot)
        await keys(pilot, "up", "up", "enter")  # the Start node
        assert type(app.screen).__name__ == "EntryPointScreen"
        await keys(pilot, "end")
        await type_text(pilot, "Daily")
        await keys(pilot, "tab", "end", *["backspace"] * 3)
        await type_text(pilot, "*")  # 0 9 * * *
        await keys(pilot, "ctrl+s")
        entries = tomllib.loads((sample / "workbench.toml").read_text())["entrypoints"]
        assert list(entries) == ["provisionUserDaily"]
        assert entries["provisionUserDaily"]["schedule"] == "0 9 * * *"
        assert app.current == ("entrypoints", "provisionUserDaily")
        assert app.internal_errors == []


async def test_delete_a_connection_from_the_tree(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.tree.select_ref(("connections", "scimClient", ""), quiet=True)
        await keys(pilot, "delete")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await keys(pilot, "y")
        data = tomllib.loads((sample / "workbench.toml").read_text())
        assert "connections" not in data or not data["connections"]
        assert any(d.code == "unknown-connection" for d in app.issues.diagnostics)  # the call step now dangles


async def test_mouse_click_on_a_plus_opens_the_step_panel(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        plus = next(n for n in app.flow.nodes if n.key == "insert:1")
        await pilot.click(plus)
        await settle(pilot)
        assert type(app.screen).__name__ == "StepPanel"


async def test_flow_shows_run_statuses_by_address(sample):
    """The seam for part 2: statuses keyed by step address survive a rebuild of the flow."""
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.flow.set_status("0", "ok", 120.0)
        app.flow.set_status("onError.0", "failed")
        await settle(pilot)
        card = next(c for c in app.query("StepCard") if c.address == "0")
        assert card.has_class("-status-ok") and card.border_subtitle == "✓ ok 120 ms"
        app.store.add_step("provisionUser", {"log": "first"}, at="0")
        app.refresh_views()
        await settle(pilot)
        card = next(c for c in app.query("StepCard") if c.address == "onError.0")
        assert card.has_class("-status-failed")
        app.flow.clear_statuses()
        assert not card.has_class("-status-failed")
        assert app.query_one("#output-panel").display is False


async def test_quit_asks_when_a_form_is_unsaved(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "c")
        await type_text(pilot, "http")
        await keys(pilot, "enter", "end")  # a new connection form, edited and not saved
        await type_text(pilot, "2")
        await keys(pilot, "ctrl+q")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await keys(pilot, "n")
        assert app.is_running and app.connection_form is not None


async def test_every_connection_and_operation_form_opens(sample):
    """Forms are generated from each connector's schemas: all of them compose and give a model."""
    from workbench.connectors import catalogue
    from workbench.tui.screens.step_form import StepFormScreen
    from workbench.tui.widgets.schema_form import FormError

    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for spec in catalogue.all_specs():
            app.new_connection(spec)
            await settle(pilot)
            for _ in range(50):  # bounded: the form's rows compose after it mounts
                if app.connection_form.query(".field-input"):
                    break
                await pilot.pause(0.02)
            assert app.connection_form.spec is spec
            try:
                app.connection_form.to_model()
            except FormError as exc:
                assert all("required" in p for p in exc.problems)
            app.discard_connection_form(app.connection_form)
            await settle(pilot)
            for op in spec.operations.values():
                screen = StepFormScreen("provisionUser", "0", "call", call=f"c.{op.name}", op=op)
                app.push_screen(screen)
                await settle(pilot, 2)
                try:
                    step = screen.to_model()
                    assert step["call"] == f"c.{op.name}"
                except FormError as exc:
                    assert all("required" in p for p in exc.problems), exc.problems
                app.pop_screen()
                await settle(pilot, 2)
        assert app.internal_errors == []


async def test_a_value_from_the_secrets_file_is_edited_where_it_lives(sample, tmp_path):
    secrets = sample / "Config-secrets.toml"
    secrets.write_text('scimClientSecret = "from-the-secrets-file"\n')
    secrets.chmod(0o600)
    value_file = tmp_path / "client-id"
    value_file.write_text("id-from-a-file\n")
    app = WorkbenchApp(sample, env={"WB_VAR_SCIMCLIENTID_FILE": str(value_file)})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await keys(pilot, "g")
        pane = app.query_one("ConfigPane")
        table = pane.table
        rows = {str(key.value): [str(c) for c in table.get_row(key)] for key in table.rows}
        assert rows["scimClientSecret"][1:3] == ["••••", "secrets file"] and rows["scimClientId"][2] == "file"
        table.move_cursor(row=table.get_row_index("scimClientId"))
        await keys(pilot, "enter")
        assert "_FILE names: read-only" in str(pane.query_one("#value-hint").render())
        await keys(pilot, "escape")
        table.move_cursor(row=table.get_row_index("scimClientSecret"))
        await keys(pilot, "enter")
        assert "saves to Config-secrets.toml" in str(pane.query_one("#value-hint").render())
        value_input = pane.query_one("#value-input")
        assert value_input.password and value_input.value == "from-the-secrets-file"
        value_input.value = "a-new-secret-value"
        await keys(pilot, "enter")
        assert any("saved to Config-secrets.toml" in n for n in notes(app))
    assert "a-new-secret-value" in secrets.read_text()
    assert "scimClientSecret" not in (sample / "Config.toml").read_text()
    assert app.internal_errors == []


async def test_a_sync_step_shows_as_one_and_its_form_saves_what_changed(tmp_path):
    """hr-sync's sync step: its card names the connection and what it syncs; its form opened
    (it raised KeyError: the form knew no sync fields) and saved untouched leaves the file as
    it was; a changed scope is written, the other keys kept."""
    from tests.helpers import copy_sample
    from workbench.tui.widgets.schema_form import SchemaFields

    root = copy_sample("hr-sync", tmp_path)
    path = root / "workbench.toml"
    before = path.read_text()
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.show_item("entrypoints", "nightlySync", focus=True)
        await settle(pilot)
        app.flow.focus_step("1")
        await settle(pilot)
        card = app.flow.current
        assert "scimClient · Sync users" in str(card.render()) and "not a step" not in str(card.render())
        for scope in (None, "externalId pr and active eq true"):
            await keys(pilot, "enter")
            await settle(pilot)
            assert type(app.screen).__name__ == "StepFormScreen"
            if scope:
                app.screen.query_one(SchemaFields).row("scope").control.value = scope
                await settle(pilot)
            await keys(pilot, "ctrl+s")
            await settle(pilot)
            assert type(app.screen).__name__ != "StepFormScreen", [n.message for n in app._notifications]
            if scope is None:
                assert path.read_text() == before
        step = tomllib.loads(path.read_text())["entrypoints"]["nightlySync"]["steps"][1]
        assert step["scope"] == "externalId pr and active eq true" and step["maxChanges"] == "${config.maxChanges}"
        assert step["concurrency"] == 4 and step["desired"] == "${map(rows, rowToUser)}"
        assert app.internal_errors == []
