"""No secret leaks, in any form, through any output channel.

A project with secrets of every type runs against a hostile server on 127.0.0.1 that echoes
what it gets: the Basic header, the bearer token the run obtained, the body, the URL, and an
HTML error page that cuts, escapes and re-flows the secret. Every channel is searched for every
form of every secret: CLI text, `--json`, the history files, `runs show`, error messages."""

from __future__ import annotations

import base64
import html
import json
import secrets
import socket
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.helpers import make_project
from tests.hostile_server import HostileServer, Request, respond
from workbench.cli import main

PASSWORD = "Zq7 Pa55w0rd!<&>"  # a space, HTML specials, a `!`
PATH_TOKEN = "Ab9#cd/../ef12"  # a `#` and a `../`: httpx would cut or resolve them in a path
PIN, RATE, CODES = 948213, 3.14159, [271828, 314159]
ISSUED = "tok-" + secrets.token_hex(12)  # the access token the hostile token endpoint issues

PROJECT = """
[integration]
name = "leaks"

[configurables.user]
type = "string"
[configurables.pass]
type = "string"
secret = true
[configurables.pathToken]
type = "string"
secret = true
[configurables.pin]
type = "int"
secret = true
[configurables.rate]
type = "float"
secret = true
[configurables.codes]
type = "int[]"
secret = true
[configurables.url]
type = "string"

[connections.echo]
connector = "http"
baseUrl = "${config.url}"
raiseForStatus = true
[connections.echo.auth]
type = "basic"
username = "${config.user}"
password = "${config.pass}"

[connections.api]
connector = "http"
baseUrl = "${config.url}"
[connections.api.auth]
type = "oauth2-client-credentials"
tokenUrl = "${config.url}/token"
clientId = "${config.user}"
clientSecret = "${config.pass}"

[connections.badToken]
connector = "http"
baseUrl = "${config.url}"
[connections.badToken.auth]
type = "oauth2-client-credentials"
tokenUrl = "${config.url}/token-bad"
clientId = "${config.user}"
clientSecret = "${config.pass}"

[connections.badTokenPost]
connector = "http"
baseUrl = "${config.url}"
[connections.badTokenPost.auth]
type = "oauth2-client-credentials"
tokenUrl = "${config.url}/token-bad"
clientId = "${config.user}"
clientSecret = "${config.pass}"
authMethod = "client_secret_post"

[entrypoints.echoes]
kind = "automation"
[[entrypoints.echoes.steps]]
call = "echo.post"
result = "posted"
args = { path = "/echo", body = { pin = "${config.pin}", rate = "${config.rate}", codes = "${config.codes}" } }
[[entrypoints.echoes.steps]]
log = "posted: ${posted.body}"
[[entrypoints.echoes.steps]]
call = "echo.get"
result = "item"
args = { path = "/items/${config.pathToken}" }
[[entrypoints.echoes.steps]]
log = "item: ${item.body}"
[[entrypoints.echoes.steps]]
call = "api.get"
result = "bearer"
args = { path = "/echo" }
[[entrypoints.echoes.steps]]
log = "bearer: ${bearer.body}"
[[entrypoints.echoes.steps]]
return = { pin = "${config.pin}", nested = { rate = "${config.rate}", codes = "${config.codes}" }, echoed = "${posted.body}" }

[entrypoints.htmlError]
kind = "automation"
[[entrypoints.htmlError.steps]]
call = "echo.get"
args = { path = "/html-error" }
[[entrypoints.htmlError.onError]]
log = "failed: ${error.message} / ${error.detail}"
level = "error"

[entrypoints.htmlRewrite]
kind = "automation"
[[entrypoints.htmlRewrite.steps]]
call = "echo.get"
args = { path = "/html-rewrite" }

[entrypoints.tokenError]
kind = "automation"
[[entrypoints.tokenError.steps]]
call = "badToken.get"
args = { path = "/echo" }
[[entrypoints.tokenError.onError]]
log = "failed: ${error.message}"
level = "error"

[entrypoints.tokenErrorPost]
kind = "automation"
[[entrypoints.tokenErrorPost.steps]]
call = "badTokenPost.get"
args = { path = "/echo" }
"""


def forms_of(secret: str) -> set[str]:
    """What a leak looks like: the secret and its encodings, and the start of it."""
    out = {secret, quote(secret, safe=""), quote_plus(secret), html.escape(secret), secret[:5]}
    return {form for form in out if len(form) >= 4}


def leaked_forms() -> set[str]:
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    out = forms_of(PASSWORD) | forms_of(PATH_TOKEN) | {basic, ISSUED, ISSUED[4:12]}
    out |= {str(PIN), str(RATE), *(str(c) for c in CODES)}
    return out


def config_of(server) -> str:
    """Config.toml with every secret, and the echo server's URL."""
    return (f'user = "alice"\npass = {json.dumps(PASSWORD)}\npathToken = {json.dumps(PATH_TOKEN)}\n'
            f"pin = {PIN}\nrate = {RATE}\ncodes = {json.dumps(CODES)}\nurl = \"{server.url}\"\n")


@pytest.fixture
def echo_server():
    server = HostileServer().start()

    @server.route("POST", "/token")
    def token(request: Request, conn: socket.socket) -> None:
        respond(conn, 200, {"access_token": ISSUED, "token_type": "Bearer", "expires_in": 3600})

    @server.route("POST", "/token-bad")
    def token_bad(request: Request, conn: socket.socket) -> None:
        respond(conn, 401, {"error": "invalid_client",
                            "error_description": f"bad credentials {request.headers.get('authorization')} "
                                                 f"{request.body.decode()}"})

    def echo(request: Request, conn: socket.socket) -> None:
        respond(conn, 200, {"target": request.target, "headers": request.headers, "body": request.body.decode()})

    server.route("POST", "/echo")(echo)
    server.route("GET", "*")(echo)

    @server.route("GET", "/html-error")
    def html_error(request: Request, conn: socket.socket) -> None:
        # The secret straddles the 200-character cut, then comes escaped, then re-flowed.
        page = ("<html><body><h1>Bad</h1><p>" + "x" * 191 + " " + PASSWORD + "</p><p>"
                + html.escape(PASSWORD) + "</p><pre>" + PASSWORD.replace(" ", "\n    ") + "</pre></body></html>")
        respond(conn, 400, page, content_type="text/html")

    @server.route("GET", "/html-rewrite")
    def html_rewrite(request: Request, conn: socket.socket) -> None:
        page = f"<p>escaped {html.escape(PASSWORD)}</p><pre>re-flowed {PASSWORD.replace(' ', chr(10) + '   ')}</pre>"
        respond(conn, 500, page, content_type="text/html")

    yield server
    server.stop()


def test_no_secret_in_any_form_in_any_channel(tmp_path, echo_server, capsys):
    config = config_of(echo_server)
    project = str(make_project(tmp_path / "p", PROJECT, config))
    outputs: list[str] = []

    def cli(*argv: str) -> int:
        code = main(list(argv))
        out, err = capsys.readouterr()
        outputs.append(out + err)
        return code

    assert cli("check", project) == 0
    assert cli("run", project, "--entry", "echoes", "-v") == 0
    assert cli("run", project, "--entry", "echoes", "--json") == 0
    assert cli("run", project, "--entry", "htmlError", "-v") == 1
    assert cli("run", project, "--entry", "htmlError", "--json") == 1
    assert cli("run", project, "--entry", "htmlRewrite") == 1
    assert cli("run", project, "--entry", "tokenError") == 1
    assert cli("run", project, "--entry", "tokenErrorPost", "--json") == 1
    history = sorted((Path(project) / ".workbench").rglob("*.jsonl"))
    assert len(history) == 7
    for path in history:
        assert cli("runs", project, "show", path.stem) in (0, 1)
    for path in (Path(project) / ".workbench").rglob("*"):  # the history, and what a resume keeps
        if path.is_file():
            outputs.append(path.read_text(encoding="utf-8", errors="replace"))
    everything = "\n".join(outputs)

    # The server did get the real values (so the masking had something to hide) ...
    targets = [r.target for r in echo_server.requests]
    assert "/items/" + quote(PATH_TOKEN, safe="") in targets  # sent as data, not cut at `#`
    assert any(r.headers.get("authorization") == f"Bearer {ISSUED}" for r in echo_server.requests)
    assert any(quote_plus(PASSWORD).encode() in r.body for r in echo_server.requests)  # client_secret_post
    # ... the output shows that things happened ...
    assert "••••" in everything and "invalid_client" in everything and "Bad" in everything
    assert "escaped •••• re-flowed ••••" in everything
    # ... and no form of any secret.
    found = sorted(form for form in leaked_forms() if form in everything)
    assert not found, f"leaked: {found}"


ITEMS = """
[entrypoints.items]
kind = "automation"
[[entrypoints.items.steps]]
foreach = "${config.codes}"
as = "code"
errors = "collect"
[[entrypoints.items.steps.steps]]
call = "echo.post"
args = { path = "/echo", body = { code = "${code}", pass = "${config.pass}" } }
[[entrypoints.items.steps.steps]]
call = "echo.get"
args = { path = "/fail-${code}" }
[[entrypoints.items.steps.steps]]
set = "last"
value = "done ${config.pass} ${code}"
"""


def test_no_secret_in_the_compact_history_nor_the_step_inspector(tmp_path, echo_server, capsys):
    """A foreach over a secret list: each item's record (its summary is the secret), the failed
    item's kept events (its error page echoes the secret), --trace, replays and `--step`."""

    @echo_server.route("GET", f"/fail-{CODES[1]}")
    def fail(request: Request, conn: socket.socket) -> None:
        respond(conn, 400, f"<p>no {PASSWORD} for {CODES[1]}</p>", content_type="text/html")

    config = config_of(echo_server)
    project = str(make_project(tmp_path / "p", PROJECT + ITEMS, config))
    outputs: list[str] = []

    def cli(*argv: str) -> int:
        code = main(list(argv))
        out, err = capsys.readouterr()
        outputs.append(out + err)
        return code

    for flags in ((), ("-v",), ("--json",), ("--trace",)):
        assert cli("run", project, "--entry", "items", *flags) == 0
    runs = sorted(p.stem for p in (Path(project) / ".workbench").rglob("*.jsonl"))
    for run_id in runs:
        for flags in ((), ("-v",), ("--step", "0"), ("--step", "0", "-v"), ("--step", "0", "--json"),
                      ("--step", "0[0]"), ("--step", "0[1]", "--json"), ("--step", "0.steps.1", "--item", "1")):
            assert cli("runs", project, "show", run_id, *flags) == 0
    for path in (Path(project) / ".workbench").rglob("*"):
        if path.is_file():
            outputs.append(path.read_text(encoding="utf-8", errors="replace"))
    everything = "\n".join(outputs)
    assert '"item.finished"' in everything and '"summary":"done •••• ••••"' in everything  # the compact record
    assert "no •••• for ••••" in everything  # the failed item's kept error
    found = sorted(form for form in leaked_forms() if form in everything)
    assert not found, f"leaked: {found}"


def test_indexing_a_secret_is_an_error_of_check(tmp_path, capsys):
    project = make_project(tmp_path / "p", """
[integration]
name = "idx"
[configurables.tok]
type = "string"
secret = true
[configurables.keys]
type = "string[]"
secret = true
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
log = "${config.tok[0]} ${config.keys[1]} ${config.keys[0][2]}"
""", 'tok = "abcdefgh"\nkeys = ["one-key", "two-key"]\n')
    assert main(["check", str(project)]) == 2
    out = capsys.readouterr().out
    assert out.count("secret-indexed") == 2  # tok[0] and keys[0][2]; keys[1] is a whole item
    assert "config.tok[0]" in out and "abcdefgh" not in out


def only(entry: str) -> str:
    """The project with just one entry point (the app runs the selected one)."""
    head, _, rest = PROJECT.partition("[entrypoints.")
    blocks = {block.split("]", 1)[0]: "[entrypoints." + block for block in rest.split("\n[entrypoints.")}
    return head + blocks[entry]


@pytest.mark.parametrize("entry", ["echoes", "htmlError", "tokenError"])
async def test_no_secret_in_the_apps_output_panel(tmp_path, echo_server, entry):
    from tests.tui_helpers import keys, settle, wait_for_runs
    from workbench.tui.app import WorkbenchApp

    config = config_of(echo_server)
    project = make_project(tmp_path / "p", only(entry), config)
    app = WorkbenchApp(project, env={})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await keys(pilot, "r")
        await wait_for_runs(pilot)
        await keys(pilot, "e")  # the HTTP exchanges too
        shown = "\n".join(app.output.lines)
        shown += "\n" + str(app.output.query_one("#run-summary").render())
        shown += "\n" + "\n".join(str(card.render()) for card in app.query("StepCard"))
    assert ("✓ succeeded" if entry == "echoes" else "✗ failed") in shown
    found = sorted(form for form in leaked_forms() if form in shown)
    assert not found, f"leaked in the app: {found}"


def test_a_boolean_secret_is_masked_as_a_value(tmp_path, capsys):
    project = str(make_project(tmp_path / "b", """
[integration]
name = "bool"
[configurables.flag]
type = "boolean"
secret = true
[configurables.pin]
type = "int"
secret = true
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
log = "flag ${config.flag}"
[[entrypoints.main.steps]]
return = { flag = "${config.flag}", nested = { flags = ["${config.flag}"], pin = "${config.pin}" } }
""", "flag = true\npin = 4242\n"))
    assert main(["run", project]) == 0
    assert main(["run", project, "--json"]) == 0
    out = capsys.readouterr().out
    history = "".join(p.read_text() for p in (Path(project) / ".workbench").rglob("*") if p.is_file())
    for text in (out, history):
        assert "true" not in text and "4242" not in text
        assert '"flag": "••••"' in text or "flag ••••" in text
