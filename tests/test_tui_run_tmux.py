"""The real binary in tmux at 80x24: `python -m workbench demo` on a copy of the sample, the run
key, and the screen text. Once with colours, once with TERM=vt100 and NO_COLOR. Skipped without
tmux."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import copy_sample

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True, timeout=10).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, *texts: str, timeout: float = 30.0) -> str:
    """Poll the pane until every text is on screen; fail with the last screen after `timeout`."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = screen(session)
        if all(text in shown for text in texts):
            return shown
        time.sleep(0.2)
    raise AssertionError(f"not on screen after {timeout} s: {texts}\n{shown}")


@pytest.mark.parametrize("term", [{"TERM": "xterm-256color"}, {"TERM": "vt100", "NO_COLOR": "1"}],
                         ids=["xterm-256color", "vt100-no-color"])
def test_demo_in_tmux_runs_then_fails_on_409(tmp_path, term):
    project = copy_sample("scim-provisioning", tmp_path)
    config_before = (project / "Config.toml").read_bytes()
    session = f"wb-test-{secrets.token_hex(3)}"
    env_args = [f"{key}={value}" for key, value in term.items()]
    command = ["env", *env_args, f"PYTHONPATH={ROOT}", sys.executable, "-m", "workbench", "demo", str(project)]
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", str(ROOT),
         " ".join(_quote(part) for part in command))
    try:
        wait_for(session, "provisionUser", "Create User")  # the flow, with its connector's labels
        tmux("send-keys", "-t", session, "r")
        shown = wait_for(session, "✓ succeeded in", "✓ ok")
        assert "Created user kim.jensen" in shown
        tmux("send-keys", "-t", session, "r")
        shown = wait_for(session, "✗ failed in", "409 uniqueness")
        assert "scimType uniqueness" in shown
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 10
        while session in _sessions():  # the app quits, and the session with it
            assert time.monotonic() < deadline, "the app did not quit"
            time.sleep(0.2)
        assert (project / "Config.toml").read_bytes() == config_before  # the demo's values stay in memory
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def _sessions() -> str:
    return subprocess.run(["tmux", "list-sessions"], capture_output=True, text=True).stdout


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)
