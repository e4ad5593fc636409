"""`ensureUser` / `ensureGroup`: create when absent, a minimal PATCH when different, nothing when
equal; against the sandbox (scim2-server) over real HTTP, writes counted on the server side."""

from __future__ import annotations

import uuid

import pytest

from tests.hostile_server import HostileServer, Request, respond
from workbench.connectors.scim import SPEC
from workbench.connectors.scim.client import ScimConnection
from workbench.connectors.scim.diff import diff, merged

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
async def conn(make_sandbox):
    sb = make_sandbox()
    connection = ScimConnection(SPEC, SPEC.connection.model_validate({
        "serviceUrl": sb.service_url,
        "auth": {"type": "oauth2-client-credentials", "tokenUrl": sb.token_url, "clientId": sb.client_id,
                 "clientSecret": sb.client_secret},
    }))
    connection.sb = sb  # type: ignore[attr-defined]
    yield connection
    await connection.aclose()


def person(name: str, **extra) -> dict:
    return {"userName": name, "externalId": "E-" + name, "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}], "title": "Engineer",
            **extra}


async def test_absent_then_equal_then_changed(conn):
    name = "ada-" + uuid.uuid4().hex[:8]
    first = await conn.ensureUser({"payload": person(name)})
    assert first["status"] == "created" and first["resource"]["userName"] == name
    writes = conn.sb.writes
    again = await conn.ensureUser({"payload": person(name)})
    assert again == {"status": "unchanged", "changed": [], "resource": again["resource"]}
    assert conn.sb.writes == writes  # equal: nothing sent
    changed = await conn.ensureUser({"payload": person(name, title="Lead", **{ENTERPRISE: {"department": "R&D"}})})
    assert changed["status"] == "updated"
    assert changed["changed"] == ["title", f"{ENTERPRISE}:department"]
    assert conn.sb.writes == writes + 1  # one PATCH
    assert changed["resource"]["title"] == "Lead"
    assert changed["resource"][ENTERPRISE]["department"] == "R&D"
    assert (await conn.ensureUser({"payload": person(name, title="Lead", **{ENTERPRISE: {"department": "R&D"}})}
                                  ))["status"] == "unchanged"


async def test_match_on_external_id_and_leave_the_rest_alone(conn):
    name = "kim-" + uuid.uuid4().hex[:8]
    await conn.ensureUser({"payload": person(name, displayName="Kim")})
    # The source renamed the user and does not mention displayName: matched by externalId.
    result = await conn.ensureUser({"payload": {"userName": name + "-new", "externalId": "E-" + name},
                                    "matchOn": "externalId"})
    assert result["status"] == "updated" and result["changed"] == ["userName"]
    assert result["resource"]["displayName"] == "Kim"  # not mentioned: left alone
    # null clears only with clearMissing.
    kept = await conn.ensureUser({"payload": {"userName": name + "-new", "externalId": "E-" + name, "title": None},
                                  "matchOn": "externalId"})
    assert kept["status"] == "unchanged"
    cleared = await conn.ensureUser({"payload": {"userName": name + "-new", "externalId": "E-" + name, "title": None},
                                     "matchOn": "externalId", "clearMissing": True})
    assert cleared["changed"] == ["title"] and "title" not in cleared["resource"]


async def test_ensure_group_adds_and_removes_only_the_members_that_differ(conn):
    users = [(await conn.ensureUser({"payload": person(f"m{i}-" + uuid.uuid4().hex[:6])}))["resource"]["id"]
             for i in range(3)]
    group = "team-" + uuid.uuid4().hex[:6]
    created = await conn.ensureGroup({"payload": {"displayName": group, "members": [{"value": users[0]}, {"value": users[1]}]}})
    assert created["status"] == "created"
    updated = await conn.ensureGroup({"payload": {"displayName": group, "members": [{"value": users[1]}, {"value": users[2]}]}})
    assert updated["status"] == "updated" and updated["changed"] == ["members"]
    assert sorted(m["value"] for m in updated["resource"]["members"]) == sorted(users[1:])
    writes = conn.sb.writes
    same = await conn.ensureGroup({"payload": {"displayName": group, "members": [{"value": users[2]}, {"value": users[1]}]}})
    assert same["status"] == "unchanged" and conn.sb.writes == writes


async def test_a_409_race_on_create_becomes_an_update_never_a_duplicate():
    """Another writer creates the user between our lookup and our POST."""
    server = HostileServer().start()
    stored: list[dict] = []

    @server.route("GET", "/Users")
    def lookup(request: Request, conn) -> None:
        respond(conn, 200, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                            "totalResults": len(stored), "Resources": stored})

    @server.route("POST", "/Users")
    def create(request: Request, conn) -> None:
        stored.append({"id": "u1", "userName": "race", "title": "Other"})  # the other writer won
        respond(conn, 409, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409",
                            "scimType": "uniqueness", "detail": "userName taken"})

    @server.route("PATCH", "/Users/u1")
    def patch(request: Request, conn) -> None:
        stored[0]["title"] = "Mine"
        respond(conn, 200, stored[0])

    server.route("GET", "/ServiceProviderConfig")(lambda request, conn: respond(conn, 200, {"patch": {"supported": True}}))
    connection = ScimConnection(SPEC, SPEC.connection.model_validate({"serviceUrl": server.url}))
    try:
        result = await connection.ensureUser({"payload": {"userName": "race", "title": "Mine"}})
    finally:
        await connection.aclose()
        server.stop()
    assert result["status"] == "updated" and result["changed"] == ["title"]
    assert server.counts[("POST", "/Users")] == 1 and server.counts[("PATCH", "/Users/u1")] == 1


async def test_without_patch_support_the_update_is_a_put_of_the_merged_resource():
    server = HostileServer().start()
    current = {"id": "u1", "userName": "np", "displayName": "Keep me", "title": "Old", "meta": {"version": 'W/"1"'}}
    server.route("GET", "/Users")(lambda request, conn: respond(conn, 200, {"Resources": [current]}))
    server.route("GET", "/ServiceProviderConfig")(lambda request, conn: respond(conn, 200, {"patch": {"supported": False}}))
    server.route("PUT", "/Users/u1")(lambda request, conn: respond(conn, 200, {**current, "title": "New"}))
    connection = ScimConnection(SPEC, SPEC.connection.model_validate({"serviceUrl": server.url}))
    try:
        result = await connection.ensureUser({"payload": {"userName": "np", "title": "New"}})
    finally:
        await connection.aclose()
        server.stop()
    assert result["status"] == "updated"
    put = next(r for r in server.requests if r.method == "PUT")
    assert put.headers["if-match"] == 'W/"1"'
    assert b'"displayName":"Keep me"' in put.body and b'"title":"New"' in put.body and b"meta" not in put.body
    assert server.counts[("PATCH", "/Users/u1")] == 0


def test_diff_compares_multi_valued_attributes_by_type_and_value():
    current = {"emails": [{"value": "a@x", "type": "work", "primary": True, "display": "A"}, {"value": "b@x", "type": "home"}]}
    assert diff({"emails": [{"value": "b@x", "type": "home"}, {"value": "a@x", "type": "work"}]}, current) == ([], [])
    ops, changed = diff({"emails": [{"value": "c@x", "type": "work"}]}, current)
    assert changed == ["emails"] and ops == [{"op": "replace", "path": "emails", "value": [{"value": "c@x", "type": "work"}]}]
    assert diff({"userName": "ADA"}, {"userName": "ada"}) == ([], [])  # userName is case-insensitive
    assert merged({"name": {"givenName": "B"}}, {"name": {"givenName": "A", "familyName": "F"}, "meta": {}}) == {
        "name": {"givenName": "B", "familyName": "F"}}


async def test_a_dropped_connection_during_an_update_ends_in_the_right_state():
    """The PATCH is applied, then the answer is lost: a PATCH of replace operations is sent again
    (applying it twice is harmless), and the resource ends as desired, once."""
    from tests.hostile_server import drop

    server = HostileServer().start()
    user = {"id": "u1", "userName": "drop", "title": "Old"}

    @server.route("PATCH", "/Users/u1")
    def patch(request: Request, conn) -> None:
        user["title"] = "New"
        if server.counts[("PATCH", "/Users/u1")] == 1:
            drop(request, conn)
        else:
            respond(conn, 200, user)

    server.route("GET", "/Users")(lambda request, conn: respond(conn, 200, {"Resources": [user]}))
    server.route("GET", "/ServiceProviderConfig")(lambda request, conn: respond(conn, 200, {"patch": {"supported": True}}))
    connection = ScimConnection(SPEC, SPEC.connection.model_validate(
        {"serviceUrl": server.url, "retry": {"attempts": 3, "backoff": 0}}))
    try:
        result = await connection.ensureUser({"payload": {"userName": "drop", "title": "New"}})
    finally:
        await connection.aclose()
        server.stop()
    assert result["status"] == "updated" and result["resource"]["title"] == "New"
    assert server.counts[("PATCH", "/Users/u1")] == 2 and server.counts[("POST", "/Users")] == 0


@pytest.mark.parametrize("status", [400, 500])
async def test_a_server_that_answers_a_duplicate_with_400_or_500(status):
    server = HostileServer().start()
    stored: list[dict] = []

    @server.route("POST", "/Users")
    def create(request: Request, conn) -> None:
        stored.append({"id": "u9", "userName": "dup", "title": "Theirs"})  # another writer was first
        respond(conn, status, {"detail": "userName already in use"})

    server.route("GET", "/Users")(lambda request, conn: respond(conn, 200, {"Resources": list(stored)}))
    server.route("GET", "/ServiceProviderConfig")(lambda request, conn: respond(conn, 200, {"patch": {"supported": True}}))
    server.route("PATCH", "/Users/u9")(lambda request, conn: respond(conn, 200, {**stored[0], "title": "Ours"}))
    connection = ScimConnection(SPEC, SPEC.connection.model_validate({"serviceUrl": server.url}))
    try:
        result = await connection.ensureUser({"payload": {"userName": "dup", "title": "Ours"}})
    finally:
        await connection.aclose()
        server.stop()
    assert result["status"] == "updated" and server.counts[("POST", "/Users")] == 1
