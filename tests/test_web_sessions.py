"""Two browser tabs are two app processes on one project, each with its own ProjectSession. What
they rely on, tested with real processes and without a browser: every save lands on top of the
other's (the store's write lock is a file, shared across processes), a tab notices the other's
save (what the app's once-a-second poll asks), and a stale tab never overwrites a newer file."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT
from workbench.project import EditError
from workbench.project.session import ProjectSession

EDITOR = """
import sys
from workbench.project.session import ProjectSession

session = ProjectSession(sys.argv[1], env={})
session.load()
prefix, count = sys.argv[2], int(sys.argv[3])
for n in range(count):
    session.edit(lambda store, n=n: store.add_configurable(f"{prefix}{n}"))
"""


def _editor(project, prefix: str, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", EDITOR, str(project), prefix, str(count)], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)


def test_two_processes_saving_at_once_lose_no_edit(sample):
    count = 40  # enough that, without the shared lock, edits are lost (tried)
    editors = [_editor(sample, prefix, count) for prefix in ("tabA", "tabB")]
    for editor in editors:
        _, err = editor.communicate(timeout=120)
        assert editor.returncode == 0, err
    declared = ProjectSession(sample, env={}).load().project.configurables
    assert {f"tab{t}{n}" for t in "AB" for n in range(count)} <= set(declared)


def test_a_stale_tab_sees_the_other_save_and_edits_on_top_of_it(sample):
    stale = ProjectSession(sample, env={})
    stale.load()
    assert not stale.changed_on_disk()
    other = _editor(sample, "fromOtherTab", 1)
    assert other.wait(timeout=60) == 0
    assert stale.changed_on_disk()  # the poll's question: the app reloads (or warns if a form is dirty)

    stale.edit(lambda store: store.add_configurable("fromThisTab"))
    text = (sample / "workbench.toml").read_text()
    assert "[configurables.fromOtherTab0]" in text and "[configurables.fromThisTab]" in text


def test_a_stale_tab_cannot_take_a_name_the_other_tab_just_saved(sample):
    stale = ProjectSession(sample, env={})
    stale.load()
    assert stale.edit(lambda store: "taken0" not in store.project.configurables)
    other = _editor(sample, "taken", 1)
    assert other.wait(timeout=60) == 0
    before = (sample / "workbench.toml").read_bytes()
    time.sleep(0.01)
    # The store re-reads the files under the lock before the edit, not from what this tab last saw.
    with pytest.raises(EditError, match="already exists"):
        stale.store.add_configurable("taken0", type="int")
    assert (sample / "workbench.toml").read_bytes() == before
