"""`workbench web` in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven by Selenium, against the command run as a user runs it. Skipped, with the reason, where
Chromium, chromedriver, selenium or textual-serve is missing. Everything talks to 127.0.0.1."""

from __future__ import annotations

import base64
import http.client

import pytest

from tests.helpers import copy_sample
from tests.web_browser import (WebServer, chromium, open_tab, press, processes_with, require_browser,
                               wait_for_text, wait_until)

TAB = "workbench.web.demo_tab"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def project(tmp_path):
    require_browser()
    return copy_sample("scim-provisioning", tmp_path)


@pytest.fixture
def browser():
    require_browser()
    driver = chromium()
    yield driver
    driver.quit()


def test_the_demo_in_a_browser_runs_the_automation(project, tmp_path):
    server = WebServer("--demo", str(project))
    try:
        driver = chromium()
        try:
            driver.get(server.local_url + "/")
            assert driver.title == "Workbench — scim-provisioning (demo)"
            screen = wait_for_text(driver, "Connections")  # the project tree rendered in the page
            assert "provisionUser" in screen and "scimClient" in screen
            press(driver, "r")
            screen = wait_for_text(driver, "✓ succeeded in")
            assert "Created user kim.jensen@example.com" in screen  # against the web command's sandbox
            shot = tmp_path / "web.png"
            assert driver.save_screenshot(str(shot))
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
            assert len(processes_with(TAB, str(project))) == 1  # the tab's own app process
            # Stopped while the tab is open: the server ends the tab's app, and exits cleanly.
            assert server.stop() == 0
            wait_until(lambda: not processes_with(TAB, str(project)), 10, "the tab's app outlived the server")
        finally:
            driver.quit()
    finally:
        server.stop()
    assert "Traceback" not in server.text, server.text
    # The sandbox's URL and credentials stayed in memory: the sample's files are unchanged.
    assert "127.0.0.1" not in (project / "Config.toml").read_text()


def test_two_tabs_are_two_apps_on_one_project_and_one_sandbox(project, browser):
    server = WebServer("--demo", str(project))
    try:
        browser.get(server.local_url + "/")
        wait_for_text(browser, "Connections")
        first = browser.current_window_handle
        second = open_tab(browser, server.local_url + "/")
        wait_for_text(browser, "Connections")
        wait_until(lambda: len(processes_with(TAB, str(project))) == 2, 20, "two tabs, but not two app processes")

        browser.switch_to.window(first)
        press(browser, "r")
        wait_for_text(browser, "✓ succeeded in")
        browser.switch_to.window(second)
        press(browser, "r")  # the same user again, in the same sandbox: the Error Handler's 409
        screen = wait_for_text(browser, "✗ failed in")
        assert "409 uniqueness" in screen

        # A save in the second tab shows in the first through the external-change reload.
        from selenium.webdriver.common.keys import Keys

        press(browser, "a")
        wait_for_text(browser, "automation")
        press(browser, Keys.CONTROL, "s")
        wait_until(lambda: "[entrypoints.automation]" in (project / "workbench.toml").read_text(), 20,
                   "the second tab's new automation was not saved")
        browser.switch_to.window(first)
        screen = wait_for_text(browser, "Entry Points 2", timeout=20)
        # The first tab knows of it now: its own new automation gets the next free name.
        press(browser, "a")
        press(browser, Keys.CONTROL, "s")
        wait_until(lambda: "[entrypoints.automation2]" in (project / "workbench.toml").read_text(), 20,
                   "the first tab's automation was not saved as automation2")
        text = (project / "workbench.toml").read_text()
        assert "[entrypoints.automation]" in text and "[entrypoints.provisionUser]" in text
        browser.switch_to.window(second)
        wait_for_text(browser, "Entry Points 3", timeout=20)
        browser.close()  # a closed tab ends its app
        wait_until(lambda: len(processes_with(TAB, str(project))) == 1, 20, "a closed tab's app kept running")
    finally:
        server.stop()


def test_a_password_protects_the_page_and_the_websocket(project, tmp_path, browser):
    secret = tmp_path / "web-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    # Bound to every interface (a remote setup), reached over loopback only.
    server = WebServer(str(project), "--host", "0.0.0.0", "--allow-remote", "--password-file", str(secret))
    try:
        assert server.url.startswith("http://0.0.0.0:")
        assert "a password is required" in server.text and "WARNING" not in server.text
        assert _get(server.port, "/")[0] == 401
        assert _get(server.port, "/static/js/textual.js")[0] == 401
        assert _get(server.port, "/ws", websocket=True)[0] == 401  # no app process without the password
        assert _get(server.port, "/", basic="wrong")[0] == 401
        assert _get(server.port, "/", basic=PASSWORD)[0] == 200
        assert not processes_with("workbench", "open", str(project))

        browser.get(server.local_url + "/")
        assert "log in" in browser.title
        browser.find_element("id", "password").send_keys("not it\n")
        wait_until(lambda: "Wrong password" in browser.page_source, 20, "a wrong password was not refused")
        browser.find_element("id", "password").send_keys(PASSWORD + "\n")
        screen = wait_for_text(browser, "Connections")  # the app, over the cookie's websocket
        assert "provisionUser" in screen
        browser.save_screenshot(str(tmp_path / "web-logged-in.png"))
        assert processes_with("workbench", "open", str(project))
    finally:
        server.stop()
    assert PASSWORD not in server.text  # never printed or logged


def _get(port: int, path: str, *, basic: str | None = None, websocket: bool = False) -> tuple[int, str]:
    headers = {"Host": f"127.0.0.1:{port}"}
    if basic is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"user:{basic}".encode()).decode()
    if websocket:
        headers.update({"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                        "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()
