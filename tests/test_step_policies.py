"""Step policies: `retry`, `timeout`, `onError = "continue"` and a foreach's `errors = "collect"`,
against the sandbox and a hostile server on 127.0.0.1 (requests counted on the server side)."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest

from tests.helpers import make_project
from tests.hostile_server import HostileServer, Request, drip, drop, respond
from workbench.cli import main

SCIM_CONNECTION = """
[configurables.url]
type = "string"
[configurables.tokenUrl]
type = "string"
[configurables.clientId]
type = "string"
[configurables.secret]
type = "string"
secret = true

[connections.idp]
connector = "scim"
serviceUrl = "${config.url}"
[connections.idp.auth]
type = "oauth2-client-credentials"
tokenUrl = "${config.tokenUrl}"
clientId = "${config.clientId}"
clientSecret = "${config.secret}"
"""


def sandbox_sets(sb) -> list[str]:
    values = {"url": sb.service_url, "tokenUrl": sb.token_url, "clientId": sb.client_id, "secret": sb.client_secret}
    return [arg for name, value in values.items() for arg in ("--set", f"{name}={value}")]


def run_json(capsys, project, *argv) -> tuple[int, list[dict]]:
    code = main(["run", str(project), "--json", *argv])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


@pytest.fixture
def hostile():
    server = HostileServer().start()
    yield server
    server.stop()


def test_a_foreach_collects_its_failures_and_the_run_succeeds(tmp_path, make_sandbox, capsys):
    import httpx

    sb = make_sandbox()
    tag = uuid.uuid4().hex[:6]
    names = [f"c{i:02d}-{tag}@example.com" for i in range(50)]
    taken = (3, 13, 23, 33, 43)
    project = make_project(tmp_path / "p", f"""
[integration]
name = "collect"
{SCIM_CONNECTION}
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
set = "names"
value = {json.dumps(names)}
[[entrypoints.main.steps]]
foreach = "${{names}}"
as = "name"
concurrency = 4
errors = "collect"
result = "outcome"
[[entrypoints.main.steps.steps]]
call = "idp.createUser"
args = {{ payload = {{ userName = "${{name}}" }} }}
[[entrypoints.main.steps]]
return = "${{outcome}}"
""")
    with httpx.Client(timeout=5) as client:  # 5 of the 50 exist already
        token = client.post(sb.token_url, data={"grant_type": "client_credentials"},
                            auth=(sb.client_id, sb.client_secret)).json()["access_token"]
        for i in taken:
            client.post(f"{sb.service_url}/Users", json={"userName": names[i]},
                        headers={"Authorization": f"Bearer {token}"}).raise_for_status()
    writes = sb.writes
    code, events = run_json(capsys, project, *sandbox_sets(sb))
    finished = events[-1]
    assert code == 0 and finished["status"] == "succeeded"
    assert finished["failedItems"] == 5 and finished["okItems"] == 45
    outcome = finished["result"]
    assert len(outcome["ok"]) == 45 and all(user["userName"] in names for user in outcome["ok"])
    assert [f["index"] for f in outcome["failed"]] == list(taken)
    assert [f["item"] for f in outcome["failed"]] == [names[i] for i in taken]
    assert all(f["error"]["scimType"] == "uniqueness" and f["error"]["status"] == 409 for f in outcome["failed"])
    assert sb.writes == writes + 50
    assert main(["run", str(project), *sandbox_sets(sb), "--strict"]) == 3  # now all 50 exist: 50 failed
    assert "· 0 ok, 50 failed" in capsys.readouterr().out


def test_a_step_retry_on_503_honours_retry_after_and_is_not_multiplied(tmp_path, hostile, capsys):
    @hostile.route("GET", "/Users/u1")
    def flaky(request: Request, conn: socket.socket) -> None:
        if hostile.counts[("GET", "/Users/u1")] < 3:
            respond(conn, 503, {"detail": "busy"}, headers={"Retry-After": "0.4"})
        else:
            respond(conn, 200, {"id": "u1", "userName": "ada"})

    project = make_project(tmp_path / "p", f"""
[integration]
name = "retry"
[connections.idp]
connector = "scim"
serviceUrl = "{hostile.url}"
retry = {{ attempts = 3, backoff = 0 }}
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
call = "idp.getUser"
args = {{ id = "u1" }}
retry = {{ attempts = 3, initial = "5s", on = ["503"] }}
result = "user"
[[entrypoints.main.steps]]
return = "${{user.userName}}"
""")
    started = time.monotonic()
    code, events = run_json(capsys, project)
    took = time.monotonic() - started
    assert code == 0 and events[-1]["result"] == "ada"
    assert hostile.counts[("GET", "/Users/u1")] == 3  # the step's 3 attempts, not 3 × the connector's 3
    assert 0.8 <= took < 4  # two pauses of Retry-After 0.4 s, not the policy's 5 s
    retries = [e["message"] for e in events if e["event"] == "log" and e["level"] == "warning"]
    assert len(retries) == 2 and "attempt 2 of 3" in retries[0]


def test_a_step_timeout_is_the_deadline_across_its_retries(tmp_path, hostile, capsys):
    hostile.route("GET", "/slow")(lambda request, conn: drip(request, conn, seconds=5))
    project = make_project(tmp_path / "p", f"""
[integration]
name = "deadline"
[connections.api]
connector = "http"
baseUrl = "{hostile.url}"
timeout = 0.6
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
call = "api.get"
args = {{ path = "/slow" }}
timeout = "1.5s"
retry = {{ attempts = 10, initial = "10ms", on = ["timeout"] }}
""")
    started = time.monotonic()
    code, events = run_json(capsys, project)
    assert code == 1 and time.monotonic() - started < 3
    assert events[-1]["error"]["type"] == "StepTimeout"
    assert 2 <= hostile.counts[("GET", "/slow")] <= 3  # retried within the deadline, then cut


def test_continue_records_the_error_and_the_flow_goes_on(tmp_path, capsys):
    project = make_project(tmp_path / "p", """
[integration]
name = "continue"
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
fail = "not this time"
onError = "continue"
[[entrypoints.main.steps]]
return = "went on"
""")
    code, events = run_json(capsys, project)
    assert code == 0 and events[-1]["result"] == "went on" and events[-1]["failedItems"] == 1
    assert any(e["event"] == "step.finished" and e["status"] == "failed" and e["step"] == "0" for e in events)
    assert main(["run", str(project), "--strict"]) == 3


def test_create_user_keeps_its_no_duplicate_rule_under_a_step_retry(tmp_path, hostile, capsys):
    hostile.route("POST", "/Users")(drop)  # the answer is lost: maybe created
    hostile.route("GET", "/Users")(lambda request, conn: respond(conn, 500, {"detail": "lookup down"}))
    project = make_project(tmp_path / "p", f"""
[integration]
name = "nodup"
[connections.idp]
connector = "scim"
serviceUrl = "{hostile.url}"
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
call = "idp.createUser"
args = {{ payload = {{ userName = "ada" }} }}
retry = {{ attempts = 5, initial = "10ms", on = ["transport", "5xx"] }}
""")
    code, events = run_json(capsys, project)
    assert code == 1 and events[-1]["error"]["resendSafe"] is False
    assert hostile.counts[("POST", "/Users")] == 1  # the lookup failed: sending again could duplicate


def test_policies_are_checked(tmp_path, capsys):
    project = make_project(tmp_path / "p", """
[integration]
name = "bad"
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
log = "x"
timeout = "5 parsecs"
retry = { attempts = 3, on = ["sometimes?"] }
""")
    assert main(["check", str(project)]) == 2
    out = capsys.readouterr().out
    assert "timeout" in out and "retry.on" in out and "Traceback" not in out


async def test_the_apps_summary_counts_collected_failures(tmp_path):
    from tests.tui_helpers import keys, settle, wait_for_runs
    from workbench.tui.app import WorkbenchApp

    project = make_project(tmp_path / "p", """
[integration]
name = "summary"
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
set = "nums"
value = [1, 2, 3, 4]
[[entrypoints.main.steps]]
foreach = "${nums}"
errors = "collect"
[[entrypoints.main.steps.steps]]
if = "item == 3"
then = [{ fail = "three" }]
""")
    app = WorkbenchApp(project, env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        summary = str(app.output.query_one("#run-summary").render())
    assert summary.startswith("✓ succeeded") and "· 3 ok, 1 failed" in summary
