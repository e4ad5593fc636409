"""With many connectors installed, the app's first screen shows the operation labels of the
project's connectors, each loaded by id, while the discovery of all of them (the palette's
catalogue) waits in the background."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from tests import fake_connectors
from tests.helpers import make_project
from tests.tui_helpers import settle
from workbench.connectors import catalogue, registry
from workbench.tui.widgets.step_card import StepCard

PROJECT = """
[integration]
name = "many"

[connections.things]
connector = "fake-0007"
baseUrl = "http://127.0.0.1:9"

[connections.others]
connector = "fake-0123"
baseUrl = "http://127.0.0.1:9"

[connections.typo]
connector = "fake-007"  # unknown: only `check`, for its suggestions, looks through them all

[entrypoints.sync]
[[entrypoints.sync.steps]]
call = "things.createThing"

[[entrypoints.sync.steps]]
call = "others.listThings"
"""


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """200 fake connectors installed (a dist-info on sys.path); gone again afterwards."""
    monkeypatch.syspath_prepend(str(fake_connectors.install(tmp_path / "site", 200)))
    catalogue.refresh()
    yield
    sys.modules.pop("wbfake", None)
    catalogue.refresh()


async def test_first_screen_labels_load_only_the_projects_connectors(tmp_path, monkeypatch, installed):
    from workbench.tui.app import WorkbenchApp

    # Every full discovery goes through registry._discover: hold it until the labels are seen.
    release, asked = threading.Event(), threading.Event()
    discover = registry._discover

    def held():
        asked.set()
        release.wait(20)
        return discover()

    monkeypatch.setattr(registry, "_discover", held)
    root = make_project(tmp_path / "proj", PROJECT)
    app = WorkbenchApp(root, env={})
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            texts: list[str] = []
            for _ in range(400):
                texts = [str(card.render()) for card in app.query(StepCard)]
                if any("Create Thing #0007" in t for t in texts):
                    break
                await asyncio.sleep(0.02)
            assert any("Create Thing #0007" in t for t in texts), texts
            assert any("List Things #0123" in t for t in texts), texts
            import wbfake

            assert sorted(wbfake.LOADED) == ["c0007", "c0123"]  # the 198 others are not loaded
            assert app.specs is None  # the palette's catalogue is still to come
            release.set()
            await settle(pilot)
            assert asked.is_set()  # it loaded in the background
            assert len(set(wbfake.LOADED)) == 200
            assert len(app.specs) == 203 and "fake-0199" in app.specs  # the built-ins too
            assert any("Create Thing #0007" in str(card.render()) for card in app.query(StepCard))
            assert not app.internal_errors
    finally:
        release.set()
