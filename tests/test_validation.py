"""The one validation (workbench.project.validation): what `check` accepts, the run accepts.

Each case of issue 11 in `check` (with its key path in `check --json`), the static typing of
expressions, the editors' entry point (`Validator`), and a property test: over generated
projects on the scim, http and file connectors, `check` reports an error exactly when the run,
left to its own checks, stops before its first request.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.helpers import ROOT, make_project
from workbench.cli import main
from workbench.project import ProjectStore
from workbench.project.diagnostics import check, has_errors
from workbench.project.validator import Validator
from workbench.runtime import Engine
from workbench.runtime.engine import PreflightError

HEAD = """[integration]
name = "v"
"""

SCIM = """
[configurables.scimServiceUrl]
type = "string"

[connections.scimClient]
connector = "scim"
serviceUrl = "${config.scimServiceUrl}"

[entrypoints.main]
kind = "automation"
"""


def diagnose(tmp_path: Path, text: str, config: str | None = None, env=None):
    store = ProjectStore.open(make_project(tmp_path / "p", HEAD + text, config))
    return check(store, env=env or {})


def errors(diags):
    return [d for d in diags if d.severity == "error"]


def clean(message: str) -> None:
    """The project's own words."""
    for leak in ("Value error", "errors.pydantic.dev", "type=", "Input should"):
        assert leak not in message, message


def create_user(payload: str) -> str:
    return f'\n[[entrypoints.main.steps]]\ncall = "scimClient.createUser"\nargs.payload = {payload}\n'


URL_CONFIG = 'scimServiceUrl = "http://127.0.0.1:9/scim2"\n'


# -- the cases of the issue ------------------------------------------------------------------------


def test_a_plain_address_in_emails_is_refused_by_check(tmp_path):
    [d] = errors(diagnose(tmp_path, SCIM + create_user('{ userName = "kim", emails = "kim@corp.io" }'), URL_CONFIG))
    assert d.code == "type-mismatch" and d.key == "entrypoints.main.steps[0].args.payload.emails"
    assert d.message == "scimClient.createUser args: payload.emails must be a list, not a string"
    assert d.line  # on the step's line
    clean(d.message)


@pytest.mark.parametrize("field", ["phoneNumbers", "addresses"])
def test_phone_numbers_and_addresses_are_lists_of_objects(tmp_path, field):
    [d] = errors(diagnose(tmp_path, SCIM + create_user(f'{{ userName = "kim", {field} = ["x"] }}'), URL_CONFIG))
    assert d.key == f"entrypoints.main.steps[0].args.payload.{field}[0]" and "must be a table" in d.message


def test_a_payload_without_user_name_is_refused_by_check(tmp_path):
    [d] = errors(diagnose(tmp_path, SCIM + create_user('{ displayName = "Kim" }'), URL_CONFIG))
    assert d.code == "missing-key" and d.key == "entrypoints.main.steps[0].args.payload.userName"
    assert d.message == "scimClient.createUser args: payload.userName is required"


def test_the_enterprise_extension_is_checked(tmp_path):
    payload = '{ userName = "kim", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" = { manager = "x" } }'
    [d] = errors(diagnose(tmp_path, SCIM + create_user(payload), URL_CONFIG))
    assert d.key.endswith('args.payload."urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".manager')
    ok = '{ userName = "kim", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" = { employeeNumber = "7" } }'
    assert errors(diagnose(tmp_path / "ok", SCIM + create_user(ok), URL_CONFIG)) == []


def test_a_bad_url_bound_to_service_url_names_the_configurable_and_the_field(tmp_path):
    [d] = errors(diagnose(tmp_path, SCIM, 'scimServiceUrl = "htp:/127.0.0.1 45089/scim2"\n'))
    assert d.message == "scimServiceUrl is used as scimClient.serviceUrl, which must be an http(s) URL"
    assert d.key == "connections.scimClient.serviceUrl" and d.code == "bad-value"


def test_a_bad_url_bound_to_token_url_too(tmp_path):
    text = SCIM + """
[configurables.tokenUrl]
type = "string"
default = "127.0.0.1/token"

[connections.scimClient.auth]
type = "oauth2-client-credentials"
tokenUrl = "${config.tokenUrl}"
clientId = "c"
clientSecret = "${config.scimServiceUrl}"
"""
    [d] = errors(diagnose(tmp_path, text, URL_CONFIG))
    assert d.message == "tokenUrl is used as scimClient.auth.tokenUrl, which must be an http(s) URL"
    assert d.key == "connections.scimClient.auth.tokenUrl"


def test_a_required_configurable_set_to_empty_is_missing(tmp_path):
    [d] = errors(diagnose(tmp_path, SCIM, 'scimServiceUrl = ""\n'))
    assert d.code == "missing-value" and d.key == "configurables.scimServiceUrl"
    store = ProjectStore.open(tmp_path / "p")
    with pytest.raises(PreflightError):
        Engine(store, env={}, history=False).preflight()


def test_a_literal_bad_url_in_a_connection_field_is_at_the_field(tmp_path):
    text = SCIM.replace('serviceUrl = "${config.scimServiceUrl}"', 'serviceUrl = "htp:/x"')
    [d] = errors(diagnose(tmp_path, text, URL_CONFIG))
    assert d.key == "connections.scimClient.serviceUrl" and d.line == (HEAD + text).splitlines().index('serviceUrl = "htp:/x"') + 1
    assert d.message == "connection scimClient: serviceUrl must be an http(s) URL"


OAUTH = SCIM + """
[configurables.method]
type = "string"
default = "client_secret_post"

[configurables.scopes]
type = "string[]"
default = ["a", "b"]

[configurables.t]
type = "int"
default = 20

[configurables.verify]
type = "boolean"
default = false

[configurables.attempts]
type = "int"
default = 2

[connections.scimClient.auth]
type = "oauth2-client-credentials"
tokenUrl = "http://127.0.0.1:9/token"
clientId = "c"
clientSecret = "${config.scimServiceUrl}"
authMethod = "${config.method}"
scopes = "${config.scopes}"
"""


def test_expressions_are_accepted_in_any_field(tmp_path):
    text = OAUTH.replace('serviceUrl = "${config.scimServiceUrl}"', 'serviceUrl = "${config.scimServiceUrl}"\n'
                         'timeout = "${config.t}"\nverifyTls = "${config.verify}"\nretry = { attempts = "${config.attempts}" }')
    assert errors(diagnose(tmp_path, text, URL_CONFIG)) == []


def test_expressions_are_accepted_without_values_too(tmp_path):
    """A configurable without a value has its declared type: no error that depends on the value."""
    diags = diagnose(tmp_path, OAUTH, None)
    assert {d.code for d in errors(diags)} == {"missing-value"}


def test_a_bound_value_is_checked_against_the_field_once_resolved(tmp_path):
    text = OAUTH.replace('default = "client_secret_post"', 'default = "client_secret_jwt"').replace(
        'type = "string[]"\ndefault = ["a", "b"]', 'type = "string"\ndefault = "a b"')
    found = {d.key: d.message for d in errors(diagnose(tmp_path, text, URL_CONFIG))}
    assert found == {
        "connections.scimClient.auth.authMethod": "method is used as scimClient.auth.authMethod, which must be "
                                                  "'client_secret_basic' or 'client_secret_post'",
        "connections.scimClient.auth.scopes": "scopes is used as scimClient.auth.scopes, which must be a list, not a string",
    }


def test_timeout_retry_and_verify_tls_bound_to_wrong_values(tmp_path):
    text = OAUTH.replace('serviceUrl = "${config.scimServiceUrl}"', 'serviceUrl = "${config.scimServiceUrl}"\n'
                         'timeout = "${config.method}"\nverifyTls = "${config.t}"\nretry = "${config.attempts}"')
    found = {d.key: d.message for d in errors(diagnose(tmp_path, text, URL_CONFIG))}
    assert found == {
        "connections.scimClient.timeout": "method is used as scimClient.timeout, which must be a number, not a string",
        "connections.scimClient.verifyTls": "t is used as scimClient.verifyTls, which must be true or false, not an int",
        "connections.scimClient.retry": "attempts is used as scimClient.retry, which must be a table, not an int",
    }


def test_foreach_concurrency_may_be_an_expression(tmp_path):
    text = SCIM + """
[configurables.n]
type = "int"
default = 300

[[entrypoints.main.steps]]
foreach = "${config.names}"
concurrency = "${config.n}"
"""
    text = text.replace("[configurables.n]", '[configurables.names]\ntype = "string[]"\ndefault = ["a"]\n\n[configurables.n]')
    [d] = errors(diagnose(tmp_path, text, URL_CONFIG))
    assert d.key == "entrypoints.main.steps[0].concurrency"
    assert d.message == "n is used as foreach.concurrency, which must be at most 256"
    assert errors(diagnose(tmp_path / "ok", text.replace("default = 300", "default = 8"), URL_CONFIG)) == []


def test_messages_are_the_projects_own_words(tmp_path):
    text = SCIM.replace('serviceUrl = "${config.scimServiceUrl}"', 'serviceUrl = "x"\ntimeout = -1\nbogus = 1\n'
                        'auth = { type = "oauth2-client-credentials", authMethod = "x" }')
    diags = errors(diagnose(tmp_path, text + create_user('{ userName = 5, emails = "x" }'), URL_CONFIG))
    assert len(diags) >= 6
    for d in diags:
        clean(d.message)


def test_check_json_gives_each_fields_key_path(tmp_path, capsys):
    text = (SCIM.replace('serviceUrl = "${config.scimServiceUrl}"', 'serviceUrl = "${config.scimServiceUrl}"\n'
                         'auth = { type = "bearer", token = "${config.tok}" }')
            + '\n[configurables.tok]\ntype = "string"\n'
            + create_user('{ userName = "kim", emails = "kim@corp.io" }')
            + create_user('{ displayName = "Kim" }'))
    root = make_project(tmp_path / "p", HEAD + text, 'scimServiceUrl = "htp:/127.0.0.1 45089/scim2"\ntok = ""\n')
    assert main(["check", str(root), "--json"]) == 2
    found = {(d["code"], d["key"]) for d in json.loads(capsys.readouterr().out) if d["severity"] == "error"}
    assert found == {
        ("bad-value", "connections.scimClient.serviceUrl"),
        ("missing-value", "configurables.tok"),
        ("type-mismatch", "entrypoints.main.steps[0].args.payload.emails"),
        ("missing-key", "entrypoints.main.steps[1].args.payload.userName"),
    }


# -- expressions are typed where their type is known -------------------------------------------


FILES = """
[connections.files]
connector = "file"
"""


def test_a_readcsv_row_is_a_record_of_strings(tmp_path):
    text = SCIM + FILES + """
[[entrypoints.main.steps]]
call = "files.readCsv"
args = { path = "rows.csv" }
result = "rows"

[[entrypoints.main.steps]]
foreach = "${rows}"
as = "row"

[[entrypoints.main.steps.steps]]
call = "scimClient.createUser"
args.payload = { userName = "${row.email}", emails = "${row.email}", active = "${row.active}", name = "${row}" }
"""
    [d] = errors(diagnose(tmp_path, text, URL_CONFIG))  # a string is never a list; the rest depends on the row
    assert d.key == "entrypoints.main.steps[1].steps[0].args.payload.emails"
    assert d.message == "scimClient.createUser args: payload.emails must be a list, not a string"


def test_a_result_has_its_operations_type_and_unknown_is_never_an_error(tmp_path):
    text = SCIM + """
[[entrypoints.main.steps]]
call = "scimClient.createUser"
args.payload = { userName = "kim" }
result = "created"

[[entrypoints.main.steps]]
call = "scimClient.getUser"
args = { id = "${created}" }

[[entrypoints.main.steps]]
call = "scimClient.getUser"
args = { id = "${created.id}", attributes = "${created.schemas}" }
"""
    [d] = errors(diagnose(tmp_path, text, URL_CONFIG))
    assert d.key == "entrypoints.main.steps[1].args.id" and "must be a string, not a table" in d.message


def test_a_set_value_is_known(tmp_path):
    text = SCIM + """
[[entrypoints.main.steps]]
set = "name"
value = 42

[[entrypoints.main.steps]]
call = "scimClient.createUser"
args.payload = { userName = "${name}" }
"""
    [d] = errors(diagnose(tmp_path, text, URL_CONFIG))
    assert d.key.endswith("args.payload.userName") and "must be a string, not an int" in d.message


# -- the editors' entry point --------------------------------------------------------------------


def test_the_validator_checks_one_field_as_you_type(tmp_path):
    text = OAUTH + create_user('{ userName = "kim" }')
    store = ProjectStore.open(make_project(tmp_path / "p", HEAD + text, URL_CONFIG))
    v = Validator(store.project, store.resolve_config(env={}))
    assert v.connection("scimClient") == []
    fields = {**store.project.connections["scimClient"].fields, "serviceUrl": "htp:/x"}
    [p] = v.connection("scimClient", fields)
    assert p.path == ("serviceUrl",) and p.key == "connections.scimClient.serviceUrl"
    assert v.step("main", "0") == []
    [p] = v.step("main", "0", {"call": "scimClient.createUser", "args": {"payload": {"emails": []}}})
    assert p.path == ("args", "payload", "userName") and p.code == "missing-key"
    [p] = v.configurable("scimServiceUrl", "htp:/127.0.0.1 45089/scim2")
    assert p.binding == "scimServiceUrl" and p.key == "connections.scimClient.serviceUrl"
    assert p.message == "scimServiceUrl is used as scimClient.serviceUrl, which must be an http(s) URL"
    [p] = v.configurable("scimServiceUrl", "")
    assert p.code == "missing-value"
    [p] = v.configurable("t", "x", from_text=True)
    assert p.code == "type-mismatch" and "expected an int" in p.message


def test_validation_is_headless_and_check_imports_scim2_models_only_for_a_payload():
    code = ("import sys, workbench.project.validation; from workbench.cli import main; "
            "main(['check', 'projects/scim-provisioning', '--set', 'scimServiceUrl=x']); "
            "print('TEXTUAL', 'textual' in sys.modules, 'SCIM2', 'scim2_models' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False).stdout
    assert "TEXTUAL False" in out
    assert "scimServiceUrl is used as scimClient.serviceUrl, which must be an http(s) URL" in out


# -- the property: check's verdict is the run's ------------------------------------------------------

def _config_type(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "string[]"
    return None  # a table: no configurable holds one


class Gen:
    """Draws a field's value: mostly a valid literal, sometimes an invalid one, often a binding
    `${config.cN}` to a new configurable whose value (valid or not) has its declared type."""

    def __init__(self, draw) -> None:
        self.draw = draw
        self.config: dict[str, dict] = {}

    def value(self, valid: list, invalid: list):
        roll = self.draw(st.integers(0, 19))
        pool = invalid if roll == 0 and invalid else valid
        if roll >= 14:
            value = self.draw(st.sampled_from(valid + invalid if roll >= 18 and invalid else valid))
            type_ = _config_type(value)
            if type_ is not None:
                name = f"c{len(self.config)}"
                self.config[name] = {"type": type_, "default": value}
                return f"${{config.{name}}}"
            pool = valid
        return self.draw(st.sampled_from(pool))

    def maybe(self, out: dict, key: str, valid: list, invalid: list) -> None:
        if self.draw(st.booleans()):
            out[key] = self.value(valid, invalid)


URLS_OK = ["http://127.0.0.1:9/api", "https://idp.example/scim2"]
URLS_BAD = ["htp:/127.0.0.1 45089/scim2", "ftp://x", "http://", "127.0.0.1"]


def auth(g: Gen) -> dict:
    kind = g.draw(st.sampled_from(["none", "bearer", "oauth2-client-credentials", "basic"]))
    out: dict = {"type": kind}
    if kind == "bearer":
        out["token"] = g.value(["tok-1234"], [7])
    elif kind == "basic":
        out["username"] = g.value(["kim"], [5])
        out["password"] = g.value(["pw-1234"], [True])
    elif kind == "oauth2-client-credentials":
        out["tokenUrl"] = g.value(URLS_OK, URLS_BAD)
        out["clientId"] = g.value(["client"], [1])
        out["clientSecret"] = g.value(["s3cret-1"], [2.5])
        g.maybe(out, "authMethod", ["client_secret_basic", "client_secret_post"], ["jwt", 1])
        g.maybe(out, "scopes", [["a"], [], ["a", "b"]], ["a", 3])
    return out


def http_fields(g: Gen, url_key: str) -> dict:
    out: dict = {url_key: g.value(URLS_OK, URLS_BAD)}
    if g.draw(st.booleans()):
        out["auth"] = auth(g)
    g.maybe(out, "timeout", [5, 2.5, "10"], [0, -1, "slow", 601])
    g.maybe(out, "verifyTls", [True, False], ["yes-please", 3])
    if url_key == "serviceUrl":
        g.maybe(out, "retry", [{"attempts": 1}, {"attempts": 2, "backoff": 0}], [{"attempts": 0}, 3, {"tries": 1}])
    return out


def scim_payload(g: Gen) -> dict:
    payload: dict = {}
    if g.draw(st.integers(0, 9)):
        payload["userName"] = g.value(["kim", "ada"], [5, ""])
    g.maybe(payload, "emails", [[{"value": "kim@corp.io"}], [{"value": "kim@corp.io", "type": "work"}]],
            ["kim@corp.io", [{"value": "no-at-sign"}], ["kim@corp.io"]])
    g.maybe(payload, "active", [True, False], ["maybe", 3])
    g.maybe(payload, "name", [{"givenName": "Kim"}], ["Kim"])
    g.maybe(payload, "phoneNumbers", [[{"value": "+1 555"}]], ["555"])
    g.maybe(payload, "displayName", ["Kim J"], [7])
    return payload


@st.composite
def projects(draw):
    """A project over one connector, one call and maybe a foreach around it."""
    g = Gen(draw)
    connector = draw(st.sampled_from(["scim", "http", "file"]))
    if connector == "scim":
        fields = http_fields(g, "serviceUrl")
        if draw(st.integers(0, 3)):
            call = ("createUser", {"payload": scim_payload(g)})
        else:
            op = {"op": g.value(["replace", "add"], ["frob"]), "path": g.value(["title", "displayName"], ["noSuchAttr"]),
                  "value": g.value(["x"], [])}
            call = ("patchUser", {"id": g.value(["u1"], ["", 5]), "operations": [op]})
    elif connector == "http":
        fields = http_fields(g, "baseUrl")
        args: dict = {}
        g.maybe(args, "path", ["/users", ""], [5])
        g.maybe(args, "query", [{"a": "1"}], ["a=1"])
        g.maybe(args, "raiseForStatus", [False, True], ["no way"])
        call = (draw(st.sampled_from(["get", "post"])), args)
    else:
        fields = {"bogus": 1} if not draw(st.integers(0, 9)) else {}
        args = {"path": g.value(["out/x.json"], [5]), "data": {"a": 1}}
        g.maybe(args, "indent", [2, 0], [9, "two"])
        call = ("writeJson", args)
    step = {"call": f"conn.{call[0]}", "args": call[1]}
    steps = [step]
    if draw(st.booleans()):
        steps = [{"set": "items", "value": [1]},
                 {"foreach": "${items}", "concurrency": g.value([1, 4], []) if draw(st.booleans())
                  else f"${{config.{_concurrency(g)}}}", "steps": [step]}]
    return {
        "integration": {"name": "prop"},
        "configurables": g.config,
        "connections": {"conn": {"connector": connector, **fields}},
        "entrypoints": {"main": {"kind": "automation", "steps": steps}},
    }


def _concurrency(g: Gen) -> str:
    name = f"c{len(g.config)}"
    g.config[name] = {"type": "int", "default": g.draw(st.sampled_from([1, 8, 0, 300]))}
    return name


class _Requests:
    """Every request the run sends (HTTP, a token exchange) or file operation it calls, answered
    at once: the run needs no server, and the test sees whether anything was sent."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, transport, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if b"grant_type=" in request.content:  # the token exchange
            return httpx.Response(200, json={"access_token": "t0k3n-abc", "token_type": "Bearer", "expires_in": 3600})
        body = {"id": "1", "userName": "kim", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}
        return httpx.Response(201, json=body, headers={"Content-Type": "application/scim+json"})


@pytest.fixture(scope="module")
def requests():
    from workbench.connectors.file.client import FileConnection

    box = _Requests()
    mp = pytest.MonkeyPatch()
    mp.setattr(httpx.AsyncHTTPTransport, "handle_async_request", lambda self, request: box.send(self, request))
    original = FileConnection.call

    async def call(self, operation, params):
        box.count += 1
        return await original(self, operation, params)

    mp.setattr(FileConnection, "call", call)
    yield box
    mp.undo()


def _refused_by_the_run(store) -> tuple[bool, str]:
    """Run with the runtime's own checks only (check's preflight skipped): True when the run
    stopped before its first request because of a value."""
    engine = Engine(store, env={}, history=False)
    engine.preflight = lambda entry=None: engine.entry_name(entry)  # only the runtime's own checks
    result = asyncio.run(engine.run())
    error = result.error or {}
    return result.status == "failed", f"{error.get('type')}: {error.get('message')}"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=projects())
def test_check_reports_an_error_iff_the_run_stops_before_its_first_request(requests, data):
    import tomlkit

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "workbench.toml").write_text(tomlkit.dumps(data))
        store = ProjectStore.open(root)
        diagnostics = check(store, env={})
        assert not store.load_diagnostics, store.load_diagnostics
        before = requests.count
        failed, why = _refused_by_the_run(store)
        sent = requests.count - before
        refused = failed and sent == 0  # stopped before its first request
        reported = has_errors(diagnostics)
        event(f"{data['connections']['conn']['connector']}: {'refused' if refused else 'ran'}"
              + ("" if refused else f", {'sent' if sent else 'nothing sent'}"))
        assert reported == refused, (
            f"check: {[d.message for d in diagnostics if d.severity == 'error']}; run: {why if refused else 'ran'}\n"
            f"{tomlkit.dumps(data)}"
        )


# -- the other SCIM operations' payloads, and the run's words --------------------------------------


@pytest.mark.parametrize("step, key, words", [
    ('call = "scimClient.ensureUser"\nargs.payload = { displayName = "Kim" }', "args.payload.userName", "is required"),
    ('call = "scimClient.ensureUser"\nargs = { payload = { userName = "kim" }, matchOn = "externalId" }',
     "args.payload", "has no externalId value to match on"),
    ('call = "scimClient.syncUsers"\nargs = { scope = "externalId pr", desired = [{ userName = "a", emails = "x" }] }',
     "args.desired[0].emails", "must be a list"),
    ('call = "scimClient.patchUser"\nargs = { id = "u1", operations = [{ op = "frob", path = "title", value = "x" }] }',
     "args.operations[0].op", "is not a PATCH operation"),
    ('call = "scimClient.bulk"\nargs.operations = [{ method = "POST", path = "/Users", data = { userName = "x" } }]',
     "args.operations[0].bulkId", "is required for POST"),
])
def test_every_scim_payload_is_checked_before_the_run(tmp_path, step, key, words):
    [d] = errors(diagnose(tmp_path, SCIM + f"\n[[entrypoints.main.steps]]\n{step}\n", URL_CONFIG))
    assert d.key == f"entrypoints.main.steps[0].{key}" and words in d.message
    clean(d.message)


def test_the_run_refuses_a_bound_value_in_checks_words(tmp_path):
    store = ProjectStore.open(make_project(tmp_path / "p", HEAD + SCIM + create_user('{ userName = "kim" }'),
                                           'scimServiceUrl = "htp:/127.0.0.1 45089/scim2"\n'))
    [d] = errors(check(store, env={}))
    engine = Engine(store, env={}, history=False)
    engine.preflight = lambda entry=None: engine.entry_name(entry)  # the runtime's own checks only
    result = asyncio.run(engine.run())
    assert result.status == "failed" and result.error["type"] == "ValidationError"
    assert result.error["message"] == d.message == (
        "scimServiceUrl is used as scimClient.serviceUrl, which must be an http(s) URL")


def test_a_foreach_concurrency_expression_is_resolved_and_checked_by_the_run(tmp_path):
    text = HEAD + """
[configurables.n]
type = "int"
default = 3

[entrypoints.main]
kind = "automation"

[[entrypoints.main.steps]]
foreach = "${config.items}"
concurrency = "${config.n}"
result = "out"

[[entrypoints.main.steps.steps]]
set = "v"
value = "${item}"

[[entrypoints.main.steps]]
return = "${out}"
""".replace("[configurables.n]", '[configurables.items]\ntype = "int[]"\ndefault = [1, 2, 3, 4]\n\n[configurables.n]')
    store = ProjectStore.open(make_project(tmp_path / "p", text))
    assert errors(check(store, env={})) == []
    result = asyncio.run(Engine(store, env={}, history=False).run())
    assert result.ok and result.result == [1, 2, 3, 4]
    engine = Engine(store, overrides={"n": "0"}, env={}, history=False)
    engine.preflight = lambda entry=None: engine.entry_name(entry)  # the runtime's own checks only
    result = asyncio.run(engine.run())
    assert result.status == "failed" and result.error["message"] == "n is used as foreach.concurrency, which must be at least 1"


def test_check_keeps_valid_payload_verdicts_on_disk_and_never_a_payload_value(tmp_path):
    """A second `check` of unchanged payloads in a fresh process does not import scim2-models."""
    import subprocess
    import sys

    project = tmp_path / "p"
    project.mkdir()
    (project / "workbench.toml").write_text("""
[integration]
name = "cache"
[connections.idp]
connector = "scim"
serviceUrl = "http://127.0.0.1:9/scim2"
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
call = "idp.createUser"
args = { payload = { userName = "kim@example.com", password = "S3cret-in-a-payload" } }
[[entrypoints.main.steps]]
call = "idp.createUser"
args = { payload = { userName = "bad", emails = "not-a-list" } }
""", encoding="utf-8")
    probe = ("import sys; from workbench.cli import main; main(['check', sys.argv[1]]); "
             "print('scim2_models' in sys.modules)")

    def imported() -> str:
        return subprocess.run([sys.executable, "-c", probe, str(project)], capture_output=True, text=True,
                              timeout=60).stdout.strip().splitlines()[-1]

    assert imported() == "True"  # the first check validates both payloads
    cache = (project / ".workbench" / "cache" / "deep-checks.json").read_text(encoding="utf-8")
    assert "S3cret" not in cache and "kim@" not in cache and len(cache) < 1000
    # The invalid payload is not kept (its errors may quote it), so it is checked again...
    assert imported() == "True"
    text = (project / "workbench.toml").read_text(encoding="utf-8")
    (project / "workbench.toml").write_text(text.replace('emails = "not-a-list"', 'title = "fixed"'), encoding="utf-8")
    imported()  # ... and once it is valid too, the next check needs scim2-models no more
    assert imported() == "False"


def test_a_configurable_value_is_checked_against_its_fields_not_against_the_steps_expressions(tmp_path):
    """The Configurations pane checks a value as it is typed where it is used; what a step's own
    expressions do wrong (reading a piece of the secret) does not depend on it and is the step's
    to show, at the step (the Validator's step check says it there)."""
    from workbench.project import ProjectStore
    from workbench.project.validator import Validator

    root = make_project(tmp_path / "p", """
[integration]
name = "p"
[configurables.tok]
type = "int"
secret = true
[entrypoints.main]
[[entrypoints.main.steps]]
foreach = "${config.tok.head}"
concurrency = "${config.tok}"
""")
    store = ProjectStore.open(root)
    validator = Validator(store.project, store.resolve_config(env={}))
    assert "secret-indexed" in [p.code for p in validator.step("main", "0")]
    assert validator.configurable("tok", 4) == []
    assert "foreach.concurrency, which must be at most 256" in str(validator.configurable("tok", 999))  # where it is used
