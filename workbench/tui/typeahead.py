"""Keys typed at any speed give what slow typing gives.

Textual hands each key to the widget focused when the App reads it, without waiting for the
widget to handle the previous one. A Tab's focus change, a row mounted after a keystroke, or an
Input focused after Enter all come later, through message queues. Keys sent in one burst (SSH,
a paste after Enter) then reach the old widget, or are lost.

So an input event that comes soon after the one before it waits until that one's effects have
settled: the App and every widget with messages queued have handled them (a few rounds, for
chains of messages). A key after a pause goes through at once, with no work: only bursts wait.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from textual import events

ROUNDS = 3  # key -> Changed -> a handler that mounts or focuses -> the mounted widget composes
# Then more while messages are still queued: a message bubbling from the flow to the App (five
# hops), then the screen it pushes mounting and focusing its first field. Bounded: a widget that
# keeps posting must not hold the keys up for good.
MAX_ROUNDS = 16
ROUND_TIMEOUT = 0.5  # a widget removed meanwhile never answers: go on without it
QUIET = 0.05  # seconds: input closer to the one before is a burst (SSH, paste), not a person


class TypeAhead:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.pending: deque[events.Event] = deque()
        self.busy = False
        self.replaying: events.Event | None = None
        self._task: asyncio.Task | None = None
        self.handled_at = float("-inf")

    @staticmethod
    def applies(event: events.Event) -> bool:
        return isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded

    def hold(self, event: events.Event) -> bool:
        """True when the event must wait (it is queued, and replayed in order)."""
        if event is self.replaying:
            self.replaying = None
            return False
        if self.busy or self.pending:
            self.pending.append(event)
            return True
        if time.monotonic() - self.handled_at < QUIET:  # a burst: settle the last one first
            self.pending.append(event)
            self.busy = True
            self._task = asyncio.create_task(self._settle())
            return True
        return False

    def handled(self) -> None:
        """The App has dispatched an input event."""
        self.handled_at = time.monotonic()
        if self.pending:  # a burst being replayed: settle this one before the next
            self.busy = True
            self._task = asyncio.create_task(self._settle())

    async def _settle(self) -> None:
        try:
            for round_ in range(MAX_ROUNDS):
                if not await self._round() and round_ >= ROUNDS - 1:
                    break  # settled: nothing was waiting
        finally:
            self.busy = False
            if self.pending:
                self.replaying = self.pending.popleft()
                self.app.post_message(self.replaying)

    async def _round(self) -> bool:
        """Wait until the App and every widget with messages queued have handled them; False
        when none had any."""
        app = self.app
        try:  # the widgets with messages still queued (and the App, where focus changes land)
            queued = [n for n in app.screen.walk_children(with_self=True) if n.message_queue_size]
        except Exception:  # noqa: BLE001 - no screen while closing
            return False
        waiting = bool(queued) or bool(app.message_queue_size)
        nodes = [app, *queued]
        done = asyncio.Event()
        count = 0

        def tick() -> None:
            nonlocal count
            count -= 1
            if count == 0:
                done.set()

        for node in nodes:
            if node.call_later(tick):
                count += 1
        if count:
            try:
                await asyncio.wait_for(done.wait(), ROUND_TIMEOUT)
            except TimeoutError:
                pass
        return waiting
