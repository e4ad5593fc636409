"""The app's full garbage collections wait for the user to be idle (workbench/tui/idle_gc.py)."""

from __future__ import annotations

import gc

import pytest

from workbench.tui.idle_gc import DUE, IdleCollector


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def collector():
    clock = Clock()
    last = {"input": clock.now}
    collector = IdleCollector(lambda: last["input"], idle_after=0.5, most_deferred=40, clock=clock)
    collector.start()
    yield collector, clock, last
    collector.stop()


def young_collections(n: int) -> None:
    for _ in range(n):
        gc.collect(1)


def test_start_turns_the_automatic_full_collection_off_and_stop_restores_it():
    before = gc.get_threshold()
    collector = IdleCollector(lambda: 0.0)
    collector.start()
    assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] > 1_000_000
    collector.stop()
    assert gc.get_threshold() == before


def test_a_due_collection_waits_while_the_user_types_and_runs_once_idle(collector):
    collector, clock, last = collector
    gc.collect()
    young_collections(DUE)
    clock.now += 0.1
    last["input"] = clock.now  # a key just now
    assert not collector.tick()
    assert gc.get_count()[2] >= DUE  # still due: nothing ran
    clock.now += 0.6
    assert collector.tick()
    assert gc.get_count()[2] == 0 and collector.collections == 1


def test_nothing_runs_when_no_full_collection_is_due(collector):
    collector, clock, _last = collector
    gc.collect()
    clock.now += 10
    assert not collector.tick()
    assert collector.collections == 0


def test_a_user_who_never_stops_typing_still_gets_one_after_most_deferred(collector):
    collector, clock, last = collector
    gc.collect()
    young_collections(39)
    last["input"] = clock.now
    assert not collector.tick()
    young_collections(1)
    assert collector.tick()


async def test_the_app_defers_full_collections_while_it_runs_and_restores_them_after(sample):
    from tests.tui_helpers import settle
    from workbench.tui.app import WorkbenchApp

    before = gc.get_threshold()
    app = WorkbenchApp(sample, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert gc.get_threshold()[2] > 1_000_000
        gc.collect()
        young_collections(DUE)
        app.typeahead.handled_at = float("-inf")  # no key for a long time
        await pilot.pause(0.4)  # the idle timer's tick
        assert app.idle_collector.collections >= 1
    assert gc.get_threshold() == before
