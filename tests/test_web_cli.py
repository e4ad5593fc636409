"""`workbench web` without a browser: the refusals and the warning of the command, the password
Guard and the page's URLs through aiohttp's test client (on 127.0.0.1), and the import rules."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from tests.helpers import ROOT, copy_sample
from workbench.cli import main

PASSWORD = "s3cret-for-the-web"


@pytest.fixture
def not_serving(monkeypatch):
    """The command up to the point where it would listen; the server it built, once it has."""
    pytest.importorskip("textual_serve", reason="textual-serve (the `web` extra) is not installed")
    from workbench.web.server import WorkbenchWebServer

    built: list[WorkbenchWebServer] = []
    monkeypatch.setattr(WorkbenchWebServer, "serve_until_stopped", lambda self: built.append(self))
    monkeypatch.delenv("WB_WEB_PASSWORD", raising=False)
    return built


def test_a_non_loopback_host_is_refused_without_allow_remote(tmp_path, capsys):
    assert main(["web", str(tmp_path), "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "loopback only" in err and "--allow-remote" in err and "Traceback" not in err
    assert main(["web", str(tmp_path), "--host", "192.168.1.10", "--port", "9"]) == 2


def test_allow_remote_without_a_password_warns_plainly(tmp_path, capsys, not_serving):
    assert main(["web", str(tmp_path), "--host", "0.0.0.0", "--allow-remote"]) == 0
    err = capsys.readouterr().err
    assert "WARNING: no password" in err
    assert "anyone who can reach 0.0.0.0:8000 can edit the project and run its automations" in err
    assert not_serving[0].guard.protected is False


def test_a_password_from_the_file_or_the_environment_is_required_and_never_printed(tmp_path, capsys, monkeypatch,
                                                                                   not_serving):
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    assert main(["web", str(tmp_path), "--host", "0.0.0.0", "--allow-remote", "--password-file", str(secret)]) == 0
    monkeypatch.setenv("WB_WEB_PASSWORD", PASSWORD)
    assert main(["web", str(tmp_path), "--host", "0.0.0.0", "--allow-remote"]) == 0
    out = capsys.readouterr()
    assert "WARNING" not in out.err and PASSWORD not in out.out + out.err
    assert [server.guard.password_ok(PASSWORD) for server in not_serving] == [True, True]
    assert not not_serving[0].guard.password_ok(PASSWORD + "\n")  # the file's line end is not part of it
    import os

    assert "WB_WEB_PASSWORD" not in os.environ  # the tabs' app processes do not inherit it


@pytest.mark.parametrize("content, message", [("", "is empty"), ("\n", "is empty"), (None, "cannot read")])
def test_an_empty_or_missing_password_file_is_refused(tmp_path, capsys, content, message):
    secret = tmp_path / "password"
    if content is not None:
        secret.write_text(content)
    assert main(["web", str(tmp_path), "--password-file", str(secret)]) == 2
    assert message in capsys.readouterr().err


def test_a_file_is_not_a_project_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["web", str(tmp_path / "file")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_without_the_web_extra_the_message_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "workbench.web.server", raising=False)
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # import textual_serve fails
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert main(["web", str(tmp_path)]) == 2
    assert "pip install 'workbench[web]'" in capsys.readouterr().err


def test_the_tab_command_quotes_the_folder_and_runs_the_app_alone():
    pytest.importorskip("textual_serve")
    from pathlib import Path

    from workbench.web.server import tab_command

    command = tab_command(Path("/srv/my projects/a'b"), demo=False)
    assert command.startswith("exec ") and "'/srv/my projects/a'\"'\"'b'" in command
    assert tab_command(Path("/p"), demo=True).endswith("-m workbench.web.demo_tab /p")


def test_the_app_and_the_headless_core_never_load_aiohttp():
    code = ("import sys, workbench.cli, workbench.cli.web, workbench.project, workbench.runtime; "
            "print(sorted(m for m in ('aiohttp', 'textual_serve', 'textual') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


# -- the Guard and the page, through aiohttp's test client ------------------------------------------


@pytest.fixture
async def client(tmp_path, monkeypatch):
    pytest.importorskip("textual_serve")
    from aiohttp.test_utils import TestClient, TestServer

    from workbench.web import auth
    from workbench.web.server import WorkbenchWebServer

    monkeypatch.setattr(auth, "WRONG_PASSWORD_DELAY", 0.0)
    server = WorkbenchWebServer(copy_sample("scim-provisioning", tmp_path), password=PASSWORD)
    test_client = TestClient(TestServer(await server._make_app(), host="127.0.0.1"))
    await test_client.start_server()
    yield test_client
    await test_client.close()


def _basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"anyone:{password}".encode()).decode()}


async def test_without_the_password_every_route_is_refused(client):
    page = await client.get("/")
    assert page.status == 401 and 'name="password"' in await page.text()  # the login form, at once
    assert page.headers["X-Frame-Options"] == "DENY"
    for path in ("/static/js/textual.js", "/ws", "/download/abc", "/logout"):
        assert (await client.get(path)).status == 401, path
    assert (await client.get("/", headers=_basic("wrong"))).status == 401
    assert (await client.get("/", headers={"Authorization": "Basic !!notbase64"})).status == 401


async def test_the_login_sets_a_session_cookie_and_logout_ends_it(client):
    wrong = await client.post("/login", data={"password": "wrong"}, allow_redirects=False)
    assert wrong.status == 401 and "Wrong password" in await wrong.text()
    assert "workbench_session" not in wrong.cookies
    right = await client.post("/login", data={"password": PASSWORD}, allow_redirects=False)
    assert right.status == 303 and right.headers["Location"] == "/"
    cookie = right.cookies["workbench_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and PASSWORD not in cookie.value
    page = await client.get("/")
    assert page.status == 200 and "textual.js" in await page.text()
    assert (await client.get("/static/js/textual.js")).status == 200
    await client.get("/logout", allow_redirects=False)
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"workbench_session": cookie.value})  # the old token
    assert (await client.get("/")).status == 401


async def test_basic_credentials_open_the_page(client):
    page = await client.get("/", headers=_basic(PASSWORD))
    assert page.status == 200


async def test_a_websocket_from_another_site_is_refused(client):
    headers = {**_basic(PASSWORD), "Origin": "https://evil.example"}
    assert (await client.get("/ws", headers=headers)).status == 403


async def test_the_page_urls_follow_the_request_and_fetch_nothing_from_other_sites(client):
    direct = await (await client.get("/", headers=_basic(PASSWORD))).text()
    host = f"127.0.0.1:{client.port}"
    assert f'data-session-websocket-url="ws://{host}/ws"' in direct
    assert f"http://{host}/static/js/textual.js" in direct
    assert "googleapis" not in direct and "<title>Workbench — scim-provisioning</title>" in direct
    proxied = await (await client.get("/", headers={**_basic(PASSWORD), "X-Forwarded-Proto": "https",
                                                    "X-Forwarded-Host": "wb.example.org"})).text()
    assert 'data-session-websocket-url="wss://wb.example.org/ws"' in proxied
    assert "https://wb.example.org/static/css/xterm.css" in proxied


async def test_a_passwordless_loopback_server_refuses_other_host_names(tmp_path):
    pytest.importorskip("textual_serve")
    from aiohttp.test_utils import TestClient, TestServer

    from workbench.web.server import WorkbenchWebServer

    server = WorkbenchWebServer(copy_sample("scim-provisioning", tmp_path), host="127.0.0.1")
    async with TestClient(TestServer(await server._make_app(), host="127.0.0.1")) as client:
        assert (await client.get("/")).status == 200
        assert (await client.get("/", headers={"Host": f"localhost:{client.port}"})).status == 200
        rebound = {"Host": f"attacker.example:{client.port}"}  # a name made to resolve to 127.0.0.1
        assert (await client.get("/", headers=rebound)).status == 403
        assert (await client.get("/ws", headers={**rebound, "Origin": f"http://attacker.example:{client.port}"})
                ).status == 403
        proxied = {"Host": "workbench.example.org", "X-Forwarded-Proto": "https"}  # a TLS proxy in front
        assert (await client.get("/", headers=proxied)).status == 200
