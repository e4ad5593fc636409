"""End-to-end review of the headless product against its two hard rules:

1. secrets never leak (CLI output plain / -v / --json, `runs show`, run history, `check`,
   `config`, Python logging, error messages), and a Config.toml holding one is mode 0600;
2. bad input gets a clear error and nothing is lost (malformed TOML with file:line:col and never
   overwritten, unknown names, wrong types, missing values, unreachable hosts, token errors).

Every test searches the output for the secret itself and for the forms it takes in a URL or in
JSON text. Servers are the sandbox and a tiny echo server, both on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import pydantic
import pytest

from workbench.cli import main
from workbench.project.config import MASK

from tests.helpers import copy_sample, make_project

ROOT = Path(__file__).resolve().parent.parent


# -- helpers ------------------------------------------------------------------------------------


def forms(secret: str) -> set[str]:
    """The secret, and what it looks like percent-encoded (query, path) or escaped in JSON."""
    url = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret, safe="/!$&'()*+,;=:@")}
    return url | {json.dumps(f)[1:-1] for f in url}


def assert_no_secret(secret: str, *texts: str) -> None:
    for text in texts:
        for form in forms(secret):
            assert form not in text, f"{form!r} leaked in:\n{text}"


def workbench(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def history(project: Path) -> str:
    folder = project / ".workbench" / "runs"
    return "".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.jsonl"))) if folder.is_dir() else ""


def run_ids(project: Path) -> list[str]:
    return [p.stem for p in sorted((project / ".workbench" / "runs").glob("*.jsonl"))]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sandbox_sets(sb, **more: str) -> list[str]:
    values = {"scimServiceUrl": sb.service_url, "scimTokenUrl": sb.token_url, "scimClientId": sb.client_id,
              "scimClientSecret": sb.client_secret, "newUserName": f"rv-{uuid.uuid4().hex[:8]}@example.com", **more}
    return [arg for name, value in values.items() for arg in ("--set", f"{name}={value}")]


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with a SCIM 400 whose detail echoes the X-Api-Key header and the raw
    path: a server quoting what it was sent."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        key = self.headers.get("X-Api-Key", "")
        body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
                           "scimType": "invalidValue", "detail": f"bad key {key} for {self.path}"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


ECHO_PROJECT = """
[integration]
name = "echo"

[configurables.apiKey]
type = "string"
secret = true

[configurables.base]
type = "string"

[connections.idp]
connector = "scim"
serviceUrl = "${{config.base}}/scim2"
headers = {{ "X-Api-Key" = "${{config.apiKey}}" }}
retry = {{ attempts = 1 }}

[connections.api]
connector = "http"
baseUrl = "${{config.base}}"
headers = {{ "X-Api-Key" = "${{config.apiKey}}" }}

[entrypoints.http]
kind = "automation"

[[entrypoints.http.steps]]
log = "the key is ${{config.apiKey}}"

[[entrypoints.http.steps]]
call = "api.get"
args = {{ path = "x/${{config.apiKey}}", query = {{ key = "${{config.apiKey}}" }} }}

[entrypoints.scim]
kind = "automation"

[[entrypoints.scim.steps]]
call = "idp.getUser"
args = {{ id = "${{config.apiKey}}" }}
{extra}
"""


# -- rule 1: secrets never leak ---------------------------------------------------------------


def test_a_secret_in_a_url_a_header_and_an_echoed_error_is_masked_everywhere(tmp_path, capsys, caplog, echo_server):
    """A secret with URL and JSON special characters, sent in a query, a path and a header, and
    echoed back by the server in a SCIM error detail: masked in plain, -v and --json output, in
    `runs show`, in the history and in Python logging (httpx logs each request URL at INFO)."""
    secret = 'k"e\\y/+ 1=&s3cr3t'
    project = make_project(tmp_path / "echo", ECHO_PROJECT.format(extra=""))
    caplog.set_level(logging.DEBUG)
    outputs = []
    for entry in ("http", "scim"):
        for flags in ([], ["-v"], ["--json"]):
            code, out, err = workbench(capsys, "run", project, "--entry", entry, *flags,
                                       "--set", f"apiKey={secret}", "--set", f"base={echo_server}")
            assert code == 1, out + err
            outputs += [out, err]
    for run_id in run_ids(project):
        for flags in (["-v"], ["--json"]):
            code, out, err = workbench(capsys, "runs", project, "show", run_id, *flags)
            assert code == 0
            outputs += [out, err]
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert "HTTP Request: GET" in logs  # httpx did log the URLs...
    assert_no_secret(secret, *outputs, history(project), logs)  # ...with the secret masked
    text = "".join(outputs)
    assert f"the key is {MASK}" in text
    assert "SCIM 400 invalidValue" in text and "status 400" in text


def test_python_logging_during_a_run_masks_secrets(tmp_path, capsys, caplog, echo_server):
    """An application that turns logging on (DEBUG) sees httpx's request lines, httpcore's and
    the connectors' messages: a plain secret in a query parameter is masked there too."""
    secret = "PlainKey12345"
    project = make_project(tmp_path / "echo", ECHO_PROJECT.format(extra=""))
    caplog.set_level(logging.DEBUG)
    code, out, err = workbench(capsys, "run", project, "--entry", "http", "--set", f"apiKey={secret}",
                               "--set", f"base={echo_server}")
    assert code == 1
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("HTTP Request: GET") and MASK in m for m in messages)
    assert_no_secret(secret, out, err, history(project), "\n".join(messages))
    # Outside a run nothing is changed.
    logging.getLogger("review").warning("not a run: %s", secret)
    assert caplog.records[-1].getMessage() == f"not a run: {secret}"


def test_a_one_character_secret_garbles_no_structure_and_check_warns(tmp_path, capsys):
    """Masking every "a" is the price of a one-letter secret, but the error object keeps its keys
    (`message`, `status`...) so the CLI and JSON readers still find them; `check` warns."""
    project = make_project(tmp_path / "short", """
[integration]
name = "short"

[configurables.token]
type = "string"
secret = true

[entrypoints.go]
kind = "automation"

[[entrypoints.go.steps]]
fail = "boom"
""")
    code, out, _ = workbench(capsys, "run", project, "--json", "--set", "token=a")
    assert code == 1
    finished = [json.loads(line) for line in out.splitlines()][-1]
    assert finished["event"] == "run.finished"
    assert set(finished["error"]) == {"message", "type", "step"} and finished["error"]["message"] == "boom"
    code, out, _ = workbench(capsys, "run", project, "--set", "token=a")
    assert code == 1 and "boom at step 0" in out
    code, out, _ = workbench(capsys, "check", project, "--set", "token=a")
    assert code == 0 and "[short-secret]" in out
    code, out, _ = workbench(capsys, "check", project, "--set", "token=long-enough")
    assert code == 0 and "short-secret" not in out


def test_the_items_of_a_secret_array_are_masked(tmp_path, capsys):
    project = make_project(tmp_path / "arr", """
[integration]
name = "arr"

[configurables.keys]
type = "string[]"
secret = true

[entrypoints.go]
kind = "automation"

[[entrypoints.go.steps]]
log = "first ${config.keys[0]}"

[[entrypoints.go.steps]]
log = "derived ${upper(config.keys[0])} ${lower(config.keys[1])} ${trim(config.keys[1])}"

[[entrypoints.go.steps]]
foreach = "${config.keys}"

[[entrypoints.go.steps.steps]]
log = "item ${item}"
""")
    code, out, err = workbench(capsys, "run", project, "-v", "--set", "keys=alphaSecret1,betaSecret2")
    assert code == 0
    for secret in ("alphaSecret1", "betaSecret2", "ALPHASECRET1", "betasecret2"):
        assert_no_secret(secret, out, err, history(project))
    assert f"first {MASK}" in out and f"item {MASK}" in out and f"derived {MASK} {MASK} {MASK}" in out


def test_a_bad_secret_value_is_never_echoed(tmp_path, capsys, monkeypatch):
    """Wrong types for secrets, from Config.toml, the environment and --set: the error names the
    configurable, the source and the kinds, never the value (not even an item of an array)."""
    project = make_project(tmp_path / "typed", """
[integration]
name = "typed"

[configurables.pin]
type = "int"
secret = true

[configurables.keys]
type = "string[]"
secret = true

[entrypoints.go]
kind = "automation"

[[entrypoints.go.steps]]
log = "hi"
""", config='keys = ["fine", 12345678]\npin = "x1y2z3w4"\n')
    texts = []
    for argv, expected in ((["check", project], 2), (["check", project, "--json"], 2), (["run", project], 2),
                           (["config", project, "list"], 0), (["config", project, "get", "keys"], 1),
                           (["config", project, "get", "pin"], 1)):
        code, out, err = workbench(capsys, *argv)
        assert code == expected, (argv, out, err)
        texts += [out, err]
    joined = "".join(texts)
    assert "keys from Config.toml: expected a string, got int" in joined and "pin from Config.toml" in joined
    assert_no_secret("12345678", joined)
    assert_no_secret("x1y2z3w4", joined)

    monkeypatch.setenv("WB_VAR_PIN", "hunter2secret")
    code, out, err = workbench(capsys, "run", project, "--set", 'keys=["ok", 42424242]')
    assert code == 2 and "pin from WB_VAR_PIN: expected an int" in out
    assert_no_secret("hunter2secret", out, err)
    assert_no_secret("42424242", out, err)

    # An empty value: a clear message, not one garbled by masking "" between every character.
    code, out, err = workbench(capsys, "config", project, "set", "pin", "")
    assert code == 2 and err == f"workbench: pin: expected an int, got string {MASK}\n"
    code, out, err = workbench(capsys, "config", project, "set", "keys", '[1, "s3cr3tItem"]')
    assert code == 2 and "expected a string, got int" in err
    assert (project / "Config.toml").read_text() == 'keys = ["fine", 12345678]\npin = "x1y2z3w4"\n'


@pytest.mark.parametrize("model_path", ["workbench.connectors.scim:ScimConnectionConfig",
                                        "workbench.connectors.http:HttpConnectionConfig"])
def test_connection_validation_errors_do_not_echo_the_auth_table(model_path):
    import importlib

    module, _, name = model_path.partition(":")
    model = getattr(importlib.import_module(module), name)
    url_key = "serviceUrl" if "scim" in module else "baseUrl"
    bad = {url_key: "http://127.0.0.1/", "auth": {"type": "oauth2-client-credentials", "tokenUrl": "http://127.0.0.1/t",
                                                  "clientSecret": "TopSecretValue9"}, "headers": {"X-Key": 5}}
    with pytest.raises(pydantic.ValidationError) as info:
        model.model_validate(bad)
    assert "clientId" in str(info.value)
    assert "TopSecretValue9" not in str(info.value) and "TopSecretValue9" not in repr(info.value)


def test_token_and_host_errors_are_clear_and_free_of_secrets(tmp_path, capsys, sandbox):
    project = copy_sample("scim-provisioning", tmp_path)
    text = (project / "workbench.toml").read_text()
    (project / "workbench.toml").write_text(text.replace('serviceUrl = "${config.scimServiceUrl}"\n',
                                                         'serviceUrl = "${config.scimServiceUrl}"\nretry = { attempts = 1 }\n'))
    wrong = "wrong-Secret-42"
    texts = []
    for flags in ([], ["-v"], ["--json"]):
        code, out, err = workbench(capsys, "run", project, *flags, *sandbox_sets(sandbox, scimClientSecret=wrong))
        assert code == 1 and "invalid_client" in out and "status 401" in out.replace('"status": 401', "status 401")
        texts += [out, err]
    port = closed_port()
    code, out, err = workbench(capsys, "run", project, *sandbox_sets(
        sandbox, scimClientSecret=wrong, scimTokenUrl=f"http://127.0.0.1:{port}/oauth2/token"))
    assert code == 1 and f"token request to http://127.0.0.1:{port}/oauth2/token failed: cannot connect" in out
    texts += [out, err]
    code, out, err = workbench(capsys, "run", project, *sandbox_sets(
        sandbox, scimServiceUrl=f"http://127.0.0.1:{port}/scim2"))
    assert code == 1 and f"POST http://127.0.0.1:{port}/scim2/Users: cannot connect" in out
    texts += [out, err]
    for run_id in run_ids(project):
        texts.append(workbench(capsys, "runs", project, "show", run_id, "-v")[1])
    assert_no_secret(wrong, *texts, history(project))
    assert_no_secret(sandbox.client_secret, *texts, history(project))


def test_config_toml_holding_a_secret_becomes_0600(tmp_path, capsys, monkeypatch):
    from workbench.cli.sandbox import write_config

    project = copy_sample("scim-provisioning", tmp_path)
    config = project / "Config.toml"
    config.write_text('scimClientSecret = "hand-Written-1"\n')  # by hand: readable by others
    config.chmod(0o644)
    code, out, _ = workbench(capsys, "check", project, "--json")
    [warning] = [d for d in json.loads(out) if d["code"] == "config-permissions"]
    assert warning["severity"] == "warning" and "0644" in warning["message"]
    assert_no_secret("hand-Written-1", out)
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cr3t-From-Stdin\n"))
    code, out, _ = workbench(capsys, "config", project, "set", "scimClientSecret", "-")
    assert code == 0 and "s3cr3t-From-Stdin" not in out
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    code, out, _ = workbench(capsys, "check", project)
    assert "config-permissions" not in out
    other = tmp_path / "other.toml"
    other.write_text("# mine\n")
    other.chmod(0o644)
    write_config(other, {"scimClientSecret": "x" * 12})
    assert stat.S_IMODE(other.stat().st_mode) == 0o600 and other.read_text().startswith("# mine\n")


# -- rule 2: bad input gets a clear error, and nothing is lost ---------------------------------


def test_malformed_config_toml_is_reported_with_line_and_column_and_never_written(tmp_path, capsys):
    project = copy_sample("scim-provisioning", tmp_path)
    config = project / "Config.toml"
    broken = 'scimClientId = "abc"\nscimClientSecret = "unterminated-S3cret\n'
    config.write_text(broken)
    where = f"{config}:2:"
    for argv in (["config", project, "list"], ["config", project, "get", "scimClientId"],
                 ["config", project, "set", "scimClientId", "x"], ["config", project, "unset", "scimClientId"]):
        code, out, err = workbench(capsys, *argv)
        assert code == 2 and where in err and "not overwritten" in err, (argv, out, err)
    code, out, _ = workbench(capsys, "check", project)
    assert code == 2 and f"{where}" in out and "[toml-syntax]" in out
    line = next(line for line in out.splitlines() if "[toml-syntax]" in line)
    assert line.startswith(f"{config}:2:") and line.split(":")[2].isdigit()  # file:line:col
    code, out, _ = workbench(capsys, "run", project)
    assert code == 2 and "nothing was run" in out
    code, out, err = workbench(capsys, "sandbox", "--port", "0", "--write-config", project)
    assert code == 1 and where in err
    assert config.read_text() == broken
    assert_no_secret("unterminated-S3cret", out, err)


def test_malformed_workbench_toml_is_named_by_every_command(tmp_path, capsys):
    project = copy_sample("scim-provisioning", tmp_path)
    manifest = project / "workbench.toml"
    broken = manifest.read_text().replace('name = "scim-provisioning"', 'name = "scim-provisioning')
    manifest.write_text(broken)
    for argv in (["config", project, "list"], ["config", project, "set", "newUserName", "x"]):
        code, out, err = workbench(capsys, *argv)
        assert code == 2 and f"{manifest}:" in err and "unknown configurable" not in err, (argv, out, err)
    code, out, _ = workbench(capsys, "run", project)
    assert code == 2 and "[toml-syntax]" in out and "no entry point" not in out
    assert manifest.read_text() == broken


def test_run_with_another_config_file_names_that_file(tmp_path, capsys):
    project = copy_sample("scim-provisioning", tmp_path)
    alt = tmp_path / "alt.toml"
    alt.write_text("scimClientId = 5\n")
    code, out, _ = workbench(capsys, "run", project, "--config", alt)
    assert code == 2 and f"{alt}:1: error: scimClientId from Config.toml: expected a string" in out
    alt.write_text('scimClientId = "\n')
    code, out, _ = workbench(capsys, "run", project, "--config", alt)
    assert code == 2 and f"{alt}:1:" in out and "[toml-syntax]" in out and f"{project / 'alt.toml'}" not in out


def test_unknown_set_names_and_missing_values_stop_the_run_before_any_request(tmp_path, capsys, sandbox):
    project = copy_sample("scim-provisioning", tmp_path)
    before = sandbox.requests
    code, out, _ = workbench(capsys, "run", project, *sandbox_sets(sandbox), "--set", "scimClientSecrt=typo")
    assert code == 2 and "did you mean 'scimClientSecret'" in out and "nothing was run" in out
    code, out, _ = workbench(capsys, "check", project, "--set", "newUserNam=x")
    assert code == 2 and "did you mean 'newUserName'" in out
    code, out, _ = workbench(capsys, "run", project)
    assert code == 2
    for name in ("scimServiceUrl", "scimTokenUrl", "scimClientId", "scimClientSecret"):
        assert f"required configurable {name} has no value" in out
    code, out, _ = workbench(capsys, "run", project, "--entry", "nope", *sandbox_sets(sandbox))
    assert code == 2 and "unknown entry point 'nope' (known: provisionUser)" in out
    assert sandbox.requests == before
    assert not (project / ".workbench").exists()


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`workbench check DIR | head -0`: no traceback when the reader has gone."""
    project = copy_sample("scim-provisioning", tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "check", str(project)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the child prints (its imports take far longer)
    err = proc.stderr.read().decode()
    proc.wait(timeout=30)
    proc.stderr.close()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
