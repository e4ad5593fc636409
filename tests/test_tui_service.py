"""Service entry points in the app: the tree lists their routes, the flow starts with a Request,
Add Entry Point makes one, step fields offer `${request...}`, and Try it sends the sample to the
service served in-process on 127.0.0.1 (the sandbox as the IdP)."""

from __future__ import annotations

import socket
import tomllib
import uuid

import pytest

from tests.helpers import copy_sample, hr_webhook_values
from tests.tui_helpers import keys, settle, type_text
from workbench.runtime.history import list_runs
from workbench.tui.app import WorkbenchApp

pytest.importorskip("uvicorn")
SIZE = (80, 24)
TOKEN = "try-it-token-3b9f"


@pytest.fixture
def hr_webhook(tmp_path):
    """A copy of projects/hr-webhook whose sample hire has a userName no other test uses."""
    root = copy_sample("hr-webhook", tmp_path)
    path = root / "workbench.toml"
    email = f"kim.{uuid.uuid4().hex[:8]}@example.com"
    path.write_text(path.read_text().replace("kim.jensen@example.com", email))
    return root, email


async def wait_for(pilot, condition, timeout: float = 20.0) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not come true in time")
        await asyncio.sleep(0.05)
    await settle(pilot)


def serving(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


async def test_try_it_sends_the_sample_then_gets_409(hr_webhook, sandbox):
    root, email = hr_webhook
    app = WorkbenchApp(root, env={}, memory=hr_webhook_values(sandbox, TOKEN), memory_source="demo")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.current == ("entrypoints", "newHire")
        await keys(pilot, "t")
        screen = app.screen
        assert type(screen).__name__ == "TryItScreen"
        assert email in screen.query_one("#try-body").text  # prefilled from the entry point's sample
        await wait_for(pilot, lambda: screen.local is not None)
        url = screen.local.url
        assert url.startswith("http://127.0.0.1:") and serving(url)

        await keys(pilot, "ctrl+s")
        await wait_for(pilot, lambda: len(screen.answers) == 1)
        created = screen.answers[0]
        assert created.status == 201, created.body
        assert '"id"' in created.body and email in created.body
        shown = str(screen.query_one("#try-response").render())
        assert "201" in shown and "x-workbench-run" in shown
        await wait_for(pilot, lambda: any("succeeded" in line for line in screen.output_lines))
        assert any(f"Created user {email}" in line for line in screen.output_lines)

        await keys(pilot, "ctrl+s")
        await wait_for(pilot, lambda: len(screen.answers) == 2)
        again = screen.answers[1]
        assert again.status == 409 and "uniqueness" in again.body
        assert TOKEN not in "".join(screen.output_lines) + str(screen.query_one("#try-response").render())

        await keys(pilot, "escape")
        await wait_for(pilot, lambda: not serving(url))  # stopped when the panel closed
        assert type(app.screen).__name__ != "TryItScreen"
        files = list((root / ".workbench" / "runs").glob("*.jsonl"))  # one-file runs and segments
        assert [r.trigger for r in list_runs(root)] == ["POST /hires"] * 2
        assert all(TOKEN not in p.read_text() for p in files)
        assert app.internal_errors == []


async def test_try_it_says_why_a_service_cannot_serve(hr_webhook):
    root, _ = hr_webhook
    app = WorkbenchApp(root, env={})  # no values: hookToken and the IdP's are missing
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "t")
        screen = app.screen
        await wait_for(pilot, lambda: "cannot serve" in str(screen.query_one("#try-title").render()))
        assert "hookToken" in str(screen.query_one("#try-response").render()) or "value" in str(
            screen.query_one("#try-response").render())
        await keys(pilot, "ctrl+s")
        assert screen.answers == []
        assert app.internal_errors == []


async def test_the_tree_lists_services_with_their_route_and_the_flow_starts_with_a_request(hr_webhook):
    root, _ = hr_webhook
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        label = str(app.tree.find(("entrypoints", "newHire", "")).label)
        assert "newHire" in label and "POST /hires" in label
        start = app.flow.query_one("StartNode")
        text = str(start.render())
        assert "Request" in text and "POST /hires" in text and "bearer" in text
        assert "on demand" not in text
        assert app.check_action("try_it", ()) is True


async def test_try_it_is_not_offered_for_an_automation(sample):
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.current[0] == "entrypoints"
        assert not app.check_action("try_it", ())
        await keys(pilot, "t")
        assert len(app.screen_stack) == 1


async def test_add_entry_point_service(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "workbench.toml").write_text('# the integration\n[integration]\nname = "p"  # kept\n')
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "a")
        await type_text(pilot, "newHire")  # over the default name
        await keys(pilot, "ctrl+n")  # Kind: a service instead, with the name typed so far
        assert type(app.screen).__name__ == "ServiceScreen"
        path = app.screen.query_one("#svc-path")
        path.value = "/hires/{id}"
        await settle(pilot)
        await keys(pilot, "ctrl+s")
        text = (root / "workbench.toml").read_text()
        data = tomllib.loads(text)
        entry = data["entrypoints"]["newHire"]
        assert entry["kind"] == "service" and entry["method"] == "POST" and entry["path"] == "/hires/{id}"
        assert entry["auth"] == {"type": "bearer", "token": "${config.hookToken}"}
        assert data["configurables"]["hookToken"]["secret"] is True  # declared with it
        assert "# the integration" in text and "# kept" in text  # comments survive
        assert app.current == ("entrypoints", "newHire")
        assert "POST /hires/{id}" in str(app.tree.find(("entrypoints", "newHire", "")).label)
        assert app.internal_errors == []


async def test_a_bad_path_is_refused_in_the_service_form(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "workbench.toml").write_text('[integration]\nname = "p"\n')
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await keys(pilot, "a", "ctrl+n")
        app.screen.query_one("#svc-path").value = "hires"
        await settle(pilot)
        await keys(pilot, "ctrl+s")
        assert type(app.screen).__name__ == "ServiceScreen"  # not saved
        assert "must start with /" in str(app.screen.query_one("#svc-path").parent.query_one(".field-hint").render())
        assert "entrypoints" not in tomllib.loads((root / "workbench.toml").read_text())


async def test_step_fields_of_a_service_offer_request_paths(hr_webhook):
    root, _ = hr_webhook
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.flow.focus_step("2")  # the log step
        await settle(pilot)
        await keys(pilot, "enter")
        screen = app.screen
        assert "${request.body.email}" in screen.expression_paths
        field = screen.query_one(".field-input")
        suggestions = field.suggester._suggestions  # what the Input completes from
        assert "${request.body.givenName}" in suggestions and "${config.hookToken}" in suggestions


def test_request_paths_come_from_the_route_and_the_sample():
    from workbench.tui.expression_paths import request_paths

    entry = {"kind": "service", "path": "/hires/{id}", "sample": {"email": "x", "name": {"given": "y"}},
             "auth": {"type": "hmac", "secret": "${config.s}"}}
    paths = request_paths(entry)
    assert {"${request.body.email}", "${request.body.name.given}", "${request.params.id}",
            "${request.headers.x-hub-signature-256}"} <= set(paths)
    assert request_paths({"kind": "automation"}) == ()


async def open_service_form(pilot):
    """Enter on the flow's request node: the service's form."""
    await settle(pilot)
    pilot.app.flow.focus_key("start:start")
    await keys(pilot, "enter")
    assert type(pilot.app.screen).__name__ == "ServiceScreen"
    return pilot.app.screen


async def test_enter_on_the_request_node_edits_the_service(hr_webhook):
    root, _ = hr_webhook
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_service_form(pilot)
        assert screen.query_one("#svc-path").value == "/hires"
        screen.query_one("#svc-path").value = "/hires/{id}"
        await settle(pilot)
        await keys(pilot, "ctrl+s")
        text = (root / "workbench.toml").read_text()
        entry = tomllib.loads(text)["entrypoints"]["newHire"]
        assert entry["path"] == "/hires/{id}" and entry["auth"]["token"] == "${config.hookToken}"
        assert entry["sample"]["givenName"] == "Kim"  # what the form does not show stays
        assert "# The Error Handler" in text
        assert app.internal_errors == []


async def save_description(pilot, description: str) -> dict:
    """Type a description into the open service form and save it: the saved newHire table."""
    pilot.app.screen.query_one("#svc-description").value = description
    await settle(pilot)
    await keys(pilot, "ctrl+s")
    await settle(pilot)
    assert type(pilot.app.screen).__name__ != "ServiceScreen", [n.message for n in pilot.app._notifications]
    return tomllib.loads((pilot.app.root / "workbench.toml").read_text())["entrypoints"]["newHire"]


async def test_a_service_form_left_at_its_default_method_merges_with_another_windows_method(hr_webhook):
    """The file has no `method` (POST); the form shows POST. Another window sets PUT, this one
    changes the description: the untouched method is no change of this form's, so it merges."""
    from workbench.project.session import ProjectSession

    root, _ = hr_webhook
    project = root / "workbench.toml"
    project.write_text(project.read_text().replace('method = "POST"\n', "", 1))
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_service_form(pilot)
        assert str(screen.query_one("#svc-method").value) == "POST"
        other = ProjectSession(root, env={})
        other.load()
        other.edit(lambda store: store.update_entrypoint("newHire", method="PUT"))
        entry = await save_description(pilot, "from this window")
        assert entry["method"] == "PUT" and entry["description"] == "from this window"
        assert app.internal_errors == []


async def test_a_service_form_writes_what_it_showed_in_place_of_a_bad_value(hr_webhook):
    """An unknown method shows as POST, an empty path as /newHire: saved untouched, the form
    writes what it showed, not the file's value it did not show."""
    root, _ = hr_webhook
    project = root / "workbench.toml"
    text = project.read_text().replace('method = "POST"', 'method = "FETCH"', 1).replace('path = "/hires"', 'path = ""', 1)
    project.write_text(text)
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_service_form(pilot)
        assert str(screen.query_one("#svc-method").value) == "POST"
        assert screen.query_one("#svc-path").value == "/newHire"
        entry = await save_description(pilot, "edited")
        assert (entry["method"], entry["path"], entry["description"]) == ("POST", "/newHire", "edited")
        assert app.internal_errors == []
