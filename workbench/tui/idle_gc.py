"""Full garbage collections while the user is idle, not in the middle of a key.

A full collection scans every object the app holds. With a large project and its widgets that
takes 20-120 ms, and CPython starts one whenever enough survivors pile up: often in the middle of
a key. The app starts with what it built frozen (`gc.freeze()` once the catalogue is in), but
what it builds after that, and the churn of widgets mounted and removed, is not.

So while the app runs, the automatic full collection is off (the young generations still
collect as usual) and `tick`, called by a timer, runs the one that is due once no input came for
`idle_after` seconds. A user who keeps typing still gets one every `most_deferred` young
collections: memory never grows unbounded.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

DUE = 10  # young (generation 1) collections between full ones: CPython's default threshold
NEVER = 1 << 30


class IdleCollector:
    def __init__(self, last_input: Callable[[], float], *, idle_after: float = 0.5, most_deferred: int = 100,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.last_input = last_input  # when the last key or paste was handled (the clock's time)
        self.idle_after = idle_after
        self.most_deferred = most_deferred
        self.clock = clock
        self.collections = 0  # full collections this collector ran
        self._saved: tuple[int, ...] | None = None

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle = self._saved[:2]
            gc.set_threshold(young, middle, NEVER)

    def stop(self) -> None:
        """Back to CPython's own schedule (tests run many apps in one process)."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def tick(self) -> bool:
        """Run the full collection that is due if the user is idle (or it waited too long)."""
        pending = gc.get_count()[2]  # young collections since the last full one
        if pending < DUE:
            return False
        if pending < self.most_deferred and self.clock() - self.last_input() < self.idle_after:
            return False
        gc.collect()
        self.collections += 1
        return True
