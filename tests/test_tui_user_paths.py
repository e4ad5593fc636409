"""What a new user met, and must never meet again (issue 10, section 2), each by keys at 80x24."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual import events

from tests.helpers import copy_sample
from tests.tui_helpers import burst, keys, settle, type_text
from workbench.project.scaffold import scaffold
from workbench.tui.app import WorkbenchApp

SIZE = (80, 24)


@pytest.fixture
def empty(tmp_path) -> Path:
    root = tmp_path / "provisioning"
    scaffold(root, name="provisioning")
    return root


def data(root: Path) -> dict:
    return tomllib.loads((root / "workbench.toml").read_text())


def screen_name(app) -> str:
    return type(app.screen).__name__


async def new_scim_form(pilot) -> None:
    await settle(pilot)
    await keys(pilot, "c")
    await type_text(pilot, "scim")
    await keys(pilot, "enter")
    assert pilot.app.connection_form is not None and pilot.app.connection_form.is_new


# 1 --------------------------------------------------------------------------------------------
async def test_discarding_an_edited_connection_stays_open(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "up", "up", "up", "enter")  # provisionUser -> Entry Points -> + Add -> scimClient
        form = app.connection_form
        assert form is not None and form.original == "scimClient"
        await type_text(pilot, "X")
        assert form.is_dirty
        await keys(pilot, "escape")
        assert screen_name(app) == "ConfirmScreen"
        assert "Discard the unsaved changes of this form?" in str(app.screen.query_one(".dialog-text").render())
        await keys(pilot, "y")
        assert app.is_running and screen_name(app) != "ConfirmScreen"
        form = app.connection_form
        assert form is not None and form.name_row.text == "scimClient" and not form.is_dirty
        assert len(app.query("ConnectionForm")) == 1
        assert "scimClientX" not in data(sample)["connections"]
        assert app.internal_errors == []


# 2 --------------------------------------------------------------------------------------------
async def test_a_configurable_made_in_a_cancelled_form_is_not_declared(empty):
    app = WorkbenchApp(empty, env={})
    async with app.run_test(size=SIZE) as pilot:
        await new_scim_form(pilot)
        await keys(pilot, "tab", "ctrl+g")
        assert screen_name(app) == "ConfigurableScreen"
        await keys(pilot, "ctrl+s")
        assert app.connection_form.fields.row("serviceUrl").text == "${config.scimServiceUrl}"
        assert "configurables" not in data(empty) or not data(empty)["configurables"]  # not yet
        await keys(pilot, "escape")
        assert screen_name(app) == "ConfirmScreen"
        await keys(pilot, "y")
        assert app.connection_form is None
        assert not data(empty).get("configurables")  # dropped with the form: runs are not refused for it
        assert app.internal_errors == []


async def test_a_configurable_made_in_a_saved_form_is_declared(empty):
    app = WorkbenchApp(empty, env={})
    async with app.run_test(size=SIZE) as pilot:
        await new_scim_form(pilot)
        await keys(pilot, "tab", "ctrl+g", "ctrl+s")
        await keys(pilot, "tab", "enter", "down", "down", "down", "down", "enter")
        assert app.connection_form.query_one("UnionGroup").tag == "none"
        await keys(pilot, "ctrl+s")
        assert [n.message for n in app._notifications][-1] == "connection scimClient saved"
        saved = data(empty)
        assert saved["configurables"]["scimServiceUrl"]["type"] == "string"
        assert saved["connections"]["scimClient"]["serviceUrl"] == "${config.scimServiceUrl}"
        assert app.internal_errors == []


# 3 --------------------------------------------------------------------------------------------
async def test_escape_on_a_typed_new_form_asks(empty):
    app = WorkbenchApp(empty, env={})
    async with app.run_test(size=SIZE) as pilot:
        await new_scim_form(pilot)
        await keys(pilot, "end")
        await type_text(pilot, "2")
        await keys(pilot, "escape")
        assert screen_name(app) == "ConfirmScreen"
        await keys(pilot, "n")
        assert app.connection_form is not None and app.connection_form.name_row.text == "scimClient2"
        await keys(pilot, "escape", "y")
        assert app.connection_form is None
        assert app.internal_errors == []


async def test_escape_on_an_untouched_new_form_discards_it(empty):
    app = WorkbenchApp(empty, env={})
    async with app.run_test(size=SIZE) as pilot:
        await new_scim_form(pilot)
        await keys(pilot, "escape")
        assert screen_name(app) != "ConfirmScreen" and app.connection_form is None


# 4 --------------------------------------------------------------------------------------------
async def test_no_single_letter_binding_fires_from_a_form(sample):
    posted: list[str] = []
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE, message_hook=lambda m: posted.append(type(m).__name__)) as pilot:
        await new_scim_form(pilot)
        await keys(pilot, "shift+tab", "r", "a", "x", "g", "h", "q")
        assert app.runs == {} and app.is_running
        assert screen_name(app) not in ("EntryPointScreen", "RunHistoryScreen", "ConfirmScreen")
        assert "ItemDeleteRequested" not in posted
        assert app.connection_form is not None  # still the form, nothing else opened
        # Inside the form, a widget that is not a text field lets no letter through either.
        await keys(pilot, "tab", "tab")  # serviceUrl, then the auth choice
        await keys(pilot, "r", "e", "o", "p")
        assert app.runs == {} and not app.output.display
        # In a modal, over a checkbox: no app binding either.
        await keys(pilot, "ctrl+g", "tab", "tab")
        assert screen_name(app) == "ConfigurableScreen"
        await keys(pilot, "r", "a", "c")
        assert screen_name(app) == "ConfigurableScreen" and app.runs == {}
        assert app.internal_errors == []


# 5 --------------------------------------------------------------------------------------------
async def _payload_after(root: Path, send) -> dict:
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "enter")  # the flow: the first step card
        await keys(pilot, "up", "enter")  # the + before it: the step panel
        await type_text(pilot, "create user")
        await keys(pilot, "enter", "tab", "tab")  # result -> payload mode -> first key
        await send(pilot, ["n", "a", "m", "e", ".", "g", "i", "v", "e", "n", "N", "a", "m", "e", "tab",
                           "A", "d", "a", "tab", "n", "a", "m", "e", ".", "f", "a", "m", "i", "l", "y", "N",
                           "a", "m", "e", "tab", "L", "o", "v", "e", "l", "a", "c", "e"])
        await keys(pilot, "ctrl+s")
        assert app.internal_errors == []
    return data(root)["entrypoints"]["provisionUser"]["steps"][0]["args"]["payload"]


async def test_keys_in_one_burst_give_what_slow_typing_gives(tmp_path):
    slow_root = copy_sample("scim-provisioning", tmp_path / "slow")
    fast_root = copy_sample("scim-provisioning", tmp_path / "fast")

    async def slowly(pilot, presses):
        await keys(pilot, *presses)

    async def at_once(pilot, presses):
        await burst(pilot, *presses)

    slow = await _payload_after(slow_root, slowly)
    assert slow == {"name": {"givenName": "Ada", "familyName": "Lovelace"}}
    assert await _payload_after(fast_root, at_once) == slow


async def test_a_burst_that_opens_a_form_and_types_into_it_gives_what_slow_typing_gives(tmp_path):
    # The Enter's message bubbles from the flow to the App, which pushes the step form, which
    # focuses its field: the keys after it wait for all of that, not for three rounds only.
    presses = ("enter", "down", "down", "enter", "end", " ", "b", "y", "ctrl+s")
    logs = []
    for name, send in (("slow", keys), ("fast", burst)):
        root = copy_sample("scim-provisioning", tmp_path / name)
        app = WorkbenchApp(root, env={})
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await send(pilot, *presses)
            await settle(pilot)
            assert app.internal_errors == []
        logs.append(tomllib.loads((root / "workbench.toml").read_text())["entrypoints"]["provisionUser"]["steps"][1])
    assert logs[0] == {"log": "Created user ${createdUser.userName} with id ${createdUser.id} by"}
    assert logs[1] == logs[0]


async def test_enter_and_a_paste_in_one_chunk_save_the_value(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "g")
        pane = app.query_one("ConfigPane")
        assert pane.selected_name() == "scimServiceUrl"
        for event in (events.Key("enter", "\r"), events.Paste("https://idp.example.com/scim2"),
                      events.Key("enter", "\r")):
            app.post_message(event)
        await settle(pilot)
        config = tomllib.loads((sample / "Config.toml").read_text()) if (sample / "Config.toml").exists() else {}
        assert config.get("scimServiceUrl") == "https://idp.example.com/scim2"
        assert app.internal_errors == []


# 6 --------------------------------------------------------------------------------------------
async def test_a_new_automation_needs_no_typing(empty):
    app = WorkbenchApp(empty, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "a", "ctrl+s")
        await keys(pilot, "a", "ctrl+s")
        entries = data(empty)["entrypoints"]
        assert list(entries) == ["automation", "automation2"]
        assert entries["automation"]["onError"] == [{"log": "${error.message}", "level": "error"}]
        assert app.current == ("entrypoints", "automation2")
        assert app.internal_errors == []


# 8 --------------------------------------------------------------------------------------------
async def test_o_shows_and_hides_the_output_panel(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.output.display
        await keys(pilot, "o")
        assert app.output.display
        await keys(pilot, "o")
        assert not app.output.display


async def test_the_screenshot_command_saves_here_and_says_where(sample, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "ctrl+p")
        await type_text(pilot, "screenshot")
        await keys(pilot, "enter")
        for _ in range(40):
            await pilot.pause(0.05)
            if list(tmp_path.glob("*.svg")):
                break
        await settle(pilot)
        shots = list(tmp_path.glob("*.svg"))
        assert len(shots) == 1
        assert any(str(shots[0]) in n.message for n in app._notifications)


# 7 --------------------------------------------------------------------------------------------
def footer_keys(app) -> list[str]:
    footer = app.screen.query_one("Footer")
    return [" ".join(str(c.render()).split()) for c in footer.query("FooterKey")]


async def test_the_footer_shows_run_and_cancel_first_on_a_flow(sample):
    from workbench.runtime.controller import RunSession

    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "enter")
        assert type(app.focused).__name__ == "StepCard"
        assert footer_keys(app)[0] == "r Run"
        app.run_controller.runs["provisionUser"] = RunSession("provisionUser")  # a run going
        app.refresh_bindings()
        await settle(pilot)
        assert footer_keys(app)[:2] == ["r Run", "esc Cancel"]
        app.run_controller.runs.clear()


async def test_cut_lines_end_in_an_ellipsis_and_d_shows_them_whole(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.output.display = True
        app.output.write([("short", False), ("a long line " * 12 + "THE END", False)])
        await settle(pilot)
        log = app.output.log_view
        assert log.render_line(0).text.rstrip() == "short"
        assert log.render_line(1).text.endswith("…")
        log.focus()
        await keys(pilot, "d")
        assert screen_name(app) == "DetailScreen"
        assert "THE END" in str(app.screen.query_one("#detail-text").render())
        await keys(pilot, "escape")
        # Problems: one line each, cut with …; d shows the one highlighted, whole.
        await keys(pilot, "p")
        assert type(app.focused).__name__ == "OptionList"
        await keys(pilot, "d")
        assert screen_name(app) == "DetailScreen"
        assert "code: missing-value" in str(app.screen.query_one("#detail-text").render())
        assert app.internal_errors == []


async def test_a_tree_label_too_wide_ends_in_an_ellipsis_and_keeps_its_mark(sample):
    text = (sample / "workbench.toml").read_text(encoding="utf-8")
    (sample / "workbench.toml").write_text(text.replace("scimClientSecret", "scimClientSecretOfTheSandbox"),
                                           encoding="utf-8")
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        lines = [app.tree.render_line(y).text.rstrip() for y in range(app.tree.size.height)]
        [long] = [line for line in lines if "scimClientSecret" in line]
        assert long.endswith("… ✗"), long  # cut with a mark, and the missing value still marked
        assert any(line.endswith("scimTokenUrl ✗") for line in lines)  # what fits is not cut
    assert app.internal_errors == []


async def test_a_fitted_tree_with_its_root_shown_cuts_nested_labels_with_an_ellipsis():
    from textual.app import App

    from workbench.tui.widgets.fitted_tree import FittedTree

    class One(App):
        def compose(self):
            tree = FittedTree("result")  # as the step inspector's: the root shown
            tree.root.expand()
            meta = tree.root.add("meta", expand=True)
            meta.add_leaf("location: " + "http://127.0.0.1:1/scim2/Users/" + "9" * 40)
            meta.add_leaf("short")
            yield tree

    app = One()
    async with app.run_test(size=(40, 8)) as pilot:
        await pilot.pause()
        tree = app.query_one(FittedTree)
        lines = [tree.render_line(y).text.rstrip() for y in range(4)]
        assert lines[2].endswith("…") and len(lines[2]) <= 40, lines
        assert lines[3].endswith("short"), lines


async def test_the_foreach_progress_bar_stays_on_screen(tmp_path):
    root = tmp_path / "long"
    root.mkdir()
    logs = "".join(f'[[entrypoints.loop.steps]]\nlog = "step {n}"\n\n' for n in range(8))
    (root / "workbench.toml").write_text(
        '[integration]\nname = "long"\n\n[configurables.items]\ntype = "int[]"\n\n[entrypoints.loop]\n\n' + logs
        + '[[entrypoints.loop.steps]]\nforeach = "${config.items}"\nsteps = [{ log = "${item}", level = "debug" }]\n')
    app = WorkbenchApp(root, env={}, memory={"items": list(range(20000))})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "enter")
        flow = app.flow
        await keys(pilot, "r")
        for _ in range(200):
            await pilot.pause(0.02)
            if "8" in flow.progress:
                break
        await pilot.pause(0.1)
        card = next(c for c in app.query("StepCard") if c.address == "8")
        top, height = flow.scroll_offset.y, flow.scrollable_content_region.height
        assert top <= card.virtual_region.y and card.virtual_region.bottom <= top + height
        app.action_cancel_run()
        for _ in range(100):
            await pilot.pause(0.05)
            if not app.live_runs():
                break


async def test_a_user_keymap_remaps_bindings_by_id(sample, tmp_path):
    config = tmp_path / "config"
    (config / "workbench").mkdir(parents=True)
    (config / "workbench" / "keymap.toml").write_text('toggle-output = "f7"\n')
    app = WorkbenchApp(sample, env={"XDG_CONFIG_HOME": str(config)})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "o")
        assert not app.output.display
        await keys(pilot, "f7")
        assert app.output.display


async def test_the_footer_dims_the_step_keys_on_a_plus_without_recomposing(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "enter")
        footer = app.screen.query_one("Footer")
        first = list(footer.query("FooterKey"))

        def dimmed() -> list[str]:
            return [" ".join(str(k.render()).split()) for k in footer.query("FooterKey") if k.has_class("-disabled")]

        assert type(app.focused).__name__ == "StepCard" and not any("Delete" in k for k in dimmed())
        await keys(pilot, "down")  # the + after the card: no step to move or delete
        plus = app.flow.current
        assert plus.role == "insert" and "+ add step here" in str(plus.render())
        assert any("Delete" in k for k in dimmed()) and any("Up" in k for k in dimmed())
        await keys(pilot, "down")
        assert not any("Delete" in k for k in dimmed())
        assert str(plus.render()).strip() == "│ +"  # drawn from its focus
        assert list(footer.query("FooterKey")) == first  # the same widgets: dimmed, not rebuilt
