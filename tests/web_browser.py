"""Helpers for the browser tests: `workbench web` in a subprocess, headless Chromium driven by
Selenium with the system chromedriver, and the text on the page's terminal.

The terminal is xterm.js drawing on a canvas, so its text is not in the DOM. A script added
before the page's own captures textual-serve's terminal client object when its constructor sets
`websocket_url`; the test then reads xterm's screen buffer — what the canvas shows.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
BROWSER_MISSING = ("Chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver); "
                   f"found chromium={CHROMIUM}, chromedriver={CHROMEDRIVER}")

CAPTURE_CLIENT = """
Object.defineProperty(Object.prototype, 'websocket_url', {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, 'websocket_url', {value, writable: true, configurable: true, enumerable: true});
    window.__workbenchTerminalClient = this;
  },
});
"""
READ_SCREEN = """
const client = window.__workbenchTerminalClient;
if (!client || !client.terminal) return null;
const buffer = client.terminal.buffer.active, lines = [];
for (let i = 0; i < buffer.length; i++) {
  const line = buffer.getLine(i);
  lines.push(line ? line.translateToString(true) : '');
}
return lines.join('\\n');
"""
URL_LINE = re.compile(r"on (http://\S+?)/ ")


def require_browser() -> None:
    pytest.importorskip("textual_serve", reason="textual-serve (the `web` extra) is not installed")
    pytest.importorskip("selenium", reason="selenium (the `test` extra) is not installed")
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(BROWSER_MISSING)


class WebServer:
    """`python -m workbench web ARGS --port 0` until stop(); its output is collected."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, start_timeout: float = 60) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workbench", "web", *args, "--port", "0"], cwd=ROOT,
            env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        for stream in (self.process.stdout, self.process.stderr):
            threading.Thread(target=self._drain, args=(stream,), daemon=True).start()
        self.url = self._wait_for_url(start_timeout)
        self.port = int(self.url.rsplit(":", 1)[1])
        self.local_url = f"http://127.0.0.1:{self.port}"  # tests talk to loopback only

    def _drain(self, stream) -> None:
        for line in stream:
            self.output.append(line)
            self.lines.put(line)

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if found := URL_LINE.search(line):
                return found.group(1)
        self.stop()
        raise AssertionError(f"workbench web did not start: {''.join(self.output)}")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, as a service manager would; the exit code (killed after `timeout`)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                raise AssertionError(f"workbench web ignored SIGTERM for {timeout} s") from None
        return self.process.returncode

    @property
    def text(self) -> str:
        return "".join(self.output)


def processes_with(*needles: str) -> list[int]:
    """The pids of the processes each of whose `needles` is in one of their arguments (a test
    passes its unique tmp path among them)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if all(any(needle in arg for arg in argv) for needle in needles):
            pids.append(int(entry.name))
    return pids


def wait_until(check, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(message)


def chromium(window: str = "1280,800"):
    """A headless Chromium under the system chromedriver (nothing is downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={window}", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    capture_terminal(driver)
    return driver


def capture_terminal(driver) -> None:
    """Add CAPTURE_CLIENT to the current tab's future pages (each tab needs its own)."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE_CLIENT})


def open_tab(driver, url: str) -> str:
    """A new tab on `url`, with the capture; its window handle."""
    driver.switch_to.new_window("tab")
    capture_terminal(driver)
    driver.get(url)
    return driver.current_window_handle


def screen_text(driver) -> str:
    return driver.execute_script(READ_SCREEN) or ""


def wait_for_text(driver, text: str, timeout: float = 60) -> str:
    """The terminal's screen once it shows `text`; the last screen in the error otherwise."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = screen_text(driver)
        if text in screen:
            return screen
        time.sleep(0.25)
    raise AssertionError(f"{text!r} never showed on the page; the terminal showed:\n{screen}")


def press(driver, *keys: str) -> None:
    """Type into the terminal (xterm's hidden textarea, which has the focus)."""
    driver.find_element("css selector", ".xterm-helper-textarea").send_keys(*keys)
