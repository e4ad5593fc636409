"""A key typed in the app's data mapper editor, on the bulk-onboarding sample's hireToUser:
the editor's work per key (draft compiled, sample mapped and checked, the target's label and the
preview updated), and the time from the key event to the screen drawn with the new preview
(headless, 120x40, a key every 50 ms), side by side with a bare Textual app (an Input echoed by
a Static) typed the same way: headless Textual draws at most every ~33 ms, so that baseline is the
floor. The preview update is the editor's work plus what its drawing adds over that floor.
Medians of 38 keys. Target ≤ 30 ms.

    .venv/bin/python bench/tui_mapper.py
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent


def bench_editor_key() -> bool:
    return asyncio.run(_bench())


async def key_to_drawn(app, char: str, changed) -> float:
    """A key event, as the driver delivers one, until the screen is drawn after `changed()`."""
    from textual import events

    drawn = asyncio.Event()
    started = time.perf_counter()
    app.post_message(events.Key(char, char))
    while not changed():
        await asyncio.sleep(0.0005)
    app.call_after_refresh(drawn.set)
    await drawn.wait()
    return time.perf_counter() - started


async def _baseline(text: str) -> list[float]:
    """The same keys in a bare Textual app of the same size: an Input whose value a Static echoes."""
    from textual.app import App
    from textual.widgets import Input, Static

    class Echo(App):
        def compose(self):
            yield Input(id="in")
            yield Static(id="out")

        def on_input_changed(self, event: Input.Changed) -> None:
            self.query_one("#out", Static).update(event.value)

    app, times = Echo(), []
    async with app.run_test(size=(120, 40)) as pilot:
        box = app.query_one("#in", Input)
        box.focus()
        await pilot.pause()
        for i, char in enumerate(text, 1):
            times.append(await key_to_drawn(app, char, lambda i=i: box.value == text[:i]
                                            and app.query_one("#out", Static).content == text[:i]))
            await asyncio.sleep(0.05)
    return times


async def _bench() -> bool:
    from textual.widgets import Input

    from workbench.tui.app import WorkbenchApp

    folder = Path(tempfile.mkdtemp()) / "bulk-onboarding"
    shutil.copytree(ROOT / "projects" / "bulk-onboarding", folder)
    app = WorkbenchApp(folder, env={})
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.open_mapper("hireToUser")
        await pilot.pause()
        editor = app.screen
        tree = editor.query_one("#mapper-attrs")
        tree.move_cursor(next(n for n in tree.root.children if n.data == "displayName"))
        await pilot.pause()
        text = "${input.givenName} ${input.familyName}"
        work = []
        editor.target = "displayName"
        for i in range(1, len(text) + 1):
            started = time.perf_counter()
            editor.set_field(editor.target, text[:i])
            editor.refresh_preview()
            editor.relabel(only=editor.target)
            editor.show_target()
            work.append(time.perf_counter() - started)
        box = editor.query_one("#mapper-expr", Input)
        box.value = ""
        box.focus()
        await pilot.pause()
        for char in text:
            before = editor.preview  # changed when the handler computed a new preview
            times.append(await key_to_drawn(app, char, lambda before=before: editor.preview is not before))
            await asyncio.sleep(0.05)  # a typist's pace, not a burst
        assert box.value == text, box.value
    shutil.rmtree(folder.parent, ignore_errors=True)
    bare = await _baseline(text)
    handler = statistics.median(work) * 1000
    redrawn, floor = statistics.median(times) * 1000, statistics.median(bare) * 1000
    update = handler + max(0.0, redrawn - floor)  # what the preview adds to a key: its work and its drawing
    print(f"(c) one key in the app's mapper editor ({len(times)} keys, 120x40, headless):")
    print(f"    the editor's work            median {handler:6.2f} ms, max {max(work) * 1000:6.2f} ms")
    print(f"    key to screen drawn          median {redrawn:6.1f} ms, max {max(times) * 1000:6.1f} ms")
    print(f"    baseline, same run: a bare Textual Input echoed by a Static, same size and keys:"
          f" median {floor:6.1f} ms, max {max(bare) * 1000:6.1f} ms")
    print(f"    the preview update per key (work + drawing over the baseline): {update:.1f} ms "
          f"(target ≤ 30: {'ok' if update <= 30 else 'MISSED'})")
    return update <= 30


if __name__ == "__main__":
    sys.exit(0 if bench_editor_key() else 1)
