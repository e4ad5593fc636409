"""The plain rules (request_rules.py) against scim2-models: the rules accept a payload only when
scim2-models does, accept the common valid payloads on their own (no scim2-models import), and
an error, decided by scim2-models, names the key path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from workbench.connectors.scim import payload as scim_payload
from workbench.connectors.scim.request_rules import _email, model_accepts
from workbench.connectors.scim.schema_data_gen import DATA_FILE, build, render

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CREATE = "RESOURCE_CREATION_REQUEST"


def test_the_data_file_is_generated_from_the_installed_scim2_models():
    assert DATA_FILE.read_text(encoding="utf-8") == render(build()), (
        "run: python -m workbench.connectors.scim.schema_data_gen")


def rules_accept(kind: str, data: dict) -> bool:
    kind_ = scim_payload._kind(kind)
    known = scim_payload._split(kind_, data)[0]
    return all(s in kind_.schemas for s in known["schemas"]) and model_accepts(kind, known)


def scim2_accepts(kind: str, data: dict) -> bool:
    kind_ = scim_payload._models(scim_payload._kind(kind))
    known = scim_payload._split(kind_, data)[0]
    try:
        kind_.model.model_validate(known, scim_ctx=scim_payload._ctx(CREATE))
    except ValidationError:
        return False
    return True


KIM = {"userName": "kim@example.com", "name": {"givenName": "Kim", "familyName": "Jensen"},
       "emails": [{"value": "kim@example.com", "type": "work", "primary": True}], "active": True}

# Valid payloads the rules accept on their own.
VALID = [
    ("User", KIM),
    ("User", {"userName": "a"}),
    ("User", {"schemas": [USER], "userName": ""}),
    ("User", {"USERNAME": "a", "Name": {"GivenName": "x"}, "EMAILS": [{"Value": "a.b+c@x-y.example.org", "PRIMARY": True}]}),
    ("User", {"userName": "a", "emails": [{"value": "a@x.io", "primary": True}, {"value": "b@x.io", "primary": False}]}),
    ("User", {"userName": "a", "emails": [], "phoneNumbers": [{"value": "+45 1234", "type": "mobile"}], "active": None}),
    ("User", {"userName": "a", "externalId": "E1", "title": "Analyst", "displayName": "A", "locale": "da-DK",
              "password": "s3cret", "addresses": [{"streetAddress": "1 Way", "type": "Work", "primary": True}]}),
    ("User", {"schemas": [USER, ENTERPRISE], "userName": "a", ENTERPRISE: {"department": "R&D", "employeeNumber": "7"}}),
    ("User", {"userName": "a", ENTERPRISE.lower(): {"costCenter": "4"}}),
    ("User", {"userName": "a", "roles": [{"value": "admin"}], "entitlements": [{"value": "x", "primary": True}]}),
    ("User", {"userName": "a", "id": "server-id"}),
    ("User", {"userName": "a", "urn:example:custom:2.0:User": {"badge": 7}}),  # an unknown extension: kept, not checked
    ("Group", {"displayName": "Ops"}),
    ("Group", {"displayName": "Ops", "members": [{"value": "123", "display": "Kim"}], "externalId": "G1"}),
]

# Valid payloads the rules leave to scim2-models (a reference, a date, the extension's schemas).
LEFT_TO_SCIM2 = [
    ("User", {"userName": "a", "profileUrl": "https://example.com/kim"}),
    ("User", {"userName": "a", "meta": {"created": "2024-01-01T00:00:00Z"}}),
    ("User", {"userName": "a", ENTERPRISE: {"schemas": [ENTERPRISE], "department": "x"}}),
    ("User", {"userName": "a", ENTERPRISE: {"manager": {"value": "m1", "$ref": "https://x.io/Users/m1"}}}),
    ("User", {"userName": "a", "emails": [{"value": "Kim <kim@example.com>"}]}),
    ("User", {"userName": "a", "name": {"given_name": "x"}}),  # a Python field name: scim2-models takes it too
    ("Group", {"displayName": "Ops", "members": [{"value": "1", "$ref": "https://x.io/Users/1"}]}),
]

# Invalid payloads, with the key path the error names.
INVALID = [
    ("User", {"name": {"givenName": "x"}}, ("userName",)),
    ("User", {"userName": None}, ("userName",)),
    ("User", {"userName": 7}, ("userName",)),
    ("User", {"userName": "a", "active": "yes please"}, ("active",)),
    ("User", {"userName": "a", "Active": 3}, ("Active",)),
    ("User", {"userName": "a", "name": "Kim"}, ("name",)),
    ("User", {"userName": "a", "name": {"givenName": 1}}, ("name", "givenName")),
    ("User", {"userName": "a", "name": {"nickname": "k"}}, ("name", "nickname")),
    ("User", {"userName": "a", "emails": {"value": "a@x.io"}}, ("emails",)),
    ("User", {"userName": "a", "emails": ["a@x.io"]}, ("emails", 0)),
    ("User", {"userName": "a", "emails": [{"value": "not-an-email"}]}, ("emails", 0, "value")),
    ("User", {"userName": "a", "emails": [{"value": "a@b.test"}]}, ("emails", 0, "value")),
    ("User", {"userName": "a", "emails": [{"value": "a@x.io", "primary": True}, {"value": "b@x.io", "primary": True}]},
     ("emails",)),
    ("User", {"userName": "a", "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"]}, ()),
    ("User", {"userName": "a", ENTERPRISE: {"department": 3}}, (ENTERPRISE, "department")),
    ("User", {"userName": "a", ENTERPRISE: {"manager": {"value": "m1"}}}, (ENTERPRISE, "manager")),
    ("User", {"userName": "a", "profileUrl": 12}, ("profileUrl",)),
    ("User", {"userName": "a", "id": 3}, ("id",)),
    ("Group", {"members": []}, ("displayName",)),
    ("Group", {"displayName": "Ops", "members": [{"value": 1}]}, ("members", 0, "value")),
]


@pytest.mark.parametrize("kind,data", VALID)
def test_the_rules_accept_common_valid_payloads(kind, data):
    assert scim2_accepts(kind, data)
    assert rules_accept(kind, data)
    assert scim_payload.resource_errors(kind, data, CREATE) == []


@pytest.mark.parametrize("kind,data", LEFT_TO_SCIM2)
def test_the_rules_leave_unusual_payloads_to_scim2_models(kind, data):
    assert not rules_accept(kind, data)
    assert scim2_accepts(kind, data)
    assert scim_payload.resource_errors(kind, data, CREATE) == []


@pytest.mark.parametrize("kind,data,loc", INVALID)
def test_an_invalid_payload_is_refused_naming_the_key_path(kind, data, loc):
    assert not scim2_accepts(kind, data)
    assert not rules_accept(kind, data)
    errors = scim_payload.resource_errors(kind, data, CREATE)
    assert errors and errors[0]["loc"][:len(loc)] == loc, errors


_strings = st.one_of(st.text(max_size=6), st.sampled_from(["", "kim@example.com", "a@b.test", "x@y", "Kim"]))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), _strings)
_text = st.one_of(_strings, _strings, _scalars)  # mostly valid, so both verdicts are met often
_flag = st.one_of(st.booleans(), st.booleans(), _scalars)
_emails = st.fixed_dictionaries({}, optional={
    "value": st.one_of(st.emails(), _scalars), "type": _text, "primary": _flag, "Primary": _flag, "bogus": _scalars})
_users = st.fixed_dictionaries({"userName": _text}, optional={
    "USERNAME": _text, "active": _flag, "title": _text, "schemas": st.just([USER, ENTERPRISE]),
    "name": st.one_of(st.fixed_dictionaries({}, optional={"givenName": _text, "familyname": _text,
                                                           "given_name": _text, "x": _scalars}), _scalars),
    "emails": st.one_of(st.lists(st.one_of(_emails, _emails, _scalars), max_size=3), _scalars),
    ENTERPRISE: st.one_of(st.fixed_dictionaries({}, optional={
        "department": _text, "manager": st.one_of(st.fixed_dictionaries({}, optional={"value": _text}), _scalars),
        "schemas": st.lists(_strings, max_size=2)}), _scalars),
})


def context_rules_accept(kind: str, data: dict) -> bool:
    """The rules' request checks alone, after scim2-models validated the types (payload._validate)."""
    kind_ = scim_payload._models(scim_payload._kind(kind))
    known = scim_payload._split(kind_, data)[0]
    try:
        kind_.model.model_validate(known, scim_ctx=None)
    except ValidationError:
        return False
    return all(s in kind_.schemas for s in known["schemas"]) and model_accepts(kind, known, types=False)


@settings(max_examples=400, deadline=None)
@given(_users)
def test_the_rules_never_accept_what_scim2_models_refuses(data):
    if rules_accept("User", data) or context_rules_accept("User", data):
        assert scim2_accepts("User", data), data


@pytest.mark.parametrize("kind,data", LEFT_TO_SCIM2[:4])
def test_the_request_checks_alone_accept_a_payload_with_a_reference_or_a_date(kind, data):
    assert context_rules_accept(kind, data)


def test_a_primary_given_as_text_is_left_to_scim2_models():
    data = {"userName": "a", "emails": [{"value": "a@x.io", "primary": "true"}, {"value": "b@x.io", "primary": True}]}
    assert not context_rules_accept("User", data) and not scim2_accepts("User", data)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.emails(), st.text(alphabet="ab.-_+@x1Z", max_size=12), _strings))
def test_an_email_the_rules_accept_is_one_pydantic_accepts(value):
    from pydantic import TypeAdapter
    from pydantic.networks import EmailStr

    if _email(value):
        TypeAdapter(EmailStr).validate_python(value)


def test_a_valid_payload_is_checked_without_importing_scim2_models():
    code = ("import sys, json; from workbench.connectors.scim.payload import prepare_resource; "
            f"out = prepare_resource('User', json.loads({json.dumps(json.dumps(KIM))}), {CREATE!r}); "
            "print(json.dumps(['scim2_models' in sys.modules, out['schemas']]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [False, [USER]]


PROJECT = """
[integration]
name = "p"

[connections.scim]
connector = "scim"
serviceUrl = "http://127.0.0.1:9/scim2"

[datamappers.toUser]
input = "record"
output = "scim.User"

[datamappers.toUser.fields]
userName = "${input.email}"

[entrypoints.main]
kind = "automation"

[[entrypoints.main.steps]]
call = "scim.getUser"
args = { id = "1" }
result = "found"

[[entrypoints.main.steps]]
call = "scim.createUser"
args = { payload = PAYLOAD }
"""


def test_a_payload_known_only_at_run_time_is_not_mistaken_for_the_same_literal(tmp_path):
    from workbench.project import ProjectStore
    from workbench.project.diagnostics import check

    said = {}
    for name, payload in (("stand-in", '"${toUser(found)}"'), ("literal", "{}"),
                          ("email", '{ userName = "a", emails = [{ value = "${found.userName}" }] }')):
        (tmp_path / name).mkdir()
        (tmp_path / name / "workbench.toml").write_text(PROJECT.replace("PAYLOAD", payload))
        said[name] = [(d.code, d.key) for d in check(ProjectStore.open(tmp_path / name), env={}) if d.severity == "error"]
    assert said == {"stand-in": [], "literal": [("missing-key", "entrypoints.main.steps[1].args.payload.userName")],
                    "email": []}
