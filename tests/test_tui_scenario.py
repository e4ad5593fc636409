"""The reference scenario, steps 1-7, by keys only at 80x24, on an empty project."""

from __future__ import annotations

import stat
import tomllib

import pytest

from workbench.project.scaffold import scaffold
from workbench.tui.app import WorkbenchApp
from tests.tui_helpers import keys, settle, type_text


def read_toml(path):
    return tomllib.loads(path.read_text())


@pytest.fixture
def empty_project(tmp_path):
    root = tmp_path / "provisioning"
    scaffold(root, name="provisioning")
    return root


async def test_reference_scenario_by_keys(empty_project):
    root = empty_project
    app = WorkbenchApp(root, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.store is not None and app.search_index is not None

        # 1-2. + Add Connection opens the palette; `scim` ranks the SCIM card first.
        await keys(pilot, "c")
        palette = app.screen
        assert type(palette).__name__ == "ConnectorPalette"
        await type_text(pilot, "scim")
        assert palette.hits[0].id == "scim"
        await keys(pilot, "enter")
        form = app.connection_form
        assert form is not None and form.is_new and app.current == ("connections", "<new>")

        # 3. The form: name, serviceUrl bound to a new configurable, OAuth2, a secret configurable.
        assert form.name_row.text == "scimClient"
        await keys(pilot, "tab", "ctrl+g")
        assert type(app.screen).__name__ == "ConfigurableScreen"
        await keys(pilot, "ctrl+s")
        assert form.fields.row("serviceUrl").text == "${config.scimServiceUrl}"
        await keys(pilot, "tab", "enter", "up", "up", "up", "enter")
        assert form.query_one("UnionGroup").tag == "oauth2-client-credentials"
        await keys(pilot, "tab")
        await type_text(pilot, "https://idp.example.com/oauth2/token")
        await keys(pilot, "tab")
        await type_text(pilot, "provisioner")
        await keys(pilot, "tab", "ctrl+g")
        screen = app.screen
        assert screen.query_one("#cfg-name").value == "scimClientSecret"
        assert screen.query_one("#cfg-secret").value is True
        await keys(pilot, "ctrl+s")
        assert form.fields.row("auth.clientSecret").text == "${config.scimClientSecret}"
        hint = form.fields.row("auth.clientSecret").query_one(".field-hint")
        assert "scimClientSecret" in str(hint.render())

        # 4. Save Connection writes workbench.toml; the connection appears under Connections.
        await keys(pilot, "ctrl+s")
        data = read_toml(root / "workbench.toml")
        connection = data["connections"]["scimClient"]
        assert connection["connector"] == "scim"
        assert connection["serviceUrl"] == "${config.scimServiceUrl}"
        assert connection["auth"] == {
            "type": "oauth2-client-credentials",
            "tokenUrl": "https://idp.example.com/oauth2/token",
            "clientId": "provisioner",
            "clientSecret": "${config.scimClientSecret}",
        }
        assert data["configurables"]["scimClientSecret"]["secret"] is True
        assert app.tree.find(("connections", "scimClient", "")) is not None
        assert app.focused is app.tree

        # 5. Configurations: set the secret (masked) and the URL; Config.toml gets mode 0600.
        await keys(pilot, "g")
        pane = app.query_one("ConfigPane")
        assert app.focused is pane.table
        assert pane.selected_name() == "scimServiceUrl"
        await keys(pilot, "down", "enter")
        value_input = pane.query_one("#value-input")
        assert value_input.password is True
        await type_text(pilot, "s3cret")
        await keys(pilot, "enter")
        await keys(pilot, "up", "enter")
        await type_text(pilot, "https://idp.example.com/scim2")
        await keys(pilot, "enter")
        config = read_toml(root / "Config.toml")
        assert config == {"scimClientSecret": "s3cret", "scimServiceUrl": "https://idp.example.com/scim2"}
        assert stat.S_IMODE((root / "Config.toml").stat().st_mode) == 0o600
        resolved = app.store.resolve_config(env={})
        assert resolved.values["scimClientSecret"].source == "Config.toml"

        # 6. Add Entry Point → Automation with a cron schedule.
        await keys(pilot, "a")
        await type_text(pilot, "provisionUser")
        await keys(pilot, "tab")
        await type_text(pilot, "0 9 * * 1-5")
        await keys(pilot, "ctrl+s")
        data = read_toml(root / "workbench.toml")
        assert data["entrypoints"]["provisionUser"]["schedule"] == "0 9 * * 1-5"
        assert app.current == ("entrypoints", "provisionUser")

        # 7. A `+` opens the step panel; scimClient → Create User; payload fields; result.
        flow = app.flow
        assert flow.current is not None and flow.current.role == "start"
        await keys(pilot, "down")
        assert flow.current.role == "insert" and flow.current.address == "0"
        await keys(pilot, "enter")
        assert type(app.screen).__name__ == "StepPanel"
        await type_text(pilot, "create user")
        await keys(pilot, "enter")
        step_form = app.screen
        assert type(step_form).__name__ == "StepFormScreen"
        assert step_form.query_one("FieldRow").text == "createdUser"
        await keys(pilot, "tab", "tab")  # result -> payload mode -> first key
        await type_text(pilot, "userName")
        await keys(pilot, "tab")
        await type_text(pilot, "kim@example.com")
        await keys(pilot, "tab")
        await type_text(pilot, "name.givenName")
        await keys(pilot, "tab")
        await type_text(pilot, "Kim")
        await keys(pilot, "ctrl+s")
        data = read_toml(root / "workbench.toml")
        step = data["entrypoints"]["provisionUser"]["steps"][0]
        assert step == {
            "call": "scimClient.createUser",
            "result": "createdUser",
            "args": {"payload": {"userName": "kim@example.com", "name": {"givenName": "Kim"}}},
        }
        assert flow.current is not None and flow.current.key == "step:0"
        assert app.internal_errors == []
