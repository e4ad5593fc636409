"""The SCIM connector against the real sandbox (OAuth2 client credentials + scim2-server).

A wrapping transport is used only to inject faults (timeouts, 5xx, odd bodies); everything else
goes to the real server.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from workbench.connectors.base import ConnectorError, ValidationFailed
from workbench.connectors.scim import SPEC
from workbench.connectors.scim.client import MAX_RETRY_AFTER, ScimConnection, ScimError, prepare_resource

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def unique(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Faults(httpx.AsyncBaseTransport):
    """Forwards to the real server, except for the scripted faults: `script` maps
    (method, path suffix) to a list of actions consumed one per matching request:
    "pass", "timeout-after-send" (forwarded, then ReadTimeout), "timeout-unsent" (ReadTimeout,
    never forwarded), "connect-error" (never forwarded), or an httpx.Response to answer with."""

    def __init__(self, script: dict[tuple[str, str], list[Any]] | None = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.script = script or {}
        self.seen: list[tuple[str, str]] = []
        self.requests: list[httpx.Request] = []

    def _action(self, request: httpx.Request) -> Any:
        for (method, suffix), actions in self.script.items():
            if request.method == method and request.url.path.endswith(suffix) and actions:
                return actions.pop(0)
        return "pass"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        self.requests.append(request)
        action = self._action(request)
        if isinstance(action, httpx.Response):
            return action
        if action == "connect-error":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if action == "timeout-unsent":
            raise httpx.ReadTimeout("timed out", request=request)
        response = await self.inner.handle_async_request(request)
        if action == "timeout-after-send":
            await response.aread()
            await response.aclose()
            raise httpx.ReadTimeout("timed out", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def config_for(sb, **overrides: Any):
    data: dict[str, Any] = {
        "serviceUrl": sb.service_url,
        "auth": {
            "type": "oauth2-client-credentials",
            "tokenUrl": sb.token_url,
            "clientId": sb.client_id,
            "clientSecret": sb.client_secret,
        },
        "retry": {"attempts": 3, "backoff": 0.5},
    }
    data.update(overrides)
    return SPEC.connection.model_validate(data)


@pytest.fixture
def connect(sandbox) -> Callable[..., ScimConnection]:
    """A factory of connections to the session sandbox; `.sleeps` records backoff sleeps (which
    return at once), `.exchanges` the on_exchange reports. Closed at the end of the test."""
    def make(transport: httpx.AsyncBaseTransport | None = None, sb=None, **overrides: Any) -> ScimConnection:
        exchanges: list[tuple] = []
        conn = ScimConnection(SPEC, config_for(sb or sandbox, **overrides), on_exchange=lambda *a: exchanges.append(a))
        conn.transport = transport
        conn.sleeps = []  # type: ignore[attr-defined]
        conn.exchanges = exchanges  # type: ignore[attr-defined]

        async def fake_sleep(seconds: float) -> None:
            conn.sleeps.append(seconds)  # type: ignore[attr-defined]

        conn.sleep = fake_sleep  # type: ignore[method-assign]
        return conn

    # The tests close what they open (aclose needs the test's event loop).
    return make


@pytest.fixture
async def scim(connect):
    conn = connect()
    yield conn
    await conn.aclose()


async def count_users(conn: ScimConnection, user_name: str) -> int:
    page = await conn.listUsers({"filter": f'userName eq "{user_name}"'})
    return page["totalResults"]


# -- every operation ---------------------------------------------------------------------------


async def test_user_lifecycle(scim, sandbox):
    name = unique("bjensen")
    created = await scim.createUser(
        {"payload": {"userName": name, "name": {"givenName": "Barbara"}, "emails": [{"value": f"{name}@example.com"}]}}
    )
    uid = created["id"]
    assert created["userName"] == name and created["schemas"] == [USER]
    assert created["meta"]["version"]

    got = await scim.getUser({"id": uid})
    assert got["name"]["givenName"] == "Barbara"
    slim = await scim.getUser({"id": uid, "attributes": "userName"})
    assert "name" not in slim and slim["userName"] == name
    without = await scim.getUser({"id": uid, "excludedAttributes": ["emails"]})
    assert "emails" not in without and without["name"]

    replaced = await scim.replaceUser({"id": uid, "payload": {"userName": name, "displayName": "Babs"}})
    assert replaced["displayName"] == "Babs" and "name" not in replaced

    patched = await scim.patchUser({"id": uid, "operations": [{"op": "replace", "path": "displayName", "value": "B"}]})
    # scim2-server answers PATCH with 204 No Content: we return the id and the new ETag.
    assert patched["id"] == uid
    assert patched["meta"]["version"] and patched["meta"]["version"] != replaced["meta"]["version"]
    assert (await scim.getUser({"id": uid}))["displayName"] == "B"

    full = await scim.patchUser(
        {"id": uid, "operations": [{"op": "add", "path": "title", "value": "CTO"}], "attributes": ["title", "userName"]}
    )
    assert full["title"] == "CTO" and full["userName"] == name

    current = (await scim.getUser({"id": uid}))["meta"]["version"]
    ok = await scim.patchUser(
        {"id": uid, "version": current, "operations": [{"op": "replace", "path": "active", "value": False}]}
    )
    assert ok["id"] == uid

    assert await scim.deleteUser({"id": uid}) == {"id": uid}
    with pytest.raises(ScimError) as info:
        await scim.getUser({"id": uid})
    assert info.value.status == 404


async def test_group_lifecycle(scim):
    alice = await scim.createUser({"payload": {"userName": unique("alice")}})
    bob = await scim.createUser({"payload": {"userName": unique("bob")}})
    name = unique("admins")
    group = await scim.createGroup({"payload": {"displayName": name, "members": [{"value": alice["id"]}]}})
    gid = group["id"]
    assert group["displayName"] == name and [m["value"] for m in group["members"]] == [alice["id"]]
    assert (await scim.getGroup({"id": gid}))["displayName"] == name

    listed = await scim.listGroups({"filter": f'displayName eq "{name}"'})
    assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == gid
    searched = await scim.searchGroups({"filter": f'displayName eq "{name}"', "attributes": ["displayName"]})
    assert searched["totalResults"] == 1 and "members" not in searched["Resources"][0]

    await scim.patchGroup({"id": gid, "operations": [{"op": "add", "path": "members", "value": [{"value": bob["id"]}]}]})
    members = {m["value"] for m in (await scim.getGroup({"id": gid}))["members"]}
    assert members == {alice["id"], bob["id"]}

    replaced = await scim.replaceGroup({"id": gid, "payload": {"displayName": name + "-x", "members": []}})
    assert replaced["displayName"] == name + "-x" and not replaced.get("members")

    assert await scim.deleteGroup({"id": gid}) == {"id": gid}
    with pytest.raises(ScimError) as info:
        await scim.deleteGroup({"id": gid})
    assert info.value.status == 404


async def test_list_and_search_follow_every_page(scim):
    prefix = unique("page")
    ids = {(await scim.createUser({"payload": {"userName": f"{prefix}-{i}"}}))["id"] for i in range(7)}
    flt = f'userName sw "{prefix}"'

    one = await scim.listUsers({"filter": flt, "count": 3, "sortBy": "userName"})
    assert one["totalResults"] == 7 and len(one["Resources"]) == 3
    assert [r["userName"] for r in one["Resources"]] == [f"{prefix}-{i}" for i in range(3)]

    before = len(scim.exchanges)
    every = await scim.listUsers({"filter": flt, "count": 3, "all": True})
    pages = [e for e in scim.exchanges[before:] if e[0] == "GET"]
    assert len(pages) == 3  # 3 + 3 + 1
    assert {r["id"] for r in every["Resources"]} == ids
    assert every["totalResults"] == 7 and every["itemsPerPage"] == 7

    searched = await scim.searchUsers({"filter": flt, "count": 2, "all": True, "sortBy": "userName", "sortOrder": "descending"})
    assert [r["userName"] for r in searched["Resources"]] == [f"{prefix}-{i}" for i in reversed(range(7))]

    empty = await scim.listUsers({"filter": f'userName eq "{unique("nobody")}"', "all": True})
    assert empty["Resources"] == [] and empty["totalResults"] == 0


async def test_bulk_with_bulk_id_references(scim):
    user, group = unique("bulk"), unique("bulkgroup")
    result = await scim.bulk(
        {
            "operations": [
                {"method": "post", "path": "/Users", "bulkId": "u1", "data": {"userName": user}},
                {"method": "POST", "path": "/Groups", "bulkId": "g1",
                 "data": {"displayName": group, "members": [{"value": "bulkId:u1"}]}},
            ]
        }
    )
    assert [str(op["status"]) for op in result["Operations"]] == ["201", "201"]
    found = await scim.listGroups({"filter": f'displayName eq "{group}"'})
    created_user = await scim.listUsers({"filter": f'userName eq "{user}"'})
    assert found["Resources"][0]["members"][0]["value"] == created_user["Resources"][0]["id"]


async def test_discovery_endpoints(scim):
    config = await scim.getServiceProviderConfig()
    assert config["patch"]["supported"] is True and config["bulk"]["supported"] is True
    types = await scim.getResourceTypes()
    assert {t["name"] for t in types["Resources"]} >= {"User", "Group"}
    schemas = await scim.getSchemas()
    assert USER in {s["id"] for s in schemas["Resources"]}


async def test_enterprise_extension_round_trip(scim):
    created = await scim.createUser(
        {"payload": {"userName": unique("ent"), ENTERPRISE: {"employeeNumber": "701", "department": "R&D"}}}
    )
    assert ENTERPRISE in created["schemas"]
    assert created[ENTERPRISE]["employeeNumber"] == "701"
    await scim.patchUser(
        {"id": created["id"], "operations": [{"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Ops"}]}
    )
    assert (await scim.getUser({"id": created["id"]}))[ENTERPRISE]["department"] == "Ops"


async def test_headers_and_exchange_reports(connect, sandbox):
    faults = Faults()
    conn = connect(faults, headers={"X-Tenant": "acme"})
    try:
        await conn.createUser({"payload": {"userName": unique("hdr")}})
    finally:
        await conn.aclose()
        await faults.aclose()
    post = faults.requests[-1]
    assert post.headers["content-type"] == "application/scim+json"
    assert post.headers["accept"] == "application/scim+json, application/json"
    assert post.headers["x-tenant"] == "acme"
    assert post.headers["authorization"].startswith("Bearer ")
    methods = [(m, url.rsplit("/", 1)[-1], status) for m, url, status, _ in conn.exchanges]
    assert methods == [("POST", "token", 200), ("POST", "Users", 201)]
    assert all(isinstance(ms, float) and ms >= 0 for *_, ms in conn.exchanges)


# -- server errors, typed -----------------------------------------------------------------------


async def test_uniqueness_409(scim):
    name = unique("dup")
    await scim.createUser({"payload": {"userName": name}})
    with pytest.raises(ScimError) as info:
        await scim.createUser({"payload": {"userName": name}})
    error = info.value
    assert isinstance(error, ConnectorError)
    assert (error.status, error.scim_type) == (409, "uniqueness")
    assert error.message.startswith("SCIM 409 uniqueness: ")
    assert error.to_dict()["scimType"] == "uniqueness"
    assert await count_users(scim, name) == 1


async def test_not_found_404(scim):
    with pytest.raises(ScimError) as info:
        await scim.getUser({"id": "no-such-id"})
    assert info.value.status == 404 and info.value.message.startswith("SCIM 404")
    assert info.value.to_dict()["request"].startswith("GET http://127.0.0.1:")


async def test_invalid_filter_400(scim):
    with pytest.raises(ScimError) as info:
        await scim.listUsers({"filter": "userName eqq x"})
    assert (info.value.status, info.value.scim_type) == (400, "invalidFilter")
    with pytest.raises(ScimError) as info:
        await scim.searchUsers({"filter": "userName eqq x"})
    assert info.value.scim_type == "invalidFilter"


async def test_version_mismatch_412_via_if_match(scim):
    created = await scim.createUser({"payload": {"userName": unique("etag")}})
    uid, stale = created["id"], created["meta"]["version"]
    await scim.patchUser({"id": uid, "operations": [{"op": "replace", "path": "displayName", "value": "v2"}]})
    with pytest.raises(ScimError) as info:
        await scim.replaceUser({"id": uid, "version": stale, "payload": {"userName": created["userName"]}})
    assert info.value.status == 412
    with pytest.raises(ScimError) as info:
        await scim.patchUser({"id": uid, "version": stale, "operations": [{"op": "replace", "path": "title", "value": "x"}]})
    assert info.value.status == 412
    assert (await scim.getUser({"id": uid})).get("title") is None
    fresh = (await scim.getUser({"id": uid}))["meta"]["version"]
    replaced = await scim.replaceUser({"id": uid, "version": fresh, "payload": {"userName": created["userName"]}})
    assert replaced["meta"]["version"] != fresh


# -- validation before HTTP -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("createUser", {"payload": {"displayName": "no user name"}}, "userName"),
        ("createUser", {"payload": {"userName": "x", "emails": [{"value": "not-an-email"}]}}, "emails[0].value"),
        ("createUser", {"payload": {"userName": "x", "emails": [{"value": "a@b.co", "primary": True},
                                                                {"value": "c@b.co", "primary": True}]}}, "primary"),
        ("createUser", {"payload": "not an object"}, "payload must be a table, not a string"),
        ("createGroup", {"payload": {"members": []}}, "displayName"),
        ("replaceUser", {"id": "x", "payload": {"name": {"givenName": "x"}}}, "userName"),
        ("patchUser", {"id": "x", "operations": [{"op": "frob", "path": "title", "value": "x"}]}, "frob"),
        ("patchUser", {"id": "x", "operations": [{"op": "replace", "path": "noSuchAttr", "value": 1}]}, "noSuchAttr"),
        ("patchUser", {"id": "x", "operations": [{"op": "remove"}]}, "path"),
        ("patchUser", {"id": "x", "operations": []}, "operations"),
        ("getUser", {"id": ""}, "id"),
        ("listUsers", {"count": -1}, "count"),
        ("bulk", {"operations": [{"method": "POST", "path": "/Users", "data": {"userName": "x"}}]}, "bulkId"),
        ("bulk", {"operations": [{"method": "POST", "path": "/Users", "bulkId": "a", "data": {"title": "x"}}]}, "userName"),
    ],
)
async def test_invalid_input_fails_before_any_request(scim, sandbox, operation, params, expected):
    before = sandbox.requests
    with pytest.raises(ValidationFailed) as info:
        await scim.call(operation, params)
    assert expected in info.value.message
    assert sandbox.requests == before
    assert scim.exchanges == []


def test_payload_preparation_keeps_what_the_user_meant():
    body = prepare_resource(
        "User",
        {
            "username": "bjensen",  # attribute names are case-insensitive
            "id": "ignored",  # read-only: not sent
            "urn:acme:params:scim:schemas:extension:custom:2.0:User": {"badge": "7"},  # unknown extension: kept
            "x-vendor-flag": True,  # unknown attribute: kept, the server decides
        },
        "RESOURCE_CREATION_REQUEST",
    )
    assert body["userName"] == "bjensen" and "id" not in body
    assert body["schemas"] == [USER, "urn:acme:params:scim:schemas:extension:custom:2.0:User"]
    assert body["urn:acme:params:scim:schemas:extension:custom:2.0:User"] == {"badge": "7"}
    assert body["x-vendor-flag"] is True
    ent = prepare_resource("User", {"userName": "x", ENTERPRISE: {"employeeNumber": "1"}}, "RESOURCE_CREATION_REQUEST")
    assert ent["schemas"] == [USER, ENTERPRISE]


# -- retries and faults ---------------------------------------------------------------------------


async def test_retry_after_is_honoured_and_capped(connect):
    faults = Faults(
        {
            ("GET", "/ServiceProviderConfig"): [
                httpx.Response(503, headers={"Retry-After": "2"}),
                httpx.Response(429, headers={"Retry-After": "86400"}),
            ]
        }
    )
    conn = connect(faults)
    try:
        config = await conn.getServiceProviderConfig()
    finally:
        await conn.aclose()
        await faults.aclose()
    assert config["patch"]["supported"] is True
    assert conn.sleeps == [2.0, MAX_RETRY_AFTER]
    assert len(faults.seen) == 3


async def test_retries_are_bounded_by_attempts(connect):
    faults = Faults({("GET", "/ServiceProviderConfig"): [httpx.Response(503)] * 10})
    conn = connect(faults, retry={"attempts": 4, "backoff": 0.25})
    try:
        with pytest.raises(ScimError) as info:
            await conn.getServiceProviderConfig()
    finally:
        await conn.aclose()
        await faults.aclose()
    assert info.value.status == 503
    assert len(faults.seen) == 4
    assert conn.sleeps == [0.25, 0.5, 1.0]  # exponential backoff without Retry-After


async def test_patch_without_version_is_not_retried_after_a_5xx(connect, scim):
    created = await scim.createUser({"payload": {"userName": unique("patch")}})
    path = f"/Users/{created['id']}"
    faults = Faults({("PATCH", path): [httpx.Response(503), httpx.Response(503)]})
    conn = connect(faults)
    try:
        with pytest.raises(ScimError):
            await conn.patchUser({"id": created["id"], "operations": [{"op": "add", "path": "title", "value": "x"}]})
        assert [m for m, _ in faults.seen if m == "PATCH"] == ["PATCH"]
        # With If-Match a replay cannot apply twice: retried.
        result = await conn.patchUser(
            {"id": created["id"], "version": created["meta"]["version"],
             "operations": [{"op": "add", "path": "title", "value": "y"}]}
        )
    finally:
        await conn.aclose()
        await faults.aclose()
    assert result["id"] == created["id"]
    assert [m for m, _ in faults.seen if m == "PATCH"] == ["PATCH", "PATCH", "PATCH"]


async def test_create_timeout_after_send_returns_the_created_user_without_duplicate(connect, scim):
    name = unique("ambiguous")
    faults = Faults({("POST", "/Users"): ["timeout-after-send"]})
    conn = connect(faults)
    try:
        user = await conn.createUser({"payload": {"userName": name}})
    finally:
        await conn.aclose()
        await faults.aclose()
    assert user["userName"] == name and user["id"]
    assert faults.seen.count(("POST", "/scim2/Users")) == 1  # not sent again
    assert ("GET", "/scim2/Users") in faults.seen  # looked up instead
    assert await count_users(scim, name) == 1


async def test_create_lost_before_reaching_the_server_is_retried(connect, scim):
    name = unique("lost")
    faults = Faults({("POST", "/Users"): ["timeout-unsent"]})
    conn = connect(faults)
    try:
        user = await conn.createUser({"payload": {"userName": name}})
    finally:
        await conn.aclose()
        await faults.aclose()
    assert user["userName"] == name
    assert faults.seen.count(("POST", "/scim2/Users")) == 2  # lookup found nothing: sent again
    assert await count_users(scim, name) == 1


async def test_create_after_502_that_did_create(connect, scim):
    """A gateway answered 502 but the server had created the user: the retry would 409; the
    lookup returns the user instead."""
    name = unique("gw")
    faults = Faults({("POST", "/Users"): ["timeout-after-send"]})
    # The lookup itself fails once (503) and is retried as a safe GET.
    faults.script[("GET", "/Users")] = [httpx.Response(503)]
    conn = connect(faults)
    try:
        user = await conn.createUser({"payload": {"userName": name}})
    finally:
        await conn.aclose()
        await faults.aclose()
    assert user["userName"] == name
    assert faults.seen.count(("POST", "/scim2/Users")) == 1
    assert await count_users(scim, name) == 1


async def test_create_connect_error_is_retried_without_lookup(connect, scim):
    name = unique("connect")
    faults = Faults({("POST", "/Users"): ["connect-error"]})
    conn = connect(faults)
    try:
        user = await conn.createUser({"payload": {"userName": name}})
    finally:
        await conn.aclose()
        await faults.aclose()
    assert user["userName"] == name
    assert faults.seen.count(("POST", "/scim2/Users")) == 2
    assert ("GET", "/scim2/Users") not in faults.seen
    assert await count_users(scim, name) == 1


async def test_create_ambiguous_and_lookup_fails_raises_without_resending(connect, scim):
    name = unique("unknown")
    faults = Faults({("POST", "/Users"): ["timeout-after-send"], ("GET", "/Users"): ["connect-error"] * 5})
    conn = connect(faults)
    try:
        with pytest.raises(ConnectorError) as info:
            await conn.createUser({"payload": {"userName": name}})
    finally:
        await conn.aclose()
        await faults.aclose()
    assert "timed out waiting for the response" in info.value.message
    assert faults.seen.count(("POST", "/scim2/Users")) == 1


async def test_delete_retried_after_timeout_counts_404_as_deleted(connect, scim):
    created = await scim.createUser({"payload": {"userName": unique("del")}})
    faults = Faults({("DELETE", f"/Users/{created['id']}"): ["timeout-after-send"]})
    conn = connect(faults)
    try:
        assert await conn.deleteUser({"id": created["id"]}) == {"id": created["id"]}
    finally:
        await conn.aclose()
        await faults.aclose()
    assert [m for m, _ in faults.seen if m == "DELETE"] == ["DELETE", "DELETE"]


async def test_connection_refused_names_the_url(connect, sandbox):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/scim2"
    conn = connect(serviceUrl=url, auth={"type": "bearer", "token": "tok-SECRET-123"}, retry={"attempts": 2, "backoff": 0})
    try:
        with pytest.raises(ConnectorError) as info:
            await conn.getUser({"id": "abc"})
    finally:
        await conn.aclose()
    message = info.value.message
    assert f"GET {url}/Users/abc: cannot connect" in message
    assert not isinstance(info.value, ScimError) and info.value.status is None
    assert "tok-SECRET-123" not in message
    assert [e[2] for e in conn.exchanges] == [None, None]  # two attempts, no status


@pytest.mark.parametrize(
    ("response", "status", "scim_type", "message"),
    [
        (httpx.Response(502, text="<html><head><title>502</title></head><body><h1>Bad Gateway</h1><hr>nginx</body></html>",
                        headers={"Content-Type": "text/html"}), 502, None, "SCIM 502: 502 Bad Gateway nginx"),
        (httpx.Response(409, json={"schemas": [ERROR], "status": "409", "scimType": "uniqueness", "detail": "taken"}),
         409, "uniqueness", "SCIM 409 uniqueness: taken"),
        (httpx.Response(409, json={"schemas": [ERROR], "status": 409, "scimType": "uniqueness", "detail": "taken"}),
         409, "uniqueness", "SCIM 409 uniqueness: taken"),
        (httpx.Response(400, json={"status": " 400 ", "detail": "bad"}), 400, None, "SCIM 400: bad"),
        (httpx.Response(500, content=b""), 500, None, "SCIM 500: Internal Server Error (empty body)"),
        (httpx.Response(403, json={"error": "forbidden", "error_description": "no scope"}), 403, None,
         "SCIM 403: forbidden (no scope)"),
        (httpx.Response(200, text="<html>login</html>", headers={"Content-Type": "text/html"}), 200, None,
         "SCIM 200: expected a JSON body, got text/html"),
    ],
)
async def test_odd_error_bodies_are_typed(connect, response, status, scim_type, message):
    faults = Faults({("GET", "/Users/abc"): [response]})
    conn = connect(faults, retry={"attempts": 1, "backoff": 0})
    try:
        with pytest.raises(ScimError) as info:
            await conn.getUser({"id": "abc"})
    finally:
        await conn.aclose()
        await faults.aclose()
    error = info.value
    assert error.status == status and isinstance(error.status, int)
    assert error.scim_type == scim_type
    assert error.message.startswith(message), error.message
    assert len(error.message) < 300


async def test_no_secret_in_errors_or_logs(make_sandbox, connect, caplog):
    secret = "s3cret-" + uuid.uuid4().hex
    sb = make_sandbox(client_secret=secret)
    caplog.set_level(logging.DEBUG)
    errors: list[ConnectorError] = []
    faults = Faults({("POST", "/Users"): ["timeout-after-send"], ("GET", "/Users"): ["connect-error"] * 5})
    conn = connect(faults, sb=sb)
    tokens: list[str] = []
    try:
        for call in (
            conn.createUser({"payload": {"userName": unique("s")}}),  # ambiguous, lookup refused
            conn.createUser({"payload": {"userName": unique("s2")}}),  # fine
            conn.getUser({"id": "missing"}),
            conn.listUsers({"filter": "bad filter ("}),
        ):
            try:
                await call
            except ConnectorError as exc:
                errors.append(exc)
        tokens = [r.headers["authorization"].split()[1] for r in faults.requests if "authorization" in r.headers]
    finally:
        await conn.aclose()
        await faults.aclose()
    wrong = connect(sb=sb, auth={"type": "oauth2-client-credentials", "tokenUrl": sb.token_url,
                                 "clientId": sb.client_id, "clientSecret": secret + "-wrong"})
    try:
        await wrong.getUser({"id": "x"})
    except ConnectorError as exc:
        errors.append(exc)
    finally:
        await wrong.aclose()
    assert [type(e).__name__ for e in errors] == ["Ambiguous", "ScimError", "ScimError", "TokenError"]
    assert tokens
    # Authlib (the sandbox's token endpoint, in this process) logs the tokens it issues at DEBUG:
    # that is the server's log, not the client's.
    records = [r for r in caplog.records if not r.name.startswith("authlib")]
    assert any(r.name.startswith("workbench.connectors.scim") for r in records)
    texts = [str(e) for e in errors] + [repr(e.to_dict()) for e in errors] + [r.getMessage() for r in records]
    for text in texts:
        assert secret not in text
        for token in set(tokens):
            assert token not in text
