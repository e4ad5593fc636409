"""`workbench run` and `workbench runs`, end to end against the sandbox over real HTTP: output,
exit codes, JSON Lines, history, redaction, --config/--entry, and Ctrl+C in a real process."""

from __future__ import annotations

import csv
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx

from tests import helpers
from workbench.cli import main
from workbench.project import ProjectStore
from workbench.runtime.history import list_runs, runs_dir

ROOT = Path(__file__).resolve().parent.parent
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
RUN_ID = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")


def copy_sample(tmp_path: Path, name: str) -> Path:
    return helpers.copy_sample(name, tmp_path)


def sets(sb, **more: str) -> list[str]:
    values = {"scimServiceUrl": sb.service_url, "scimTokenUrl": sb.token_url, "scimClientId": sb.client_id,
              "scimClientSecret": sb.client_secret, **more}
    return [arg for name, value in values.items() for arg in ("--set", f"{name}={value}")]


def unique_user() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}@example.com"


def workbench(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def scim_get(sb, path: str, **params) -> dict:
    with httpx.Client(timeout=5) as client:
        token = client.post(sb.token_url, data={"grant_type": "client_credentials"},
                            auth=(sb.client_id, sb.client_secret)).json()["access_token"]
        response = client.get(f"{sb.service_url}{path}", params=params, headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json()


def users_named(sb, user_name: str) -> list[dict]:
    return scim_get(sb, "/Users", filter=f'userName eq "{user_name}"').get("Resources", [])


def unique_hires(project: Path) -> list[dict[str, str]]:
    """Give the copied CSV's rows unique emails, so each test creates new users."""
    path = project / "new-hires.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    tag = uuid.uuid4().hex[:8]
    for row in rows:
        row["email"] = row["email"].replace("@", f"+{tag}@")
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


# -- the samples ------------------------------------------------------------------------------------


def test_scim_sample_succeeds_then_fails_on_uniqueness(tmp_path, sandbox, capsys):
    project = copy_sample(tmp_path, "scim-provisioning")
    user = unique_user()
    code, out, err = workbench(capsys, "run", project, *sets(sandbox, newUserName=user))
    assert code == 0, out + err
    assert users_named(sandbox, user)[0]["userName"] == user
    lines = out.splitlines()
    assert lines[0].startswith("▶ provisionUser") and "scim-provisioning" in lines[0]
    assert lines[1].startswith("  ✓ 0 scimClient.createUser → id ") and f"userName {user}" in lines[1]
    assert lines[2].startswith("  info ") and f"Created user {user} with id" in lines[2]
    assert lines[3].startswith("✓ succeeded in ")
    assert "\033[" not in out  # plain when not a terminal

    code, out, err = workbench(capsys, "run", project, *sets(sandbox, newUserName=user))
    assert code == 1
    assert "✗ 0 scimClient.createUser — SCIM 409" in out
    assert "  error   Provisioning failed: SCIM 409 uniqueness" in out  # onError ran
    assert out.splitlines()[-1].startswith("✗ failed in ") and "scimType uniqueness" in out.splitlines()[-1]


def test_bulk_onboarding_creates_every_hire_with_department(tmp_path, sandbox, capsys):
    project = copy_sample(tmp_path, "bulk-onboarding")
    config_lines = (project / "Config.toml").read_text(encoding="utf-8").splitlines()
    assert all(line.startswith("#") for line in config_lines if line.strip())  # comments only
    rows = unique_hires(project)
    assert len(rows) == 25

    code, out, _ = workbench(capsys, "check", project, *sets(sandbox))
    assert code == 0 and "no problems" in out
    code, out, err = workbench(capsys, "run", project, *sets(sandbox), "-v")
    assert code == 0, out + err
    assert "Onboarded 25 new hires" in out
    assert len(re.findall(r"✓ 1\.steps\.0 Create the user \[\d+\]", out)) == 25  # -v: a line per item
    for row in (rows[0], rows[12], rows[24]):
        [user] = users_named(sandbox, row["email"])
        assert user["name"]["givenName"] == row["givenName"] and user["title"] == row["title"]
        assert user[ENTERPRISE]["department"] == row["department"]

    code, out, _ = workbench(capsys, "run", project, *sets(sandbox))
    assert code == 1
    assert "Onboarding stopped at step 1.steps.0: SCIM 409 uniqueness" in out
    assert "✓ 1.steps.0" not in out and re.search(r"✗ 1\.steps\.0 Create the user \[\d+\] — SCIM 409", out)
    assert "scimType uniqueness" in out.splitlines()[-1]


# -- nothing runs -----------------------------------------------------------------------------------


def test_missing_configurable_exits_2_and_sends_nothing(tmp_path, sandbox, capsys, monkeypatch):
    for name in ("SCIMSERVICEURL", "SCIMTOKENURL", "SCIMCLIENTID", "SCIMCLIENTSECRET"):
        monkeypatch.delenv(f"WB_VAR_{name}", raising=False)
    project = copy_sample(tmp_path, "scim-provisioning")
    before = (sandbox.requests, sandbox.tokens_issued)
    args = sets(sandbox, newUserName=unique_user())
    args = args[: args.index(f"scimClientSecret={sandbox.client_secret}") - 1]  # drop the secret
    code, out, err = workbench(capsys, "run", project, *args)
    assert code == 2
    assert "required configurable scimClientSecret has no value [missing-value]" in out
    assert "nothing was run" in out
    assert (sandbox.requests, sandbox.tokens_issued) == before
    assert not runs_dir(project).exists()

    code, out, err = workbench(capsys, "run", project, *args, "--json")
    assert code == 2 and out == "" and "missing-value" in err  # stdout holds events only


def test_entry_must_be_named_when_there_are_several(tmp_path, sandbox, capsys):
    project = copy_sample(tmp_path, "scim-provisioning")
    store = ProjectStore.open(project)
    store.add_entrypoint("hello")
    store.add_step("hello", {"log": "hello from ${config.scimClientId}"})
    code, out, _ = workbench(capsys, "run", project, *sets(sandbox))
    assert code == 2 and "several entry points" in out and "provisionUser, hello" in out
    code, out, _ = workbench(capsys, "run", project, "--entry", "hello", *sets(sandbox))
    assert code == 0 and f"hello from {sandbox.client_id}" in out
    code, out, _ = workbench(capsys, "run", project, "--entry", "nope", *sets(sandbox))
    assert code == 2 and "unknown entry point 'nope'" in out


def test_bad_usage_exits_2(tmp_path, capsys):
    code, _, err = workbench(capsys, "run", tmp_path)
    assert code == 2 and "no workbench.toml" in err
    project = copy_sample(tmp_path, "scim-provisioning")
    code, _, err = workbench(capsys, "run", project, "--set", "novalue")
    assert code == 2 and "--set expects NAME=VALUE" in err
    code, _, err = workbench(capsys, "run", project, "--config", tmp_path / "missing.toml")
    assert code == 2 and "missing.toml: no such file" in err


def test_a_mistyped_command_is_refused_rather_than_opened_as_a_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = workbench(capsys, "chek", ".")
    assert code == 2 and "unknown command 'chek' (did you mean 'check'?)" in err
    (tmp_path / "serv").mkdir()  # a folder of that name: the app opens on it, as always
    from workbench.cli import _mistyped_command

    assert _mistyped_command("serv") is None and _mistyped_command("serve-x") == "serve"


SECRET_TYPED = "hunter2xyz"


def test_a_mistyped_command_line_never_echoes_a_value(tmp_path, capsys):
    """argparse quotes what it could not read; a secret typed in the wrong place must not reach
    stderr, whole or in part, while the option names stay there to say what went wrong."""
    project = copy_sample(tmp_path, "scim-provisioning")
    cases = [
        (("config", project, f"scimClientSecret={SECRET_TYPED}"), "invalid choice: 'scimClientSecret=…'"),
        (("run", project, "--sett", f"scimClientSecret={SECRET_TYPED}"), "--sett scimClientSecret=…"),
        (("run", project, f"--bogus={SECRET_TYPED}"), "--bogus=…"),
        (("run", project, "extra", SECRET_TYPED), "unrecognized arguments: … …"),
        (("run", project, f"-v{SECRET_TYPED}"), "ignored explicit argument"),
        (("run", project, f"--json={SECRET_TYPED}"), "argument --json"),
        (("run", project, "--set", SECRET_TYPED), "the --set number 1 has no ="),
        (("run", project, "--set", "a=b", "--set", "=" + SECRET_TYPED), "the --set number 2 has no NAME"),
        # A base64 value's padding is no NAME=VALUE; repr's escapes; a value that is a word of the message.
        (("run", project, "--set", "scimClientSecret", SECRET_TYPED + "=="), "unrecognized arguments: …"),
        (("config", project, SECRET_TYPED + "=="), "invalid choice: '…'"),
        (("run", project, "--set", SECRET_TYPED + "=="), "looks like a value ending in ="),
        (("serve", project, f"--port={SECRET_TYPED[:4]}\\{SECRET_TYPED[4:]}"), "argument --port: must be a port"),
        (("run", project, f"--json={SECRET_TYPED[:4]}'\"{SECRET_TYPED[4:]}"), "ignored explicit argument '…'"),
        (("run", project, "--json=argument"), "argument --json: ignored explicit argument '…'"),
        (("config", project, "set", "n", "v", SECRET_TYPED), "error: unrecognized arguments: …"),
        (("sandbox", "--port", "70000"), "argument --port: must be a port number, 0-65535"),
    ]
    for argv, shown in cases:
        try:
            code, out, err = workbench(capsys, *argv)
        except SystemExit as exit_:  # argparse exits itself
            code, (out, err) = exit_.code, capsys.readouterr()
        assert code == 2 and shown in err, (argv, err)
        for part in (SECRET_TYPED, SECRET_TYPED[:4], SECRET_TYPED[1:], SECRET_TYPED[3:], "2xyz"):
            assert part not in out + err, (argv, err)


def test_config_file_and_env_vars(tmp_path, sandbox, capsys, monkeypatch):
    project = copy_sample(tmp_path, "scim-provisioning")
    other = tmp_path / "ci-config.toml"
    other.write_text(
        f'scimServiceUrl = "{sandbox.service_url}"\nscimTokenUrl = "{sandbox.token_url}"\n'
        f'scimClientId = "{sandbox.client_id}"\nnewUserName = "{unique_user()}"\n', encoding="utf-8")
    monkeypatch.setenv("WB_VAR_SCIMCLIENTSECRET", sandbox.client_secret)
    code, out, err = workbench(capsys, "run", project, "--config", other)
    assert code == 0, out + err
    monkeypatch.setenv("WB_VAR_SCIMCLIENTSECRET", "wrong-secret")
    code, out, _ = workbench(capsys, "run", project, "--config", other, "--set", f"newUserName={unique_user()}")
    assert code == 1 and "wrong-secret" not in out


# -- output formats ---------------------------------------------------------------------------------

COMMON = {"event": str, "ts": str, "run": str}
NUMBER = (int, float)
SCHEMA: dict[str, tuple[dict, dict]] = {  # event -> (required fields, optional fields)
    "run.started": ({"entry": str, "project": str}, {}),
    "step.started": ({"step": str, "kind": str, "label": str}, {"item": int}),
    "step.finished": ({"step": str, "kind": str, "label": str, "status": str, "durationMs": NUMBER, "summary": str},
                      {"item": int, "error": dict, "args": object, "result": object, "attempts": int}),
    "item.finished": ({"step": str, "item": int, "status": str, "durationMs": NUMBER},
                      {"id": (str, int), "summary": str, "error": dict, "retries": int, "kept": bool}),
    "foreach.progress": ({"step": str, "done": int, "total": int, "failed": int}, {"item": int}),
    "http.exchange": ({"method": str, "url": str, "status": (int, type(None)), "durationMs": NUMBER},
                      {"step": str, "item": int}),
    "log": ({"level": str, "message": str}, {"step": str, "item": int}),
    "run.finished": ({"status": str, "durationMs": NUMBER, "result": object}, {"error": dict}),
}


def check_event(data: dict) -> None:
    required, optional = SCHEMA[data["event"]]
    for key, kind in {**COMMON, **required}.items():
        assert key in data and isinstance(data[key], kind), (key, data)
    for key, kind in optional.items():
        assert key not in data or isinstance(data[key], kind), (key, data)
    assert set(data) <= set(COMMON) | set(required) | set(optional), data
    assert RUN_ID.match(data["run"])
    datetime.fromisoformat(data["ts"].replace("Z", "+00:00"))
    if data["event"] == "step.finished":
        assert data["status"] in ("ok", "failed", "skipped")
        assert data["step"] == "0" or re.match(r"^(onError\.)?\d+(\.(then|else|steps)\.\d+)*$", data["step"])
    if data["event"] == "run.finished":
        assert data["status"] in ("succeeded", "failed", "cancelled")
    if "error" in data:
        assert {"message", "type", "step"} <= set(data["error"])


def test_json_lines_follow_the_schema(tmp_path, sandbox, capsys):
    project = copy_sample(tmp_path, "bulk-onboarding")
    unique_hires(project)
    for expected in (0, 1):  # a success, then the same rows again: 409s
        code, out, err = workbench(capsys, "run", project, *sets(sandbox), "--json")
        assert code == expected
        lines = out.splitlines()
        events = [json.loads(line) for line in lines]  # every line is JSON, nothing else
        for data in events:
            check_event(data)
        kinds = [e["event"] for e in events]
        assert kinds[0] == "run.started" and kinds[-1] == "run.finished" and kinds.count("run.finished") == 1
        assert {"step.started", "step.finished", "foreach.progress", "http.exchange", "item.finished"} <= set(kinds)
        assert len({e["run"] for e in events}) == 1
    assert events[-1]["error"]["scimType"] == "uniqueness" and events[-1]["error"]["status"] == 409


def test_verbose_adds_http_exchanges(tmp_path, sandbox, capsys):
    project = copy_sample(tmp_path, "scim-provisioning")
    code, out, _ = workbench(capsys, "run", project, *sets(sandbox, newUserName=unique_user()))
    assert code == 0 and "POST" not in out
    code, out, _ = workbench(capsys, "run", project, *sets(sandbox, newUserName=unique_user()), "-v")
    assert code == 0
    assert f"POST {sandbox.token_url} → 200" in out and f"POST {sandbox.service_url}/Users → 201" in out
    assert "Authorization" not in out and "Bearer" not in out


# -- history and redaction --------------------------------------------------------------------------


def test_history_lists_and_replays_like_the_live_output(tmp_path, sandbox, capsys):
    project = copy_sample(tmp_path, "scim-provisioning")
    user = unique_user()
    code, live_ok, _ = workbench(capsys, "run", project, *sets(sandbox, newUserName=user))
    assert code == 0
    code, live_failed, _ = workbench(capsys, "run", project, *sets(sandbox, newUserName=user), "-v")
    assert code == 1
    runs = list_runs(project)
    assert [r.status for r in runs] == ["succeeded", "failed"] and all(RUN_ID.match(r.id) for r in runs)

    code, out, _ = workbench(capsys, "runs", project)
    assert code == 0
    table = out.splitlines()
    assert table[0].split() == ["ID", "ENTRY", "STARTED", "DURATION", "STATUS"]
    assert table[1].startswith(runs[1].id) and table[1].endswith("failed")  # newest first
    assert table[2].startswith(runs[0].id) and "provisionUser" in table[2] and table[2].endswith("succeeded")

    assert workbench(capsys, "runs", project, "show", runs[0].id)[1] == live_ok
    assert workbench(capsys, "runs", project, "show", runs[1].id[:-2], "-v")[1] == live_failed  # a prefix

    code, out, _ = workbench(capsys, "runs", project, "--json")
    assert [r["status"] for r in json.loads(out)] == ["succeeded", "failed"]
    code, out, _ = workbench(capsys, "runs", project, "show", runs[1].id, "--json")
    replay = [json.loads(line) for line in out.splitlines()]
    assert replay[0]["event"] == "run.started" and replay[-1]["error"]["scimType"] == "uniqueness"
    code, _, err = workbench(capsys, "runs", project, "show", "1999")
    assert code == 2 and "no run" in err


def test_no_secret_in_output_or_history(tmp_path, sandbox, capsys):
    project = copy_sample(tmp_path, "scim-provisioning")
    store = ProjectStore.open(project)
    store.add_step("provisionUser", {"log": "leaking ${config.scimClientSecret} on purpose"})
    store.add_step("provisionUser", {"return": {"secret": "${config.scimClientSecret}"}})
    secret = sandbox.client_secret
    users = [unique_user() for _ in range(3)]
    outputs = []
    for user, extra in zip(users, ([], ["-v"], ["--json"])):
        code, out, err = workbench(capsys, "run", project, *sets(sandbox, newUserName=user), *extra)
        assert code == 0, out + err
        outputs.append(out + err)
    code, out, err = workbench(capsys, "run", project, *sets(sandbox, newUserName=users[0]), "-v")
    assert code == 1  # the failure path too (409)
    outputs.append(out + err)
    for run in list_runs(project):
        outputs.append(workbench(capsys, "runs", project, "show", run.id, "-v")[1])
    history = [p.read_text(encoding="utf-8") for p in runs_dir(project).iterdir()]  # the resume state too
    assert len([p for p in runs_dir(project).iterdir() if p.suffix == ".jsonl"]) == 4
    for text in outputs + history:
        assert secret not in text
    assert "leaking •••• on purpose" in outputs[0] and '"secret": "••••"' in outputs[0]
    assert sum("leaking •••• on purpose" in text for text in history) == 3


# -- Ctrl+C in a real process -----------------------------------------------------------------------

SLOW_CLI = """
import asyncio, sys
from pydantic import BaseModel
from workbench.connectors import catalogue
from workbench.connectors.base import Connection, ConnectorSpec, OperationSpec

class Params(BaseModel):
    seconds: float = 0.0

class Config(BaseModel):
    hangOnClose: bool = False

class Slow(Connection):
    async def wait(self, params):
        await asyncio.sleep(params.seconds)
        return {"id": "slept"}

    async def aclose(self):
        if self.config.hangOnClose:
            await asyncio.sleep(60)

SPEC = ConnectorSpec(id="slow", name="Slow", package="tests/slow", version="0", description="", category="Test",
                     connection=Config, operations={"wait": OperationSpec("wait", "Wait", "", Params)},
                     implementation="__main__:Slow")
real_get = catalogue.get
catalogue.get = lambda cid: SPEC if cid == "slow" else real_get(cid)
from workbench.cli import main
sys.exit(main(sys.argv[1:]))
"""

SLOW_PROJECT = """
[integration]
name = "slow"

[configurables.rows]
type = "int[]"
default = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]

[connections.slow]
connector = "slow"
hangOnClose = {hang}

[entrypoints.main]
[[entrypoints.main.steps]]
foreach = "${{config.rows}}"
concurrency = 2
steps = [{{ call = "slow.wait", args = {{ seconds = 0.3 }} }}]
"""


def start_slow_run(tmp_path: Path, hang: bool) -> tuple[subprocess.Popen, Path]:
    project = tmp_path / "slow"
    project.mkdir()
    (project / "workbench.toml").write_text(SLOW_PROJECT.format(hang=str(hang).lower()), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_CLI, "run", str(project), "-v"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, project


def read_until(proc: subprocess.Popen, stream, needle: str, timeout: float = 20.0) -> str:
    """Read the raw pipe (no buffering that would hide data from select) until `needle`."""
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(stream.fileno(), selectors.EVENT_READ)
        while needle.encode() not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                proc.kill()
                raise AssertionError(f"{needle!r} not seen in time; got {seen!r}")
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                raise AssertionError(f"{needle!r} not seen before the end; got {seen!r}")
            seen += chunk
    return seen.decode()


def test_ctrl_c_cancels_cleanly(tmp_path):
    proc, project = start_slow_run(tmp_path, hang=False)
    try:
        seen = read_until(proc, proc.stdout, "✓ 0.steps.0")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "cancelling" in err
    assert (seen + out).splitlines()[-1].startswith("■ cancelled in ")
    [run] = list_runs(project)
    assert run.status == "cancelled"


def test_second_ctrl_c_exits_at_once(tmp_path):
    proc, project = start_slow_run(tmp_path, hang=True)  # closing the connection hangs for 60 s
    try:
        read_until(proc, proc.stdout, "✓ 0.steps.0")
        proc.send_signal(signal.SIGINT)
        read_until(proc, proc.stderr, "cancelling")
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        assert time.monotonic() - started < 5
    finally:
        proc.kill()
    assert proc.returncode == 130
