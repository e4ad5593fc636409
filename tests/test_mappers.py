"""Data mappers (issue 14): the RFC 7643 shape of value-filter and extension paths, `check` with
the mapper's key path, calls from steps (`hireToUser(x)`, `map(rows, m)`), `mapper infer`, and
the bulk-onboarding sample against the sandbox."""

from __future__ import annotations

import json

import pytest

from tests.helpers import make_project
from workbench.cli import main
from workbench.project import ProjectStore
from workbench.project.diagnostics import check
from workbench.project.expressions import EvaluationError, parse_template
from workbench.project.mappers import CompiledMapper, DataMapper, mapper_scope

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
FIELDS = {
    "userName": "${input.email}",
    "externalId": "${input.employeeId}",
    "name.givenName": "${input.givenName}",
    "name.familyName": "${input.familyName}",
    "name.formatted": "${input.givenName} ${input.familyName}",
    'emails[type eq "work"].value': "${input.email}",
    'emails[type eq "work"].primary': True,
    'emails[type eq "home"].value': "${default(input.homeEmail, null)}",
    'phoneNumbers[type eq "mobile"].value': "${input.mobile}",
    "title": "${input.title}",
    f"{ENTERPRISE}.department": "${input.department}",
    f"{ENTERPRISE}:employeeNumber": "${input.employeeId}",
    "active": True,
}
HIRE = {"employeeId": "E1042", "email": "ada@example.com", "givenName": "Ada", "familyName": "Lovelace",
        "title": "Engineer", "department": "R&D", "mobile": "+1 555 0100"}


def hand_written(row: dict) -> dict:
    """The same User, built by hand as RFC 7643 §4.1 and §4.3 show it."""
    return {
        "userName": row["email"],
        "externalId": row["employeeId"],
        "name": {"givenName": row["givenName"], "familyName": row["familyName"],
                 "formatted": f"{row['givenName']} {row['familyName']}"},
        "emails": [{"value": row["email"], "type": "work", "primary": True}],
        "phoneNumbers": [{"value": row["mobile"], "type": "mobile"}],
        "title": row["title"],
        ENTERPRISE: {"department": row["department"], "employeeNumber": row["employeeId"]},
        "active": True,
    }


def mapper(fields=FIELDS, output="scim.User") -> CompiledMapper:
    return CompiledMapper("hireToUser", DataMapper(output=output, fields=fields))


def test_value_filters_and_the_extension_urn_give_the_rfc_shape():
    m = mapper()
    assert not m.problems
    assert m(HIRE) == hand_written(HIRE)
    # A null leaves the attribute (and the element it would create) out; a value fills its element.
    assert "emails" in m(HIRE) and len(m(HIRE)["emails"]) == 1
    both = m({**HIRE, "homeEmail": "ada@home.example"})["emails"]
    assert both == [{"type": "work", "value": "ada@example.com", "primary": True},
                    {"type": "home", "value": "ada@home.example"}]
    # Names are spelled as the schema spells them (SCIM names are case-insensitive).
    assert mapper({"USERNAME": "x", 'EMAILS[TYPE eq "work"].VALUE': "y"})({}) == {
        "userName": "x", "emails": [{"type": "work", "value": "y"}]}


def test_a_key_written_whole_and_by_parts_updates_the_matching_element():
    m = mapper({"userName": "${input.email}", "emails": "${input.emails}", 'emails[type eq "work"].primary': True})
    out = m({"email": "a@x", "emails": [{"type": "home", "value": "h@x"}, {"type": "work", "value": "w@x"}]})
    assert out["emails"] == [{"type": "home", "value": "h@x"}, {"type": "work", "value": "w@x", "primary": True}]


def test_bad_target_paths_are_problems_of_the_field():
    m = mapper({"userName": "x", "name[type eq 1].x": "y", 'emails[type eq "work"].valu': "z", "nickname.x": "w"})
    keys = {keys: message for keys, message, _ in m.problems}
    assert "single-valued" in keys[("name[type eq 1].x",)]
    assert "did you mean 'value'" in keys[('emails[type eq "work"].valu',)]
    assert "no sub-attributes" in keys[("nickname.x",)]
    with pytest.raises(EvaluationError, match="data mapper hireToUser is invalid"):
        m({})


def test_an_evaluation_error_names_the_mapper_and_the_target():
    with pytest.raises(EvaluationError, match=r"data mapper hireToUser: title: unknown variable 'input.title'"):
        mapper()({k: v for k, v in HIRE.items() if k != "title"})


PROJECT = """
[integration]
name = "mappers"

[connections.idp]
connector = "scim"
serviceUrl = "http://127.0.0.1:9/scim"

[datamappers.hireToUser]
output = "scim.User"
sample = { email = "ada@example.com", givenName = "Ada", title = "Engineer" }

[datamappers.hireToUser.fields]
userName = "${input.email}"
"name.givenName" = "${input.givenName}"
'emails[type eq "work"].value' = "${input.email}"
title = "${input.title}"

[entrypoints.main]
[[entrypoints.main.steps]]
set = "hires"
value = [{ email = "a@example.com", givenName = "A", title = "T" }]
[[entrypoints.main.steps]]
call = "idp.createUser"
args = { payload = "${hireToUser(hires[0])}" }
[[entrypoints.main.steps]]
call = "idp.syncUsers"
args = { desired = "${map(hires, hireToUser)}", scope = "externalId pr" }
"""


def diags(tmp_path, text):
    store = ProjectStore.open(make_project(tmp_path / "p", text))
    return [(d.severity, d.code, d.key, d.message) for d in check(store)]


def test_check_accepts_the_mapper_and_its_calls(tmp_path):
    assert diags(tmp_path, PROJECT) == []


def test_a_missing_required_target_is_reported_with_the_mappers_key_path(tmp_path):
    found = diags(tmp_path, PROJECT.replace('userName = "${input.email}"\n', ""))
    assert ("error", "missing-key", "datamappers.hireToUser.fields.userName",
            "data mapper hireToUser: userName is required") in found


def test_check_reports_literals_the_schema_refuses_and_unknown_mappers(tmp_path):
    text = PROJECT.replace('title = "${input.title}"', 'title = "${input.title}"\nactive = [1]')
    text = text.replace("${hireToUser(hires[0])}", "${hireToUsr(hires[0])}")
    found = {(code, key) for _, code, key, _ in diags(tmp_path, text)}
    assert ("type-mismatch", "datamappers.hireToUser.fields.active") in found
    assert ("unknown-mapper", "entrypoints.main.steps[1].args.payload") in found


def test_check_refuses_a_mapper_of_another_type_and_a_list_for_one_payload(tmp_path):
    text = PROJECT.replace('output = "scim.User"', 'output = "scim.Group"').replace(
        'userName = "${input.email}"', 'displayName = "${input.email}"').replace(
        "\"name.givenName\" = \"${input.givenName}\"\n'emails[type eq \"work\"].value' = \"${input.email}\"\n"
        "title = \"${input.title}\"\n", "")
    found = [(code, key, message) for _, code, key, message in diags(tmp_path, text)]
    assert ("type-mismatch", "entrypoints.main.steps[1].args.payload",
            "data mapper hireToUser gives a scim.Group; createUser's payload is a scim.User") in found
    listed = diags(tmp_path, PROJECT.replace("${hireToUser(hires[0])}", "${map(hires, hireToUser)}"))
    assert [code for _, code, _, _ in listed] == ["type-mismatch"]


def test_a_declared_input_type_names_fields_it_lacks(tmp_path):
    text = PROJECT.replace('output = "scim.User"', 'input = "Hire"\noutput = "scim.User"') + """
[types.Hire]
fields = { email = "string", givenName = "string", title = "string" }
"""
    assert diags(tmp_path, text) == []
    found = diags(tmp_path, text.replace("${input.givenName}", "${input.givenNam}"))
    assert [(code, key) for _, code, key, _ in found] == [("unknown-field", "datamappers.hireToUser.fields.\"name.givenName\"")]
    assert "did you mean 'givenName'" in found[0][3]


def test_map_over_10000_rows_is_correct():
    rows = [{**HIRE, "email": f"user{i}@example.com", "employeeId": f"E{i:05}"} for i in range(10_000)]
    store_project = type("P", (), {"datamappers": {"hireToUser": DataMapper(output="scim.User", fields=FIELDS)}})()
    scope = {"rows": rows, **mapper_scope(store_project)}
    out = parse_template("${map(rows, hireToUser)}").evaluate(scope)
    assert out == [hand_written(row) for row in rows]
    assert out[0] is not out[1] and out[0]["emails"] is not out[1]["emails"]  # nothing shared


def test_mapper_infer_prints_a_types_table_for_a_csv(tmp_path, capsys):
    import tomllib

    path = tmp_path / "new-hires.csv"
    path.write_text("employeeId,email,given name\nE1,a@example.com,Ada\n", encoding="utf-8")
    assert main(["mapper", "infer", str(path)]) == 0
    out = capsys.readouterr().out
    assert tomllib.loads(out) == {"types": {"NewHires": {"fields": {
        "employeeId": "string", "email": "string", "given name": "string"}}}}
    json_path = tmp_path / "hire.json"
    json_path.write_text(json.dumps([{"id": 1, "active": True, "tags": ["a"]}]), encoding="utf-8")
    assert main(["mapper", "infer", str(json_path), "--name", "Hire"]) == 0
    assert tomllib.loads(capsys.readouterr().out)["types"]["Hire"]["fields"] == {
        "id": "int", "active": "boolean", "tags": "string[]"}


def test_bulk_onboarding_maps_each_hire_and_creates_the_users(tmp_path, sandbox, capsys):
    from tests.test_cli_run import copy_sample, sets, unique_hires, users_named

    project = copy_sample(tmp_path, "bulk-onboarding")
    text = (project / "workbench.toml").read_text(encoding="utf-8")
    assert 'payload = "${hireToUser(hire)}"' in text and "[datamappers.hireToUser]" in text
    rows = unique_hires(project)
    assert main(["run", str(project), *sets(sandbox)]) == 0, capsys.readouterr().out
    assert "Onboarded 25 new hires" in capsys.readouterr().out
    for row in (rows[0], rows[24]):
        [user] = users_named(sandbox, row["email"])
        assert user["name"] == {"givenName": row["givenName"], "familyName": row["familyName"]}
        assert user["emails"] == [{"value": row["email"], "type": "work", "primary": True}]
        assert user[ENTERPRISE]["department"] == row["department"] and user["active"] is True
