"""At the field, as you type: the Validator's verdict (check's words) next to each field."""

from __future__ import annotations

from pathlib import Path


from tests.tui_helpers import keys, settle, type_text
from workbench.tui.app import WorkbenchApp

SAMPLE = Path(__file__).resolve().parents[1] / "projects" / "scim-provisioning"


def text_of(widget) -> str:
    return str(widget.render())


async def open_create_user(pilot):
    """The Create User step's form; returns its payload editor."""
    await settle(pilot)
    await keys(pilot, "enter")
    assert pilot.app.flow.current.key == "step:0"
    await keys(pilot, "enter")
    assert type(pilot.app.screen).__name__ == "StepFormScreen"
    return pilot.app.screen.query_one("PayloadEditor")


def payload_row(editor, key: str):
    return next(row for row in editor.rows() if row.pair[0] == key)


async def retype(pilot, field, text: str) -> None:
    field.focus()
    await keys(pilot, "end", "ctrl+u")
    if text:
        await type_text(pilot, text)


async def test_emails_as_a_plain_address_is_refused_at_the_field(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        editor = await open_create_user(pilot)
        status = editor.query_one(".payload-status")
        assert "✓" in text_of(status)  # the saved payload: check says nothing
        editor.load({**editor.value(), "emails": "x"})  # not a list of tables: a row of text
        await settle(pilot)
        row = payload_row(editor, "emails")
        await retype(pilot, row.query_one(".payload-value"), "kim@example.com")
        shown = text_of(status)
        assert "emails must be a list" in shown and "✓" not in shown
        assert row.has_class("payload-row-problem")
        assert app.internal_errors == []


async def test_a_missing_user_name_is_marked_before_saving(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        editor = await open_create_user(pilot)
        row = payload_row(editor, "userName")
        await retype(pilot, row.query_one(".payload-value"), "")
        shown = text_of(editor.query_one(".payload-status"))
        assert "userName is required" in shown and "✓" not in shown
        assert row.has_class("payload-row-problem")
        assert type(app.screen).__name__ == "StepFormScreen"  # nothing saved: still editing
        assert app.internal_errors == []


async def test_a_configurable_value_is_checked_where_it_is_used(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "g")
        pane = app.query_one("ConfigPane")
        table = pane.table
        table.move_cursor(row=table.get_row_index("scimServiceUrl"))
        await keys(pilot, "enter")
        value_input = pane.query_one("#value-input")
        hint = pane.query_one("#value-hint")
        await retype(pilot, value_input, "htp:/127.0.0.1 45089/scim2")
        shown = text_of(hint)
        assert "is used as scimClient.serviceUrl, which must be an http(s) URL" in shown and "✓" not in shown
        await retype(pilot, value_input, "https://idp.example.com/scim2")
        assert "✓" in text_of(hint)
        await retype(pilot, value_input, "")
        assert "required configurable scimServiceUrl has no value" in text_of(hint)
        await keys(pilot, "enter")  # refused
        assert "not saved" in text_of(hint)
        assert "scimServiceUrl" not in (sample / "Config.toml").read_text()
        assert app.internal_errors == []


async def test_an_invalid_url_in_a_connection_field_is_shown_next_to_it(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.tree.select_ref(("connections", "scimClient", ""))
        await settle(pilot)
        await keys(pilot, "enter")
        form = app.connection_form
        row = form.fields.row("serviceUrl")
        hint = row.query_one(".field-hint")
        await retype(pilot, row.control, "htp:/127.0.0.1/scim2")
        assert hint.display and "serviceUrl must be an http(s) URL" in text_of(hint)
        await retype(pilot, row.control, "https://idp.example.com/scim2")
        assert "http(s) URL" not in text_of(hint)
        assert app.internal_errors == []


async def test_enter_on_a_step_card_with_a_problem_goes_to_its_field(sample):
    path = sample / "workbench.toml"
    text = path.read_text()
    start = text.index("emails = [")
    end = text.index("]", start) + 1
    path.write_text(text[:start] + 'emails = "kim@example.com"' + text[end:])
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "enter")
        card = app.flow.current
        assert card.key == "step:0"
        await settle(pilot)
        body = str(card.render())
        assert "emails must be a list" in body
        await keys(pilot, "enter")
        editor = app.screen.query_one("PayloadEditor")
        row = payload_row(editor, "emails")
        assert app.focused is row.query_one(".payload-value")
        assert "emails must be a list" in text_of(editor.query_one(".payload-status"))
        assert app.internal_errors == []


async def test_enter_on_a_connection_with_a_problem_goes_to_its_field(sample):
    path = sample / "workbench.toml"
    path.write_text(path.read_text().replace('serviceUrl = "${config.scimServiceUrl}"', 'serviceUrl = "htp:/x"'))
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.tree.select_ref(("connections", "scimClient", ""))
        await settle(pilot)
        await keys(pilot, "enter")
        row = app.connection_form.fields.row("serviceUrl")
        assert app.focused is row.control
        assert "serviceUrl must be an http(s) URL" in text_of(row.query_one(".field-hint"))
        assert app.internal_errors == []


async def test_delete_on_a_problem_line_deletes_nothing(sample):
    path = sample / "workbench.toml"
    path.write_text(path.read_text().replace('serviceUrl = "${config.scimServiceUrl}"', 'serviceUrl = "htp:/x"'))
    posted: list[str] = []
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24), message_hook=lambda m: posted.append(type(m).__name__)) as pilot:
        await settle(pilot)
        app.tree.select_ref(("connections", "scimClient", ""))
        app.tree.focus()
        await settle(pilot)
        await keys(pilot, "down")  # the line under it: its problem
        assert app.tree.cursor_node.data == ("connections", "scimClient", "problem")
        await keys(pilot, "x")
        assert "ItemDeleteRequested" not in posted and type(app.screen).__name__ == "Screen"
        await keys(pilot, "up", "x")  # on the item itself it asks
        assert type(app.screen).__name__ == "ConfirmScreen"
        assert app.internal_errors == []


async def test_function_keys_do_not_leave_a_value_being_typed(sample):
    """F2-F5 are the app's keys (connection, automation, configurations, run): while a value is
    typed in the Configurations pane they do nothing, so what was typed stays."""
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "g")
        pane = app.query_one("ConfigPane")
        pane.table.move_cursor(row=pane.table.get_row_index("scimServiceUrl"))
        await keys(pilot, "enter")
        value_input = pane.query_one("#value-input")
        await retype(pilot, value_input, "https://idp.example.com/scim2")
        for key in ("f4", "f2", "f3", "f5"):
            await keys(pilot, key)
            await settle(pilot)
            assert len(app.screen_stack) == 1 and app.focused is value_input, key
        assert value_input.value == "https://idp.example.com/scim2" and pane.editing == "scimServiceUrl"
        assert app.run_controller.live() == []
        assert app.internal_errors == []


async def test_a_payload_expression_check_refuses_is_no_check_mark(sample):
    """The step form asks the Validator, which says what check says of a step's expressions: an
    unterminated ${, an unknown variable, an undeclared configurable (the editor showed ✓)."""
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        editor = await open_create_user(pilot)
        row = payload_row(editor, "userName")
        for typed, said in (("${createdUser", "unterminated ${"), ("${nope.x}", "unknown variable 'nope'"),
                            ("${config.nope}", "undeclared configurable 'nope'")):
            await retype(pilot, row.query_one(".payload-value"), typed)
            await settle(pilot)
            shown = text_of(editor.query_one(".payload-status"))
            assert said in shown and "✓" not in shown, (typed, shown)
        assert app.internal_errors == []


async def test_a_foreach_form_marks_what_check_refuses_as_it_is_typed(tmp_path):
    from tests.helpers import copy_sample
    from workbench.tui.widgets.schema_form import SchemaFields

    root = copy_sample("bulk-onboarding", tmp_path)
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.show_item("entrypoints", "onboardNewHires", focus=True)
        await settle(pilot)
        card = next(node for node in app.flow.nodes if getattr(node, "kind", "") == "foreach")
        card.focus()
        await keys(pilot, "enter")
        await settle(pilot)
        fields = app.screen.query_one(SchemaFields)
        for key, typed in (("as", "hire x"), ("concurrency", "0")):
            await retype(pilot, fields.row(key).control, typed)
            await settle(pilot)
        await settle(pilot)
        assert "as must match" in text_of(fields.row("as").query_one(".field-hint"))
        assert "concurrency must be from 1 to 256" in text_of(fields.row("concurrency").query_one(".field-hint"))
        assert app.internal_errors == []
