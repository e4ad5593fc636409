"""`syncUsers` / `syncGroups` against the sandbox over real HTTP: plan, apply, idempotence, scope,
the maxChanges guard, and a plan that sends no write (counted on the server side)."""

from __future__ import annotations

import pytest

from workbench.connectors.base import ConnectorError
from workbench.connectors.scim import SPEC
from workbench.connectors.scim.client import ScimConnection
from workbench.connectors.scim.sync import plan_lines

SCOPE = "externalId pr"


@pytest.fixture
async def conn(make_sandbox):
    sb = make_sandbox()
    connection = ScimConnection(SPEC, SPEC.connection.model_validate({
        "serviceUrl": sb.service_url, "pageSize": 7,  # several pages
        "auth": {"type": "oauth2-client-credentials", "tokenUrl": sb.token_url, "clientId": sb.client_id,
                 "clientSecret": sb.client_secret},
    }))
    connection.sb = sb  # type: ignore[attr-defined]
    yield connection
    await connection.aclose()


def hr(n: int = 20) -> list[dict]:
    return [{"userName": f"p{i:02d}@example.com", "externalId": f"E{i:02d}", "title": "Engineer",
             "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"}, "active": True} for i in range(n)]


async def sync(conn, desired, **params):
    return await conn.syncUsers({"desired": desired, "scope": SCOPE, "matchOn": "externalId", **params})


async def test_plan_apply_then_nothing_to_do(conn):
    sb = conn.sb
    planned = await sync(conn, hr(), planOnly=True)
    assert planned["counts"] == {"create": 20, "update": 0, "deprovision": 0, "unchanged": 0}
    assert planned["applied"] is False and sb.writes == 0  # a plan sends no write
    applied = await sync(conn, hr())
    assert applied["counts"]["create"] == 20 and applied["failed"] == [] and sb.writes == 20
    again = await sync(conn, hr(), planOnly=True)
    assert again["counts"] == {"create": 0, "update": 0, "deprovision": 0, "unchanged": 20}
    writes = sb.writes
    second = await sync(conn, hr())
    assert second["counts"]["unchanged"] == 20 and sb.writes == writes  # a second apply writes nothing


async def test_three_changed_two_gone_and_one_out_of_scope(conn):
    await sync(conn, hr())
    # Outside the scope (no externalId), with a userName the source also uses: never touched.
    outsider = await conn.createUser({"payload": {"userName": "outsider@example.com", "title": "Keep"}})
    desired = hr()
    for i in (3, 7, 11):
        desired[i]["title"] = "Lead"
    desired[7]["name"]["familyName"] = "Renamed"
    del desired[18:]  # two leavers
    desired.append({"userName": "outsider@example.com", "externalId": "E99", "title": "New hire"})
    plan = await sync(conn, desired, planOnly=True)
    assert plan["counts"] == {"create": 1, "update": 3, "deprovision": 2, "unchanged": 15}
    updates = {u["key"]: u["changes"] for u in plan["update"]}
    assert updates["E03"] == [{"path": "title", "from": "Engineer", "to": "Lead"}]
    assert {c["path"] for c in updates["E07"]} == {"title", "name.familyName"}
    assert [d["key"] for d in plan["deprovision"]] == ["E18", "E19"]
    lines = plan_lines(plan)
    assert '~ E03  title: "Engineer" → "Lead"' in lines and "- E18  (deactivate)" in lines
    assert lines[-1] == "1 to create, 3 to update, 2 to deprovision, 15 unchanged (a plan: nothing was changed)"
    report = await sync(conn, desired)
    # The outsider's userName is taken, so its create fails; the sync goes on and reports it.
    assert [f["key"] for f in report["failed"]] == ["E99"]
    after = await conn.listUsers({"filter": SCOPE, "all": True})
    by_key = {u["externalId"]: u for u in after["Resources"]}
    assert by_key["E03"]["title"] == "Lead" and by_key["E07"]["name"]["familyName"] == "Renamed"
    assert by_key["E18"]["active"] is False and by_key["E19"]["active"] is False
    assert (await conn.getUser({"id": outsider["id"]}))["title"] == "Keep"
    final = await sync(conn, desired[:-1], planOnly=True)
    assert final["counts"] == {"create": 0, "update": 0, "deprovision": 0, "unchanged": 20}  # leavers inactive


async def test_max_changes_refuses_a_truncated_source_unless_forced(conn):
    await sync(conn, hr())
    writes = conn.sb.writes
    with pytest.raises(ConnectorError, match=r"the plan changes 15 of the 20 Users in scope, over maxChanges 10% \(2\)"):
        await sync(conn, hr()[:5], maxChanges="10%")
    assert conn.sb.writes == writes
    forced = await sync(conn, hr()[:5], maxChanges="10%", force=True)
    assert forced["counts"]["deprovision"] == 15 and conn.sb.writes == writes + 15


async def test_delete_deprovisioning_and_group_members(conn):
    users = (await sync(conn, hr(4)))
    assert users["counts"]["create"] == 4
    await sync(conn, hr(3), deprovision="delete")
    listed = await conn.listUsers({"filter": SCOPE, "all": True})
    assert sorted(u["externalId"] for u in listed["Resources"]) == ["E00", "E01", "E02"]
    ids = {u["externalId"]: u["id"] for u in listed["Resources"]}
    groups = [{"displayName": "eng", "externalId": "G1", "members": [{"value": ids["E00"]}, {"value": ids["E01"]}]}]
    assert (await conn.syncGroups({"desired": groups, "scope": SCOPE}))["counts"]["create"] == 1
    groups[0]["members"] = [{"value": ids["E01"]}, {"value": ids["E02"]}]
    plan = await conn.syncGroups({"desired": groups, "scope": SCOPE})
    assert plan["counts"]["update"] == 1 and plan["update"][0]["changes"][0]["path"] == "members"
    group = (await conn.listGroups({"filter": 'displayName eq "eng"'}))["Resources"][0]
    assert sorted(m["value"] for m in group["members"]) == sorted([ids["E01"], ids["E02"]])


def test_the_hr_sync_sample_plans_applies_and_is_idempotent(tmp_path, make_sandbox, capsys):
    import csv
    import json

    from tests.helpers import copy_sample
    from workbench.cli import main

    sb = make_sandbox()
    project = copy_sample("hr-sync", tmp_path)
    sets = [arg for name, value in {"scimServiceUrl": sb.service_url, "scimTokenUrl": sb.token_url,
                                    "scimClientId": sb.client_id, "scimClientSecret": sb.client_secret}.items()
            for arg in ("--set", f"{name}={value}")]

    def run(*extra: str) -> dict:
        assert main(["run", str(project), *sets, "--json", *extra]) == 0
        return json.loads(capsys.readouterr().out.splitlines()[-1])["result"]

    assert main(["run", str(project), *sets, "--plan"]) == 0
    out = capsys.readouterr().out
    assert "+ E1001  (create)" in out and "40 to create, 0 to update" in out and sb.writes == 0
    assert main(["run", str(project), *sets]) == 0  # apply
    capsys.readouterr()
    assert sb.writes == 40  # creates do not count against maxChanges
    assert run()["counts"]["unchanged"] == 40 and sb.writes == 40  # a second run writes nothing
    path = project / "hr-export.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows[2]["title"] = "Lead Financial Analyst"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:-2])
    plan = run("--plan")
    assert plan["counts"] == {"create": 0, "update": 1, "deprovision": 2, "unchanged": 37}
    assert plan["update"][0]["changes"] == [{"path": "title", "from": "Financial Analyst", "to": "Lead Financial Analyst"}]
    assert sb.writes == 40


def test_a_plan_runs_reads_and_skips_every_other_write(tmp_path, make_sandbox, capsys):
    from tests.helpers import make_project
    from workbench.cli import main

    sb = make_sandbox()
    project = make_project(tmp_path / "p", f"""
[integration]
name = "plan"
[connections.idp]
connector = "scim"
serviceUrl = "{sb.service_url}"
[connections.idp.auth]
type = "oauth2-client-credentials"
tokenUrl = "{sb.token_url}"
clientId = "{sb.client_id}"
clientSecret = "{sb.client_secret}"
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
call = "idp.listUsers"
result = "before"
[[entrypoints.main.steps]]
call = "idp.createUser"
args = {{ payload = {{ userName = "planned@example.com" }} }}
[[entrypoints.main.steps]]
sync = "idp.users"
desired = [{{ userName = "x@example.com", externalId = "X1" }}]
scope = "externalId pr"
matchOn = "externalId"
""")
    assert main(["check", str(project)]) == 0
    capsys.readouterr()
    requests = sb.requests
    assert main(["run", str(project), "--plan"]) == 0
    out = capsys.readouterr().out
    assert "not run: a plan sends no write" in out and "+ X1  (create)" in out
    assert sb.writes == 0 and sb.requests > requests  # it read, and wrote nothing
    assert main(["run", str(project)]) == 0
    assert sb.writes == 2


def test_check_knows_the_sync_step(tmp_path, capsys):
    import json

    from tests.helpers import make_project
    from workbench.cli import main

    project = make_project(tmp_path / "p", """
[integration]
name = "badsync"
[connections.files]
connector = "file"
[connections.idp]
connector = "scim"
serviceUrl = "http://127.0.0.1:9/scim2"
[entrypoints.main]
kind = "automation"
[[entrypoints.main.steps]]
sync = "files.users"
desired = []
scope = "externalId pr"
[[entrypoints.main.steps]]
sync = "idp.users"
desired = []
deprovision = "obliterate"
""")
    assert main(["check", str(project), "--json"]) == 2
    found = json.loads(capsys.readouterr().out)
    problems = found["diagnostics"] if isinstance(found, dict) else found
    text = json.dumps(problems)
    assert "cannot sync" in text and "scope" in text and "deprovision" in text


async def test_a_server_that_cannot_filter_on_the_scope_says_so():
    from tests.hostile_server import HostileServer, respond
    from workbench.connectors.scim.errors import ScimError

    server = HostileServer().start()
    server.route("GET", "/Users")(lambda request, conn: respond(conn, 400, {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidFilter",
        "detail": "externalId is not filterable"}))
    connection = ScimConnection(SPEC, SPEC.connection.model_validate({"serviceUrl": server.url}))
    try:
        with pytest.raises(ScimError, match=r"cannot list the scope 'externalId pr'.*not filterable"):
            await connection.syncUsers({"desired": [], "scope": "externalId pr", "planOnly": True})
    finally:
        await connection.aclose()
        server.stop()
    assert server.counts[("GET", "/Users")] == 1


async def test_a_server_whose_delete_only_deactivates_says_so():
    from tests.hostile_server import HostileServer, respond

    server = HostileServer().start()
    users = [{"id": "g1", "userName": "gone@example.com", "externalId": "E1", "active": True}]
    server.route("GET", "/ServiceProviderConfig")(lambda request, conn: respond(conn, 200, {"patch": {"supported": True}}))
    server.route("GET", "/Users")(lambda request, conn: respond(conn, 200, {"totalResults": 1, "Resources": users}))

    def delete(request, conn) -> None:
        users[0]["active"] = False  # "deleted": only deactivated
        respond(conn, 204)

    server.route("DELETE", "/Users/g1")(delete)
    server.route("GET", "/Users/g1")(lambda request, conn: respond(conn, 200, users[0]))
    connection = ScimConnection(SPEC, SPEC.connection.model_validate({"serviceUrl": server.url}))
    try:
        report = await connection.syncUsers({"desired": [], "scope": "externalId pr", "matchOn": "externalId",
                                             "deprovision": "delete"})
    finally:
        await connection.aclose()
        server.stop()
    [failed] = report["failed"]
    assert failed["key"] == "E1" and "does not delete on DELETE" in failed["error"] and "deactivate" in failed["error"]
