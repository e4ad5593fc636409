"""Helpers to drive the app in tests by keys.

`pilot.press` waits for every widget to handle its pending messages; when a worker's result
replaces widgets during that wait (a flow rebuilt after an edit), the removed widgets never answer
and the wait only ends with a timeout error. These helpers press keys the same way, wait for the
workers, and treat such a timeout as settled.
"""

from __future__ import annotations

import asyncio

from textual.pilot import WaitForScreenTimeout
from textual.worker import WorkerCancelled, WorkerFailed


async def settle(pilot, rounds: int = 2) -> None:
    """Let the workers finish and every widget handle its messages."""
    for _ in range(rounds):
        try:
            await pilot.app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            pass  # an exclusive worker replaced by a newer one; failures are the app's to report
        try:
            await pilot._wait_for_screen(timeout=2.0)
        except WaitForScreenTimeout:
            pass  # a widget was replaced while waiting: nothing left to wait for
        await asyncio.sleep(0.005)


async def keys(pilot, *presses: str) -> None:
    """Press keys one at a time, settling after each."""
    for press in presses:
        await pilot.app._press_keys([press])
        await settle(pilot)


async def type_text(pilot, text: str) -> None:
    """Type text (each character a key press), then settle."""
    await pilot.app._press_keys(list(text))
    await settle(pilot)


async def wait_for_runs(pilot, timeout: float = 20.0) -> None:
    """Wait until no run is going and the Output panel has taken every event."""
    import time

    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if not app.live_runs() and not len(app.run_feed):
            break
    else:
        raise TimeoutError(f"a run was still going after {timeout} s")
    await settle(pilot)
