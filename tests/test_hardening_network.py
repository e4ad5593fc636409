"""Hostile servers: a drip, a truncated body, an oversized body, a lost create, lagging lookups.
Each against a real server on 127.0.0.1 (`hostile_server`), requests counted on its side."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.hostile_server import HostileServer, Request, drip, drop, respond, truncated
from workbench.connectors.base import ConnectorError
from workbench.connectors.http import SPEC as HTTP
from workbench.connectors.http.client import HttpConnection
from workbench.connectors.httpx_core import Ambiguous, ResponseTooLarge
from workbench.connectors.scim import SPEC as SCIM
from workbench.connectors.scim.client import ScimConnection, ScimError


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer().start()
    yield server
    server.stop()


def http_conn(server: HostileServer, **fields) -> HttpConnection:
    return HttpConnection(HTTP, HTTP.connection.model_validate({"baseUrl": server.url, **fields}))


def scim_conn(server: HostileServer, **fields) -> ScimConnection:
    conn = ScimConnection(SCIM, SCIM.connection.model_validate(
        {"serviceUrl": server.url, "retry": {"attempts": 3, "backoff": 0.01}, **fields}))
    return conn


# -- 7: the timeout is a whole-request deadline; a truncated body is an error ----------------------


@pytest.mark.parametrize("make", [http_conn, scim_conn])
async def test_a_dripping_server_is_cut_at_the_deadline(hostile, make):
    hostile.route("GET", "/Users/u1")(drip)
    hostile.route("GET", "/slow")(drip)
    conn = make(hostile, timeout=1.5) if make is http_conn else make(hostile, timeout=1.5, retry={"attempts": 1})
    started = time.monotonic()
    try:
        with pytest.raises(Ambiguous, match="deadline"):
            if isinstance(conn, ScimConnection):
                await conn.getUser({"id": "u1"})
            else:
                await conn.get({"path": "/slow"})
    finally:
        await conn.aclose()
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("make", [http_conn, scim_conn])
async def test_a_truncated_body_is_an_error_never_a_null_success(hostile, make):
    hostile.route("GET", "/Users/u1")(truncated)
    hostile.route("GET", "/cut")(truncated)
    conn = make(hostile, timeout=5)
    try:
        with pytest.raises(ConnectorError):
            if isinstance(conn, ScimConnection):
                await conn.getUser({"id": "u1"})
            else:
                await conn.get({"path": "/cut"})
    finally:
        await conn.aclose()


async def test_cookies_a_server_sets_are_sent_back(hostile):
    """The core parses only the answers with a Set-Cookie (httpx_core._parse_set_cookies_only)."""
    hostile.route("GET", "/login")(lambda request, conn: respond(conn, 200, {}, headers={"Set-Cookie": "sid=s1; Path=/"}))
    hostile.route("GET", "/plain")(lambda request, conn: respond(conn, 200, {}))
    hostile.route("GET", "/check")(lambda request, conn: respond(conn, 200, {"cookie": request.headers.get("cookie")}))
    conn = scim_conn(hostile)
    try:
        client = conn.client()
        for path in ("login", "plain"):
            await conn.send(client.build_request("GET", conn.url(path)))
        checked = await conn.send(client.build_request("GET", conn.url("check")))
    finally:
        await conn.aclose()
    assert checked.json() == {"cookie": "sid=s1"}


async def test_a_scim_server_echoing_the_credential_later_is_masked(hostile):
    """The SCIM connection reads the Authorization header it sends only until it knows it."""
    import base64

    answers = iter([200, 400, 400])

    @hostile.route("GET", "/Users/u1")
    def echo(request: Request, conn: socket.socket) -> None:
        status = next(answers)
        respond(conn, status, {"id": "u1", "userName": "a"} if status == 200 else
                {"status": "400", "detail": f"bad {request.headers.get('authorization')}"})

    conn = scim_conn(hostile, auth={"type": "basic", "username": "alice", "password": "pw-0123456789"})
    try:
        await conn.getUser({"id": "u1"})
        for _ in range(2):
            with pytest.raises(ScimError) as failure:
                await conn.getUser({"id": "u1"})
            assert "bad Basic ••••" in failure.value.detail
    finally:
        await conn.aclose()
    assert conn._credential_steady
    assert base64.b64encode(b"alice:pw-0123456789").decode() not in str(failure.value.to_dict())


# -- 8: a response size limit --------------------------------------------------------------------


async def test_a_declared_huge_body_is_refused_before_it_is_read(hostile):
    @hostile.route("GET", "/huge")
    def huge(request: Request, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 314572800\r\n\r\n")
        conn.sendall(b"x" * 65536)

    conn = http_conn(hostile)
    try:
        with pytest.raises(ResponseTooLarge, match=r"300\.0 MiB, over the 50 MiB limit \(maxResponseMiB"):
            await conn.get({"path": "/huge"})
    finally:
        await conn.aclose()


async def test_a_streamed_body_stops_at_the_configured_limit(hostile):
    sent = []

    @hostile.route("GET", "/stream")
    def stream(request: Request, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        for _ in range(160):  # 10 MiB at the most
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent.append(len(chunk))
        conn.sendall(b"0\r\n\r\n")

    conn = http_conn(hostile, maxResponseMiB=1)
    try:
        with pytest.raises(ResponseTooLarge, match="over the 1 MiB limit"):
            await conn.get({"path": "/stream"})
    finally:
        await conn.aclose()


def test_the_size_limit_is_a_connection_field():
    assert HTTP.connection.model_fields["maxResponseMiB"].default == 50
    assert SCIM.connection.model_fields["maxResponseMiB"].default == 50
    with pytest.raises(ValueError):
        HTTP.connection.model_validate({"baseUrl": "http://127.0.0.1", "maxResponseMiB": 0})


# -- 14: an ambiguous create on a server whose lookups lag; a lost create of an existing user ----


def _user(name: str, created: datetime) -> dict:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "id-" + name, "userName": name,
            "meta": {"resourceType": "User", "created": created.isoformat().replace("+00:00", "Z")}}


def _list(resources: list) -> dict:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": len(resources),
            "Resources": resources}


async def test_a_lost_create_is_found_by_a_lookup_that_waits_for_a_lagging_index(hostile):
    stored: list[dict] = []

    @hostile.route("POST", "/Users")
    def create(request: Request, conn: socket.socket) -> None:
        stored.append(_user("ada", datetime.now(timezone.utc)))
        drop(request, conn)  # created, but the answer is lost

    @hostile.route("GET", "/Users")
    def lookup(request: Request, conn: socket.socket) -> None:
        lagging = hostile.counts[("GET", "/Users")] < 3  # the index shows the user from the 3rd lookup
        respond(conn, 200, _list([] if lagging else stored), content_type="application/scim+json")

    conn = scim_conn(hostile)
    try:
        user = await conn.createUser({"payload": {"userName": "ada"}})
    finally:
        await conn.aclose()
    assert user["id"] == "id-ada"
    assert hostile.counts[("POST", "/Users")] == 1  # never sent again: no duplicate
    assert hostile.counts[("GET", "/Users")] == 3


async def test_a_create_is_sent_again_only_after_the_lookups_find_nothing(hostile):
    @hostile.route("POST", "/Users")
    def create(request: Request, conn: socket.socket) -> None:
        if hostile.counts[("POST", "/Users")] == 1:
            drop(request, conn)  # lost before it was applied
        else:
            respond(conn, 201, _user("bob", datetime.now(timezone.utc)), content_type="application/scim+json")

    hostile.route("GET", "/Users")(lambda request, conn: respond(conn, 200, _list([])))
    conn = scim_conn(hostile)
    try:
        user = await conn.createUser({"payload": {"userName": "bob"}})
    finally:
        await conn.aclose()
    assert user["userName"] == "bob"
    assert hostile.counts[("POST", "/Users")] == 2
    assert hostile.counts[("GET", "/Users")] == 3  # LOOKUPS before the second send


async def test_a_lost_create_of_a_user_who_already_existed_is_a_409(hostile):
    old = _user("kim", datetime.now(timezone.utc) - timedelta(days=3))
    hostile.route("POST", "/Users")(drop)
    hostile.route("GET", "/Users")(lambda request, conn: respond(conn, 200, _list([old])))
    conn = scim_conn(hostile)
    try:
        with pytest.raises(ScimError) as caught:
            await conn.createUser({"payload": {"userName": "kim"}})
    finally:
        await conn.aclose()
    assert caught.value.status == 409 and caught.value.scim_type == "uniqueness"
    assert "already existed" in caught.value.message
    assert hostile.counts[("POST", "/Users")] == 1
