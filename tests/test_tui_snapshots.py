"""SVG snapshots at 80x24 on a copy of the sample project (env is empty: deterministic).

Update with `pytest tests/test_tui_snapshots.py --snapshot-update`."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import copy_sample
from workbench.tui.app import WorkbenchApp
from tests.tui_helpers import keys, type_text
from tests.tui_helpers import settle as _settle

SIZE = (80, 24)


async def settle(pilot) -> None:
    await _settle(pilot)


async def quiet(pilot) -> None:
    """Wait out scrolling and layout, so the picture does not depend on timing."""
    for _ in range(3):
        await asyncio.sleep(0.1)
        await _settle(pilot)


@pytest.fixture
def app(tmp_path) -> WorkbenchApp:
    root = copy_sample("scim-provisioning", tmp_path)
    return WorkbenchApp(root, env={})


def test_main_screen(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_palette_after_typing_scim(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await keys(pilot, "c")
        await type_text(pilot, "scim")
        await quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_new_connection_form(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await keys(pilot, "c")
        await type_text(pilot, "scim")
        await keys(pilot, "enter", "tab", "tab", "enter", "up", "up", "up", "enter")
        await quiet(pilot)
        pilot.app.connection_form.scroll_to(y=6, animate=False)  # the select's overlay may have scrolled it
        await quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_configurations_pane(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await keys(pilot, "g")
        await quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_operation_form(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await keys(pilot, "enter", "enter")  # focus the flow, edit scimClient → Create User
        await quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
