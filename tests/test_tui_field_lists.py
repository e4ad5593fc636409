"""Issue 11 §2, the rest: the entry-point forms check as you type (check's own rules), the payload
editor edits a multi-valued attribute as a list of sub-forms and marks a missing required field,
and a tree item shows its diagnostic's first line, Enter on it going to the field."""

from __future__ import annotations

import tomllib

from tests.test_tui_field_checks import open_create_user, payload_row, retype, text_of
from tests.tui_helpers import keys, settle, type_text
from workbench.project import ProjectStore
from workbench.project.diagnostics import check
from workbench.tui.app import WorkbenchApp

SIZE = (80, 24)


def hint_of(widget) -> str:
    hint = widget.parent.query_one(".field-hint")
    return text_of(hint) if hint.display else ""


def bad_cron(sample) -> None:
    path = sample / "workbench.toml"
    path.write_text(path.read_text().replace('schedule = "0 9 * * 1-5"', 'schedule = "0 25 * * 1-5"'))


async def enter_on_problem(pilot, words: str) -> None:
    """The problem line under provisionUser in the tree says `words`; Enter on it."""
    ref = ("entrypoints", "provisionUser", "problem")
    line = pilot.app.tree.find(ref)
    assert line is not None and words in str(line.label)
    pilot.app.tree.focus()
    pilot.app.tree.select_ref(ref, quiet=True)
    await keys(pilot, "enter")


async def test_a_bad_cron_in_the_entry_point_form_is_shown_at_the_field(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "a")
        assert type(app.screen).__name__ == "EntryPointScreen"
        schedule = app.screen.query_one("#ep-schedule")
        await retype(pilot, schedule, "0 25 * * *")
        shown = hint_of(schedule)
        assert "'0 25 * * *' is not a valid 5-field cron expression" in shown and "✓" not in shown
        await retype(pilot, schedule, "0 9 * * 1-5")
        assert "✓" in hint_of(schedule)
        timezone = app.screen.query_one("#ep-timezone")
        await retype(pilot, timezone, "Mars/Olympus")
        assert "unknown timezone 'Mars/Olympus'" in hint_of(timezone) and "✓" not in hint_of(timezone)
        await keys(pilot, "ctrl+s")  # check would refuse it: not saved, the focus at the field
        assert type(app.screen).__name__ == "EntryPointScreen" and app.focused is timezone
        assert "automation =" not in (sample / "workbench.toml").read_text()
        assert app.internal_errors == []


async def test_a_service_path_and_name_say_what_check_says(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "a", "ctrl+n")
        screen = app.screen
        assert type(screen).__name__ == "ServiceScreen"
        name, path = screen.query_one("#svc-name"), screen.query_one("#svc-path")
        await retype(pilot, name, "provisionUser")  # taken by the automation
        assert "entry point 'provisionUser' already exists" in hint_of(name)
        await retype(pilot, path, "/hires/{id}/{id}")
        assert "names the parameter {id} twice" in hint_of(path) and "✓" not in hint_of(path)
        await retype(pilot, path, "/hires")
        assert "✓" in hint_of(path)
        assert app.internal_errors == []


async def test_emails_as_two_sub_forms_saves_a_list_that_check_accepts(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_create_user(pilot)
        emails = editor.query_one("ListAttribute")
        assert [e.value("e") for e in emails.elements()] == [
            {"value": "${config.newUserName}", "type": "work", "primary": True}]
        emails.elements()[0].fields()[0].query_one("Input").focus()
        await keys(pilot, "ctrl+o")  # another element, the focus in its first field
        second = emails.elements()[1]
        assert app.focused is second.fields()[0].query_one("Input")
        await type_text(pilot, "kim.home@example.com")
        for name, text in (("type", "home"), ("primary", "false")):
            field = next(f for f in second.fields() if f.attr.name == name)
            await retype(pilot, field.query_one("Input"), text)
        assert "✓" in text_of(editor.query_one(".payload-status"))
        await keys(pilot, "ctrl+s")
        assert type(app.screen).__name__ != "StepFormScreen"
        data = tomllib.loads((sample / "workbench.toml").read_text())
        payload = data["entrypoints"]["provisionUser"]["steps"][0]["args"]["payload"]
        assert payload["emails"] == [{"value": "${config.newUserName}", "type": "work", "primary": True},
                                     {"value": "kim.home@example.com", "type": "home", "primary": False}]
        assert app.internal_errors == []
    found = check(ProjectStore.open(sample), env={})
    assert [d for d in found if d.key.startswith("entrypoints")] == []


async def test_a_bad_element_field_is_marked_and_remove_takes_the_element_out(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_create_user(pilot)
        emails = editor.query_one("ListAttribute")
        value = emails.elements()[0].fields()[0]
        await retype(pilot, value.query_one("Input"), "kim-at-example")
        assert "value is not a valid email address" in text_of(editor.query_one(".payload-status"))
        assert value.has_class("sub-field-problem")
        emails.elements()[0].query_one(".remove-element").press()
        await settle(pilot)
        assert emails.elements() == [] and "emails" not in editor.value()
        assert "✓" in text_of(editor.query_one(".payload-status"))
        assert app.internal_errors == []


async def test_a_missing_required_attribute_has_its_row_marked_before_saving(sample):
    path = sample / "workbench.toml"
    path.write_text(path.read_text().replace('userName = "${config.newUserName}"\n', ""))
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_create_user(pilot)
        row = payload_row(editor, "userName")  # the payload lacks it: its row, to fill in
        assert row.pair[1] == "" and row.has_class("payload-row-problem")
        assert "userName is required" in text_of(editor.query_one(".payload-status"))
        await retype(pilot, row.query_one(".payload-value"), "kim")
        assert not row.has_class("payload-row-problem")
        assert "✓" in text_of(editor.query_one(".payload-status"))
        assert app.internal_errors == []


async def test_a_tree_item_shows_its_problem_and_enter_goes_to_the_field(sample):
    bad_cron(sample)
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await enter_on_problem(pilot, "✗ schedule '0 25 * * 1-5' is not a valid")
        screen = app.screen
        assert type(screen).__name__ == "EntryPointScreen"
        schedule = screen.query_one("#ep-schedule")
        assert app.focused is schedule
        assert "is not a valid 5-field cron expression" in hint_of(schedule)
        assert app.internal_errors == []


async def test_a_step_problem_under_its_entry_point_opens_the_step_at_the_field(sample):
    path = sample / "workbench.toml"
    text = path.read_text()
    start = text.index("emails = [")
    path.write_text(text[:start] + 'emails = "kim@example.com"' + text[text.index("]", start) + 1:])
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await enter_on_problem(pilot, "emails must be a list")
        assert type(app.screen).__name__ == "StepFormScreen"
        editor = app.screen.query_one("PayloadEditor")
        assert app.focused is payload_row(editor, "emails").query_one(".payload-value")
        assert app.internal_errors == []


def test_the_forms_check_is_checks_own(sample):
    """One rule, one wording: what the entry-point form shows is what `check` reports."""
    from workbench.project.entry_checks import entry_problems

    bad_cron(sample)
    said = [d.message for d in check(ProjectStore.open(sample), env={}) if d.code == "bad-cron"]
    typed = entry_problems("provisionUser", {"schedule": "0 25 * * 1-5"}, original="provisionUser")
    assert said and [m for code, m, _, _ in typed if code == "bad-cron"] == said
