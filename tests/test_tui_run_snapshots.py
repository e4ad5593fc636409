"""SVG snapshots of a run at 80x24: the Output panel after success and after the 409 failure.

Times, durations and ids are masked (RunFormat.steady()), and each test has its own sandbox, so
the pictures do not change from run to run. Update with
`pytest tests/test_tui_run_snapshots.py --snapshot-update`."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import copy_sample
from workbench.cli.demo import demo_values
from workbench.tui.app import WorkbenchApp
from workbench.tui.run_feed import RunFormat
from tests.tui_helpers import keys, settle, wait_for_runs

SIZE = (80, 24)


async def quiet(pilot) -> None:
    for _ in range(3):
        await asyncio.sleep(0.1)
        await settle(pilot)


@pytest.fixture
def app(tmp_path, make_sandbox) -> WorkbenchApp:
    root = copy_sample("scim-provisioning", tmp_path)
    memory = {**demo_values(make_sandbox()), "newUserName": "ada@example.com"}
    return WorkbenchApp(root, env={}, memory=memory, memory_source="demo", run_format=RunFormat.steady())


def test_output_after_success(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        await quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_output_after_failure(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        await quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
