"""The `http` connector (against a tiny local WSGI server and the sandbox) and the `file`
connector (read/write, atomic writes, path escapes)."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from workbench.connectors.base import ConnectorError, OperationContext, ValidationFailed
from workbench.connectors.file import SPEC as FILE
from workbench.connectors.file.client import FileConnection
from workbench.connectors.http import SPEC as HTTP
from workbench.connectors.http.client import HttpConnection, HttpError

# -- a tiny echo server ---------------------------------------------------------------------------


def echo_app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    route = path.removeprefix("/api")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    if route.startswith("/status/"):
        code = int(route.rsplit("/", 1)[1])
        body = b'{"error": "nope", "code": %d}' % code
        start_response(f"{code} Whatever", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    if route == "/text":
        body = "plain text, é".encode()
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]
    if route == "/empty":
        start_response("204 No Content", [])
        return [b""]
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    body = json.dumps(
        {
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "query": parse_qs(environ.get("QUERY_STRING", "")),
            "headers": headers,
            "body": raw.decode("utf-8"),
        }
    ).encode()
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("X-Multi", "a"), ("X-Multi", "b")],
    )
    return [body]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, echo_app, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api"
    server.shutdown()
    server.server_close()
    thread.join(timeout=2)


def http_connection(base_url: str, **config) -> HttpConnection:
    exchanges: list[tuple] = []
    conn = HttpConnection(HTTP, HTTP.connection.model_validate({"baseUrl": base_url, **config}),
                          on_exchange=lambda *a: exchanges.append(a))
    conn.exchanges = exchanges  # type: ignore[attr-defined]
    return conn


# -- http -------------------------------------------------------------------------------------------


async def test_http_get_with_query_headers_and_auth(echo_url):
    conn = http_connection(echo_url, headers={"X-Tenant": "acme"}, auth={"type": "bearer", "token": "tok"})
    try:
        result = await conn.get({"path": "/users", "query": {"q": "a b", "tags": ["x", "y"], "skip": None},
                                 "headers": {"X-Req": "1"}})
    finally:
        await conn.aclose()
    assert result["status"] == 200
    assert result["headers"]["content-type"] == "application/json"
    assert result["headers"]["x-multi"] == "a, b"
    body = result["body"]
    assert body["method"] == "GET" and body["path"] == "/api/users"
    assert body["query"] == {"q": ["a b"], "tags": ["x", "y"]}
    assert body["headers"]["x-tenant"] == "acme" and body["headers"]["x-req"] == "1"
    assert body["headers"]["authorization"] == "Bearer tok"
    assert conn.exchanges[0][:3] == ("GET", f"{echo_url}/users?q=a+b&tags=x&tags=y", 200)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
async def test_http_methods_send_json_bodies(echo_url, method):
    conn = http_connection(echo_url, auth={"type": "basic", "username": "ann", "password": "pw"})
    try:
        result = await conn.call(method, HTTP.operations[method].params(path="items/1", body={"name": "é", "n": 1}))
    finally:
        await conn.aclose()
    body = result["body"]
    assert body["method"] == method.upper() and body["path"] == "/api/items/1"
    assert json.loads(body["body"]) == {"name": "é", "n": 1}
    assert body["headers"]["content-type"] == "application/json"
    assert body["headers"]["authorization"].startswith("Basic ")


async def test_http_text_bodies_and_responses(echo_url):
    conn = http_connection(echo_url)
    try:
        sent = await conn.post({"path": "echo", "body": "hello"})
        text = await conn.get({"path": "/text"})
        empty = await conn.delete({"path": "/empty"})
    finally:
        await conn.aclose()
    assert sent["body"]["body"] == "hello" and sent["body"]["headers"]["content-type"].startswith("text/plain")
    assert text["body"] == "plain text, é"
    assert empty == {"status": 204, "headers": empty["headers"], "body": None}


async def test_http_non_2xx_raises_unless_told_not_to(echo_url):
    conn = http_connection(echo_url)
    try:
        with pytest.raises(HttpError) as info:
            await conn.get({"path": "/status/404"})
        relaxed = await conn.get({"path": "/status/503", "raiseForStatus": False})
    finally:
        await conn.aclose()
    error = info.value
    assert isinstance(error, ConnectorError) and error.status == 404
    assert error.message.startswith(f"HTTP 404 Whatever from GET {echo_url}/status/404")
    assert error.response["body"] == {"error": "nope", "code": 404}
    assert relaxed["status"] == 503 and relaxed["body"]["code"] == 503

    lenient = http_connection(echo_url, raiseForStatus=False)
    try:
        assert (await lenient.get({"path": "/status/500"}))["status"] == 500
        with pytest.raises(HttpError):
            await lenient.get({"path": "/status/500", "raiseForStatus": True})
    finally:
        await lenient.aclose()


async def test_http_refuses_another_origin(echo_url):
    conn = http_connection(echo_url, auth={"type": "bearer", "token": "tok"})
    try:
        with pytest.raises(ValidationFailed) as info:
            await conn.get({"path": "http://evil.example/steal"})
        same = await conn.get({"path": echo_url + "/abs"})
    finally:
        await conn.aclose()
    assert "evil.example" in info.value.message
    assert same["body"]["path"] == "/api/abs"
    assert len(conn.exchanges) == 1  # nothing was sent to evil.example


async def test_http_connection_refused_names_the_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = http_connection(f"http://127.0.0.1:{port}", auth={"type": "bearer", "token": "tok-SECRET"})
    try:
        with pytest.raises(ConnectorError) as info:
            await conn.get({"path": "ping"})
    finally:
        await conn.aclose()
    assert f"GET http://127.0.0.1:{port}/ping: cannot connect" in info.value.message
    assert "tok-SECRET" not in info.value.message and info.value.status is None


async def test_http_with_oauth2_against_the_sandbox(sandbox):
    conn = http_connection(
        sandbox.service_url,
        auth={"type": "oauth2-client-credentials", "tokenUrl": sandbox.token_url,
              "clientId": sandbox.client_id, "clientSecret": sandbox.client_secret},
    )
    try:
        result = await conn.get({"path": "Users", "query": {"count": 1}})
    finally:
        await conn.aclose()
    assert result["status"] == 200
    assert result["headers"]["content-type"].startswith("application/scim+json")
    assert "Resources" in result["body"] or result["body"]["totalResults"] == 0
    assert [e[2] for e in conn.exchanges] == [200, 200]  # the token, then the request


# -- file ---------------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def files(root: Path | None) -> FileConnection:
    return FileConnection(FILE, FILE.connection(), context=OperationContext(project_dir=root))


async def test_json_round_trip(project):
    conn = files(project)
    data = {"users": [{"userName": "bjensen", "active": True}], "name": "é"}
    written = await conn.writeJson({"path": "out/deep/users.json", "data": data})
    assert written == {"path": "out/deep/users.json", "bytes": (project / "out/deep/users.json").stat().st_size}
    assert await conn.readJson({"path": "out/deep/users.json"}) == data
    assert "é" in (project / "out/deep/users.json").read_text(encoding="utf-8")
    await conn.writeJson({"path": "out/deep/users.json", "data": [1], "indent": None})
    assert (project / "out/deep/users.json").read_text() == "[1]\n"
    assert sorted(p.name for p in (project / "out/deep").iterdir()) == ["users.json"]  # no temp files left


async def test_csv_round_trip(project):
    conn = files(project)
    rows = [
        {"userName": "ann", "active": True, "groups": ["a", "b"]},
        {"userName": "bob", "email": "bob@example.com", "manager": None},
    ]
    assert await conn.writeCsv({"path": "users.csv", "data": rows}) == {"path": "users.csv", "rows": 2}
    text = (project / "users.csv").read_text()
    assert text.splitlines()[0] == "userName,active,groups,email,manager"
    back = await conn.readCsv({"path": "users.csv"})
    assert back == [
        {"userName": "ann", "active": "true", "groups": '["a", "b"]', "email": "", "manager": ""},
        {"userName": "bob", "active": "", "groups": "", "email": "bob@example.com", "manager": ""},
    ]
    await conn.writeCsv({"path": "some.csv", "data": rows, "columns": ["email", "userName"], "delimiter": ";"})
    assert (project / "some.csv").read_text().splitlines() == ["email;userName", ";ann", "bob@example.com;bob"]


async def test_read_csv_with_bom_and_delimiter(project):
    (project / "in.csv").write_bytes("\ufeffuserName;givenName\nbjensen;Barbara\n".encode())
    rows = await files(project).readCsv({"path": "in.csv", "delimiter": ";"})
    assert rows == [{"userName": "bjensen", "givenName": "Barbara"}]


async def test_read_errors_are_clear(project):
    conn = files(project)
    (project / "bad.json").write_text('{"a": 1,,}')
    with pytest.raises(ConnectorError, match=r"bad.json: not valid JSON \(line 1, column 9"):
        await conn.readJson({"path": "bad.json"})
    with pytest.raises(ConnectorError, match="missing.csv: no such file in the project folder"):
        await conn.readCsv({"path": "missing.csv"})
    (project / "folder").mkdir()
    with pytest.raises(ConnectorError, match="is a folder"):
        await conn.readJson({"path": "folder"})
    with pytest.raises(ConnectorError, match="needs a project folder"):
        await files(None).readJson({"path": "x.json"})


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../outside.json", "it leaves the project folder"),
        ("data/../../outside.json", "it leaves the project folder"),
        ("/etc/passwd", "absolute paths are not allowed"),
        ("link-dir/x.json", "a symlink on it points outside the project folder"),
        ("link-file.json", "a symlink on it points outside the project folder"),
        ("", "a file path is required"),
    ],
)
async def test_path_escapes_are_refused(project, path, reason):
    outside = project.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "x.json").write_text('{"secret": 1}')
    (project.parent / "outside.json").write_text('{"secret": 2}')
    os.symlink(outside, project / "link-dir")
    os.symlink(outside / "x.json", project / "link-file.json")
    conn = files(project)
    with pytest.raises(ConnectorError) as info:
        await conn.readJson({"path": path})
    assert reason in info.value.message
    with pytest.raises(ConnectorError):
        await conn.writeJson({"path": path, "data": {"overwritten": True}})
    assert json.loads((outside / "x.json").read_text()) == {"secret": 1}
    assert json.loads((project.parent / "outside.json").read_text()) == {"secret": 2}


async def test_symlink_inside_the_project_is_fine(project):
    (project / "real").mkdir()
    (project / "real" / "a.json").write_text("[1, 2]")
    os.symlink(project / "real", project / "alias")
    conn = files(project)
    assert await conn.readJson({"path": "alias/a.json"}) == [1, 2]
    assert await conn.readJson({"path": "real/../real/a.json"}) == [1, 2]


async def test_writes_are_atomic(project, monkeypatch):
    conn = files(project)
    await conn.writeJson({"path": "state.json", "data": {"v": 1}})

    def failing_replace(src, dst, **dir_fds):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ConnectorError, match="state.json: cannot write \\(No space left on device\\)"):
        await conn.writeJson({"path": "state.json", "data": {"v": 2}})
    with pytest.raises(ConnectorError):
        await conn.writeCsv({"path": "state.csv", "data": [{"v": 2}]})
    monkeypatch.undo()
    assert json.loads((project / "state.json").read_text()) == {"v": 1}  # the old content, whole
    assert sorted(p.name for p in project.iterdir()) == ["state.json"]  # temp files cleaned up


def test_a_non_ascii_header_value_names_the_header_but_not_the_value():
    import pydantic

    from workbench.connectors.http import SPEC as HTTP_SPEC
    from workbench.connectors.scim import SPEC as SCIM_SPEC

    for spec, url_key in ((HTTP_SPEC, "baseUrl"), (SCIM_SPEC, "serviceUrl")):
        with pytest.raises(pydantic.ValidationError) as info:
            spec.connection.model_validate({url_key: "http://127.0.0.1:9", "headers": {"X-Api-Key": "sécret-kéy"}})
        text = str(info.value)
        assert "X-Api-Key" in text and "only ASCII" in text
        assert "sécret-kéy" not in text
