"""`workbench serve`: service entry points over real HTTP on 127.0.0.1 (the sandbox as the IdP).

Most tests run the server in a thread of this process (fast); the drain on SIGTERM runs
`workbench serve` as a real subprocess. Every wait is bounded."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.helpers import ROOT, copy_sample, hr_webhook_values, make_project
from workbench.project import ProjectStore
from workbench.runtime.history import list_runs, runs_dir
from workbench.runtime.service import Services, sign

TOKEN = "hook-token-5f1e0c"
pytest.importorskip("uvicorn")


@contextlib.contextmanager
def serving(services: Services, **options):
    """The services on 127.0.0.1:<free port> in a thread (the app's Try it server); yields the URL."""
    from workbench.serve.local import LocalServer

    local = LocalServer(services, **options).start(timeout=5)
    try:
        yield local.url
    finally:
        local.stop(force=True)


@pytest.fixture
def hr_webhook(tmp_path, sandbox):
    root = copy_sample("hr-webhook", tmp_path)
    return Services(ProjectStore.open(root), overrides=hr_webhook_values(sandbox, TOKEN), env={})


def history_text(root) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(runs_dir(root).glob("*")))


def test_sample_creates_the_user_then_answers_409_and_401(hr_webhook):
    email = f"ada.{uuid.uuid4().hex[:8]}@example.com"
    hire = {"email": email, "givenName": "Ada", "familyName": "Lovelace"}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serving(hr_webhook) as url, httpx.Client(base_url=url, timeout=10) as client:
        created = client.post("/hires", json=hire, headers=auth)
        assert created.status_code == 201, created.text
        assert created.json()["userName"] == email and created.json()["id"]
        again = client.post("/hires", json=hire, headers=auth)
        assert again.status_code == 409
        assert again.json()["scimType"] == "uniqueness"
        wrong = client.post("/hires", json=hire, headers={"Authorization": "Bearer nope-nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert client.post("/hires", json={"name": "x"}, headers=auth).status_code == 400  # fail status = 400
        assert client.get("/hires", headers=auth).status_code == 405
        assert client.post("/nope", headers=auth).status_code == 404
    root = hr_webhook.version.store.root
    runs = list_runs(root)
    assert [r.status for r in runs] == ["succeeded", "failed", "failed"]  # 401/404/405 are not runs
    assert all(r.trigger == "POST /hires" for r in runs)
    text = history_text(root)
    assert TOKEN not in text and "Bearer" not in text
    assert "hook-token" not in text


def test_hmac_signature_of_the_raw_body(tmp_path):
    root = make_project(tmp_path / "p", '''
[integration]
name = "hooks"
[configurables.hookSecret]
secret = true
[entrypoints.push]
kind = "service"
path = "/push/{repo}"
auth = { type = "hmac", secret = "${config.hookSecret}" }
[[entrypoints.push.steps]]
set = "got"
value = "${request.body.ref}"
[[entrypoints.push.steps]]
return = { repo = "${request.params.repo}", ref = "${got}", event = "${request.headers['x-event']}" }
''', 'hookSecret = "hmac-secret-42"\n')
    services = Services(ProjectStore.open(root), env={})
    body = json.dumps({"ref": "main"}).encode()
    good = {"X-Hub-Signature-256": sign(body, "hmac-secret-42"), "Content-Type": "application/json", "X-Event": "push",
            "Authorization": "Basic dXNlcjpodW50ZXIy"}  # not this route's auth: masked all the same
    with serving(services) as url, httpx.Client(base_url=url, timeout=10) as client:
        ok = client.post("/push/wb", content=body, headers=good)
        assert ok.status_code == 200 and ok.json() == {"repo": "wb", "ref": "main", "event": "push"}
        bad = {**good, "X-Hub-Signature-256": sign(body, "another-secret")}
        assert client.post("/push/wb", content=body, headers=bad).status_code == 401
        altered = body.replace(b"main", b"evil")
        assert client.post("/push/wb", content=altered, headers=good).status_code == 401
        assert client.post("/push/wb", content=body, headers={"Content-Type": "application/json"}).status_code == 401
    text = history_text(root)
    assert "hmac-secret-42" not in text and "dXNlcjpodW50ZXIy" not in text


SLOW_PROJECT = '''
[integration]
name = "slow"
[configurables.slowUrl]
[connections.slow]
connector = "http"
baseUrl = "${config.slowUrl}"
[entrypoints.wait]
kind = "service"
method = "GET"
path = "/wait"
auth = { type = "none" }
[[entrypoints.wait.steps]]
call = "slow.get"
args = { path = "/slow" }
[[entrypoints.wait.steps]]
return = { waited = true }
[entrypoints.echo]
kind = "service"
path = "/echo"
auth = { type = "none" }
[[entrypoints.echo.steps]]
return = "${request.body}"
'''


@pytest.fixture
def slow_upstream():
    """An HTTP server on 127.0.0.1 whose GET /slow answers after 0.6 s."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(0.6)
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_body_limit_413_and_concurrency_503(tmp_path, slow_upstream):
    root = make_project(tmp_path / "p", SLOW_PROJECT, f'slowUrl = "{slow_upstream}"\n')
    services = Services(ProjectStore.open(root), env={}, max_concurrency=1)
    with serving(services, max_body=64) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.post("/echo", content=b"x" * 65).status_code == 413
        assert client.post("/echo", content=b"x" * 64).text == "x" * 64
        results = []
        first = threading.Thread(target=lambda: results.append(httpx.get(url + "/wait", timeout=10)))
        first.start()
        deadline = time.monotonic() + 5
        while services.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        busy = client.get("/wait")
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        first.join(10)
        assert results[0].status_code == 200


def test_sigterm_drains_a_slow_request(tmp_path, slow_upstream):
    root = make_project(tmp_path / "p", SLOW_PROJECT, f'slowUrl = "{slow_upstream}"\n')
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", str(root), "--port", "0", "--grace", "5"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    try:
        url = None
        deadline = time.monotonic() + 15
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "GET http://" in line:
                url = line.split("GET ", 1)[1].split()[0]
        assert url, "serve did not start"
        results = []
        waiter = threading.Thread(target=lambda: results.append(httpx.get(url, timeout=10)))
        waiter.start()
        time.sleep(0.3)  # the request is in flight, its run waiting on the slow upstream
        proc.send_signal(signal.SIGTERM)
        waiter.join(10)
        assert results and results[0].status_code == 200 and results[0].json() == {"waited": True}
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    runs = list_runs(root)
    assert [(r.entry, r.status, r.trigger) for r in runs] == [("wait", "succeeded", "GET /wait")]


def test_check_validates_service_entry_points(tmp_path):
    from workbench.project.diagnostics import check

    root = make_project(tmp_path / "p", '''
[integration]
name = "bad"
[entrypoints.a]
kind = "service"
method = "FETCH"
path = "hires/{id}"
[entrypoints.b]
kind = "service"
path = "/h/{id}/{id}"
auth = { type = "none" }
[entrypoints.c]
kind = "service"
path = "/x/{key}"
auth = { type = "bearer", token = "literal-token" }
[entrypoints.d]
kind = "service"
path = "/x/{other}"
auth = { type = "none" }
[[entrypoints.d.steps]]
log = "${request.params.other} ${nope}"
[entrypoints.e]
path = "/automation"
''')
    diags = check(ProjectStore.open(root), env={}, host="0.0.0.0")
    found = {(d.code, d.key) for d in diags}
    assert ("bad-value", "entrypoints.a.method") in found
    assert ("bad-value", "entrypoints.a.path") in found
    assert ("missing-key", "entrypoints.a.auth") in found  # no auth: none must be written out (at the key it needs)
    assert ("bad-value", "entrypoints.b.path") in found  # {id} twice
    assert ("literal-secret", "entrypoints.c.auth.token") in found
    assert ("duplicate-route", "entrypoints.d.path") in found  # POST /x/{} again
    assert ("auth-none", "entrypoints.d.auth") in found  # none on a non-loopback host
    assert ("unknown-variable", "entrypoints.d.steps[0].log") in found  # ${nope}; ${request} is known
    assert ("unknown-key", "entrypoints.e.path") in found
    assert not any(d.code == "unknown-variable" and "request" in d.message for d in diags)


def test_run_refuses_a_service_and_serve_refuses_a_remote_host(tmp_path, capsys):
    from workbench.cli import main

    root = make_project(tmp_path / "p", SLOW_PROJECT, 'slowUrl = "http://127.0.0.1:9"\n')
    assert main(["run", str(root), "--entry", "echo"]) == 2
    assert "echo is a service" in capsys.readouterr().out
    assert main(["serve", str(root), "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_reload_keeps_the_old_version_while_the_new_one_has_errors(tmp_path):
    root = make_project(tmp_path / "p", SLOW_PROJECT, 'slowUrl = "http://127.0.0.1:9"\n')
    notes: list[str] = []
    services = Services(ProjectStore.open(root), env={}, notify=notes.append)
    toml = root / "workbench.toml"
    toml.write_text(SLOW_PROJECT.replace('path = "/echo"', 'path = "echo"'), encoding="utf-8")
    assert services.poll() is False and "still serving the previous version" in notes[-1]
    assert services.poll() is False and len(notes) == 1  # not said again until the files change
    with serving(services) as url:
        assert httpx.post(url + "/echo", content=b"hi", timeout=10).text == "hi"
        toml.write_text(SLOW_PROJECT.replace('path = "/echo"', 'path = "/echo2"'), encoding="utf-8")
        assert services.poll() is True and "POST /echo2" in notes[-1]
        assert httpx.post(url + "/echo2", content=b"hi", timeout=10).text == "hi"
        assert httpx.post(url + "/echo", content=b"hi", timeout=10).status_code == 404


def test_up_runs_schedules_and_services_in_one_process(tmp_path):
    project = SLOW_PROJECT + '''
[entrypoints.nightly]
schedule = "0 3 * * *"
[[entrypoints.nightly.steps]]
log = "nightly"
'''
    root = make_project(tmp_path / "p", project, 'slowUrl = "http://127.0.0.1:9"\n')
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "up", str(root), "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "NO_COLOR": "1"})
    try:
        lines, url = [], None
        deadline = time.monotonic() + 15
        while url is None and time.monotonic() < deadline:
            lines.append(proc.stdout.readline())
            if "POST http://" in lines[-1]:
                url = lines[-1].split("POST ", 1)[1].split()[0]
        assert url, "".join(lines)
        assert httpx.post(url, content=b"ping", timeout=10).text == "ping"
        proc.send_signal(signal.SIGTERM)
        # Not communicate(timeout=...): it reads the raw pipe and would lose what readline()
        # already buffered (the scheduler's line often arrives in the same chunk as the URL's).
        proc.wait(timeout=10)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    text = "".join(lines) + out
    assert "nightly: next run at" in text, text
    assert "[echo] ▶ echo POST /echo" in text, text
    assert proc.returncode == 0


def test_the_headless_core_imports_neither_starlette_nor_textual():
    code = ("import sys, workbench.runtime.service, workbench.cli.run, workbench.project.diagnostics; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'textual') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=30,
                         check=False).stdout
    assert out.strip() == "[]"
