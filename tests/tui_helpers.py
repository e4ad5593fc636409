"""Drive the app by keys in tests, with public Pilot APIs only (press, pause,
wait_for_scheduled_animations, app.workers.wait_for_complete)."""

from __future__ import annotations

import asyncio
import time

from textual.worker import WorkerCancelled, WorkerFailed


async def settle(pilot, rounds: int = 2) -> None:
    """Let the workers finish and every widget handle its messages."""
    for _ in range(rounds):
        try:
            await pilot.app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            pass  # an exclusive worker replaced by a newer one; failures are the app's to report
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()


async def keys(pilot, *presses: str) -> None:
    """Press keys one at a time (as a person types), settling after each."""
    for press in presses:
        await pilot.press(press)
        await settle(pilot)


async def type_text(pilot, text: str) -> None:
    """Type text, each character a key press, then settle."""
    await pilot.press(*text)
    await settle(pilot)


async def burst(pilot, *presses: str) -> None:
    """Send keys in one burst, as a paste or SSH delivers them: all queued before the app reads one."""
    from textual import events

    names = {" ": "space", ".": "full_stop", "@": "at", "-": "minus", "_": "underscore"}
    for press in presses:
        pilot.app.post_message(events.Key(names.get(press, press), press if len(press) == 1 else None))
    await settle(pilot)


async def wait_for_runs(pilot, timeout: float = 20.0) -> None:
    """Wait until no run is going and the Output panel has taken every event."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if not app.live_runs() and not len(app.run_feed):
            break
    else:
        raise TimeoutError(f"a run was still going after {timeout} s")
    await settle(pilot)
