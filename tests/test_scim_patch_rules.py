"""The plain PATCH rules (patch_rules.py) against scim2-models: the rules accept operations only
when scim2-models' PatchOp does in a PATCH request, and then give the body it dumps, byte for
byte; they accept the common operations on their own (no scim2-models import), and anything else
is left to scim2-models, whose errors name the operation as before."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from workbench.connectors.base import ValidationFailed
from workbench.connectors.scim import payload as scim_payload
from workbench.connectors.scim.patch_rules import plain_operations
from workbench.connectors.scim.schema_data import RULES

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # as the client sends a body


def scim2_dump(kind: str, ops: list) -> list | None:
    """What scim2-models' PatchOp dumps of the operations in a PATCH request; None when it refuses them."""
    kind_ = scim_payload._models(scim_payload._kind(kind))
    ctx = scim_payload._ctx("RESOURCE_PATCH_REQUEST")
    try:
        patch = kind_.patch_model.model_validate({"schemas": [PATCH_OP], "Operations": ops}, scim_ctx=ctx)
    except ValidationError:
        return None
    return patch.model_dump(scim_ctx=ctx)["Operations"]


def assert_agrees(kind: str, ops: list) -> bool:
    """The rules accept only what scim2-models accepts, with the same dump. True when they accept."""
    plain = plain_operations(kind, ops)
    if plain is None:
        return False
    dumped = scim2_dump(kind, ops)
    assert dumped is not None, f"the rules accept what scim2-models refuses: {ops}"
    assert _JSON(plain) == _JSON(dumped), (plain, dumped)
    return True


# Operations the rules accept on their own, with the body they give.
VALID = [
    ("User", [{"op": "replace", "path": "active", "value": False}], None),
    ("User", [{"op": "Replace", "path": "ACTIVE", "value": True}],
     [{"op": "replace", "path": "ACTIVE", "value": True}]),
    ("User", [{"value": "Kim", "path": "name.givenName", "op": "REPLACE"}],
     [{"op": "replace", "path": "name.givenName", "value": "Kim"}]),
    ("User", [{"op": "replace", "path": "name", "value": {"givenName": "Kim", "FAMILYNAME": None}}], None),
    ("User", [{"op": "add", "path": "emails", "value": [{"value": "kim@example.com", "type": "work",
                                                          "primary": True}]}], None),
    ("User", [{"op": "replace", "path": "emails", "value": []}], None),
    ("User", [{"op": "replace", "path": "emails.value", "value": "kim@example.com"}], None),
    ("User", [{"op": "remove", "path": "title"}, {"op": "remove", "path": "name.middleName", "value": None}],
     [{"op": "remove", "path": "title"}, {"op": "remove", "path": "name.middleName"}]),
    ("User", [{"op": "replace", "path": "title", "value": None}], None),
    ("User", [{"op": "replace", "path": "userName", "value": ""}], None),
    ("User", [{"op": "replace", "path": "password", "value": "s3cret"}], None),
    ("User", [{"op": "replace", "value": {"displayName": "Kim", "active": True, "name": {"givenName": "K"}}}], None),
    ("User", [{"op": "add", "path": None, "value": {}}], [{"op": "add", "value": {}}]),
    ("User", [{"op": "replace", "path": f"{ENTERPRISE}:department", "value": "R&D"}], None),
    ("User", [{"op": "replace", "path": f"{ENTERPRISE.lower()}:manager.value", "value": "m1"}], None),
    ("User", [{"op": "replace", "path": f"{USER}:name.familyName", "value": "Jensen"}], None),
    ("User", [{"op": "replace", "path": ENTERPRISE, "value": {"department": "R&D", "costCenter": None}}], None),
    ("User", [{"op": "remove", "path": ENTERPRISE}], None),
    ("User", [{"op": "replace", "value": {ENTERPRISE: {"department": "x"}, "title": "t"}}], None),
    ("User", [{"op": "replace", "value": {ENTERPRISE: None}}], None),
    ("Group", [{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2", "display": "Kim"}]}], None),
    ("Group", [{"op": "replace", "path": "displayName", "value": "Ops"}, {"op": "remove", "path": "members"}], None),
    ("Group", [{"op": "replace", "value": {"displayName": "Ops", "externalId": "G1"}}], None),
]

# Valid operations the rules leave to scim2-models (a filter, another type, an odd spelling).
LEFT_TO_SCIM2 = [
    ("User", [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "kim@example.com"}]),
    ("Group", [{"op": "remove", "path": 'members[value eq "u1"]'}]),
    ("User", [{"op": "replace", "path": "active", "value": "yes"}]),  # PatchOp does not check the value's type
    ("User", [{"op": "replace", "path": "title", "value": 1.5}]),
    ("User", [{"op": "add", "path": "emails", "value": {"value": "kim@example.com"}}]),
    ("User", [{"op": "add", "path": "emails", "value": [{"value": "not an address"}]}]),
    ("User", [{"op": "add", "path": "emails", "value": [{"value": "a@x.io", "primary": True},
                                                         {"value": "b@x.io", "primary": True}]}]),
    ("User", [{"op": "replace", "value": {"name.givenName": "Kim"}}]),
    ("User", [{"op": "replace", "path": "profileUrl", "value": "https://example.com/kim"}]),
    ("User", [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "m1"}}]),
    ("User", [{"op": "replace", "path": "schemas", "value": [USER]}]),
    ("User", [{"op": "replace", "path": " title", "value": "x"}]),
    ("User", [{"op": "replace", "path": "", "value": {"title": "x"}}]),
    ("User", [{"op": "replace", "path": USER, "value": {"title": "x"}}]),
    ("Group", [{"op": "remove", "path": "members.$ref"}]),
    ("User", [{"op": "remove", "path": "display_name"}]),
    ("User", [{"OP": "replace", "Path": "title", "VALUE": "x"}]),
    ("User", [{"op": "add", "path": "userName", "value": []}]),
    ("User", [{"op": "replace", "value": {"meta": {"created": "2024-01-01T00:00:00Z"}}}]),
    ("User", [{"op": "replace", "path": "title", "value": "x"}, {"op": "replace", "path": "title", "value": 2}]),
]

# Invalid operations, with the loc and the message the error gives (the operation's index first).
INVALID = [
    ("User", [{"op": "frob", "path": "title", "value": "x"}], (0, "op"), "'frob' is not a PATCH operation"),
    ("User", [{"path": "title", "value": "x"}], (0, "op"), "Field required"),
    ("User", [{"op": "replace", "path": "title", "value": "x", "extra": 1}], (0, "extra"), "Extra inputs"),
    ("User", [{"op": "replace", "path": "title"}], (0,), "value is required for replace operations"),
    ("User", [{"op": "add", "path": "title", "value": None}], (0,), "value is required for add operations"),
    ("User", [{"op": "remove"}], (0,), "Remove operation requires a path"),
    ("User", [{"op": "remove", "path": "title", "value": "x"}], (), "a remove operation carries no value"),
    ("User", [{"op": "remove", "path": "userName"}], (), "required attribute cannot be removed"),
    ("User", [{"op": "replace", "path": "USERNAME", "value": None}], (), "required attribute cannot be unassigned"),
    ("User", [{"op": "replace", "value": {"userName": None}}], (), "required attribute cannot be unassigned"),
    ("User", [{"op": "replace", "path": "id", "value": "x"}], (), "'id' is read-only"),
    ("User", [{"op": "replace", "path": "meta.created", "value": "x"}], (), "'meta.created' is read-only"),
    ("User", [{"op": "replace", "path": f"{ENTERPRISE}:manager.displayName", "value": "x"}], (), "is read-only"),
    ("User", [{"op": "replace", "path": "noSuchAttr", "value": "x"}], (), "'noSuchAttr' is not an attribute"),
    ("User", [{"op": "replace", "path": "name.nickName", "value": "x"}], (), "is not an attribute"),
    ("User", [{"op": "add", "path": "members", "value": [{"value": "1"}]}], (), "'members' is not an attribute"),
    ("User", [{"op": "replace", "path": "name", "value": {"givenName": "x", "bogus": 1}}], (),
     "'name.bogus' is not declared"),
    ("User", [{"op": "replace", "value": {"title": "x", "nic\u212aName": "k"}}], (), "is not declared"),  # Kelvin
    ("User", [{"op": "replace", "path": "nic\u212aName", "value": "k"}], (0, "path"), "is not an attribute name"),
    ("User", [{"op": "remove", "path": "title.x"}], (), "'title.x' is not an attribute"),
    ("User", [{"op": "replace", "path": "emails.bogus", "value": "x"}], (), "is not an attribute"),
    ("User", [{"op": "replace", "path": f"{USER}x:title", "value": "x"}], (), "is not an attribute"),
    ("User", [{"op": "replace", "path": f"{ENTERPRISE}:title", "value": "x"}], (), "is not an attribute"),
    ("User", [{"op": "replace", "value": "x"}], (), "must be an object"),
    ("User", [{"op": "replace", "path": ENTERPRISE, "value": None}], (), "must be an object"),
    ("User", [{"op": "replace", "path": "name.givenName.x", "value": "x"}], (0, "path"), "invalid syntax"),
    ("User", [{"op": "remove", "path": "title"}, {"op": "remove", "path": "userName"}], (), "cannot be removed"),
    ("User", [{"op": "remove", "path": "title"}, "remove"], (1,), "Input should be a valid dictionary"),
    ("Group", [{"op": "remove", "path": "displayName"}], (), "required attribute cannot be removed"),
    ("Group", [{"op": "replace", "path": "userName", "value": "x"}], (), "'userName' is not an attribute"),
]


@pytest.mark.parametrize("kind,ops,body", VALID)
def test_the_rules_accept_common_operations_with_the_body_scim2_models_dumps(kind, ops, body):
    assert assert_agrees(kind, ops)
    assert scim_payload.patch_errors(kind, ops) == []
    sent = scim_payload.prepare_patch(kind, ops)
    assert sent["schemas"] == [PATCH_OP]
    assert _JSON(sent["Operations"]) == _JSON(scim2_dump(kind, ops))
    if body is not None:
        assert sent["Operations"] == body
    else:  # the operations as written, op lowercased
        assert sent["Operations"] == [{k: (v.lower() if k == "op" else v) for k, v in op.items()} for op in ops]


@pytest.mark.parametrize("kind,ops", LEFT_TO_SCIM2)
def test_the_rules_leave_unusual_operations_to_scim2_models(kind, ops):
    assert plain_operations(kind, ops) is None
    dumped = scim2_dump(kind, ops)
    assert dumped is not None
    assert scim_payload.patch_errors(kind, ops) == []
    assert _JSON(scim_payload.prepare_patch(kind, ops)["Operations"]) == _JSON(dumped)


@pytest.mark.parametrize("kind,ops,loc,message", INVALID)
def test_invalid_operations_are_refused_by_scim2_models_naming_the_operation(kind, ops, loc, message):
    assert plain_operations(kind, ops) is None
    assert scim2_dump(kind, ops) is None
    errors = scim_payload.patch_errors(kind, ops)
    assert errors and errors[0]["loc"] == loc and message in errors[0]["msg"], errors
    with pytest.raises(ValidationFailed, match=f"invalid {kind} PATCH operations"):
        scim_payload.prepare_patch(kind, ops)


def test_an_operation_on_a_vendor_extension_is_kept_and_the_others_still_checked():
    vendor = {"op": "Replace", "path": "urn:example:ext:1.0:User:badge", "value": 7}
    assert scim_payload.prepare_patch("User", [vendor, {"op": "Remove", "path": "title"}])["Operations"] == [
        vendor, {"op": "remove", "path": "title"}]
    errors = scim_payload.patch_errors("User", [vendor, {"op": "frob", "path": "title"}])
    assert [e["loc"] for e in errors] == [(1, "op")]
    assert scim_payload.prepare_patch("User", [vendor])["Operations"] == [vendor]


def test_the_keys_of_the_objects_in_an_object_are_names_of_the_path_grammar():
    from workbench.connectors.scim.patch_rules import _names

    assert _names("User", {"title": "x", "name": {"givenName": "x"}, ENTERPRISE.lower(): {"manager": {"value": "x"}}})
    # scim2-models reads these keys as paths: a key Python's lower() folds to a name is not one.
    assert not _names("User", {"nic\u212aName": "x"})
    assert not _names("User", {"name": {"given\u212a": "x"}})
    assert not _names("User", {ENTERPRISE: {"manager": {"value ": "x"}}})
    assert _names("User", {"emails": [{"valu\u212ae": "x"}]})  # not in a list: scim2-models does not read those


def test_no_operations_are_left_to_scim2_models():
    assert plain_operations("User", []) is None and scim2_dump("User", []) is None


def _sample(rule: tuple) -> object:
    """A value of the attribute's plain type."""
    _, kind, multi, sub, _ = rule
    one = {"string": "x", "boolean": True, "email": "kim@example.com"}.get(kind)
    if kind == "complex":
        attrs = RULES["models"][sub]["attributes"]
        one = {rule_[0]: _sample(rule_) for rule_ in attrs.values() if rule_[1] in ("string", "boolean", "email")}
    return [one] if multi else one


def _paths(kind: str) -> list[tuple[str, tuple]]:
    """Every attribute and sub-attribute path of the resource and its extensions, with its rule."""
    out = []
    for urn, model in RULES["path_schemas"][kind].items():
        prefixes = ["", f"{urn}:"] if model == kind else [f"{urn}:"]
        if model != kind:
            out.append((urn, ("", "complex", False, model, False)))
        for rule in RULES["models"][model]["attributes"].values():
            for prefix in prefixes:
                out.append((prefix + rule[0], rule))
                if rule[1] == "complex":
                    subs = RULES["models"][rule[3]]["attributes"].values()
                    out += [(f"{prefix}{rule[0]}.{sub[0]}", sub) for sub in subs]
    return out


@pytest.mark.parametrize("kind", ["User", "Group"])
def test_the_rules_agree_on_every_attribute_path(kind):
    accepted = 0
    for path, rule in _paths(kind):
        for spelled in {path, path.lower(), path.upper()}:
            for ops in ([{"op": "remove", "path": spelled}], [{"op": "replace", "path": spelled, "value": None}],
                        [{"op": "Add", "path": spelled, "value": _sample(rule)}],
                        [{"op": "replace", "path": spelled, "value": _sample(rule)}]):
                accepted += assert_agrees(kind, ops)
        if rule[0] and "." not in path and ":" not in path:
            accepted += assert_agrees(kind, [{"op": "replace", "value": {path: _sample(rule)}}])
            accepted += assert_agrees(kind, [{"op": "replace", "value": {path.upper(): None}}])
    assert accepted > {"User": 400, "Group": 40}[kind]


_NAMES = ["userName", "USERNAME", "displayName", "title", "active", "name", "emails", "members", "id", "meta",
          "groups", "schemas", "password", "profileUrl", "externalId", "bogus", "user_name", ENTERPRISE,
          ENTERPRISE.lower(), "phoneNumbers", "x509Certificates"]
_PATHS = _NAMES + [
    "", " title", "name.givenName", "NAME.familyname", "name.bogus", "name.givenName.x", "title.x", "emails.value",
    "emails.primary", "emails.display", "members.value", "members.$ref", "meta.created", "groups.value",
    'emails[type eq "work"].value', 'members[value eq "1"]', 'emails.type eq "work"', f"{ENTERPRISE}:department",
    f"{ENTERPRISE.lower()}:manager.value", f"{ENTERPRISE}:manager.displayName", f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:schemas", f"{USER}:title", f"{USER.upper()}:name.givenName", USER, f"{GROUP}:displayName", GROUP,
    "urn:example:ext:1.0:User:badge", "urn:ietf:params:scim:schemas:core:2.0:Userx:title", "emails.valu\u212ae",
    "title.x", "active.value", "emails.bogus", "name.x", "members.value.x", "displayName.value", "nic\u212aName"]
_strings = st.one_of(st.sampled_from(["", "x", "kim@example.com", "not an address", "a@b.test"]), st.text(max_size=4))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1, 1), _strings)
_keys = st.sampled_from([*_NAMES, "value", "type", "primary", "display", "givenName", "department", "manager",
                         "name.givenName", "nic\u212aName", "costCenter"])
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)), max_leaves=8)
_ops = st.sampled_from(["add", "replace", "remove", "Add", "REPLACE", "Remove", "frob", "", "addd"])
_operation = st.one_of(
    st.fixed_dictionaries({"op": _ops}, optional={"path": st.one_of(st.none(), st.sampled_from(_PATHS)),
                                                  "value": _values}),
    st.fixed_dictionaries({"op": st.one_of(_ops, _scalars)}, optional={
        "path": st.one_of(_scalars, st.sampled_from(_PATHS)), "value": _values, "Value": _scalars, "extra": _scalars}),
    _scalars,
)


def _mostly(usual: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """`usual` 5 times out of 6 (one_of would draw each as often)."""
    return st.integers(0, 5).flatmap(lambda n: usual if n else other)


def _spelled(name: str) -> st.SearchStrategy[str]:
    """The name in another case, or with a Kelvin sign for its k (Python's lower() reads it as k)."""
    return st.sampled_from([name, name.lower(), name.upper(), name.replace("k", "\u212a")])


@st.composite
def _object_of(draw: st.DrawFn, model: str) -> dict:
    """An object of a few of the model's attributes, their names in any case."""
    rules = draw(st.lists(st.sampled_from(list(RULES["models"][model]["attributes"].values())), max_size=3))
    return {draw(_spelled(rule[0])): draw(_value_for(rule)) for rule in rules}


def _value_for(rule: tuple) -> st.SearchStrategy:
    """Mostly a value of the attribute's type, sometimes one of another."""
    _, kind, multi, sub, _ = rule
    if kind == "complex":
        one = _object_of(sub)
    else:
        one = {"string": _strings, "boolean": st.booleans(), "email": st.sampled_from(
            ["kim@example.com", "a.b+c@x-y.example.org", "not an address", "a@b.test"])}.get(kind, _strings)
    typed = st.lists(one, max_size=2) if multi else one
    return _mostly(typed, st.one_of(st.none(), _scalars, st.just([])))


_ROOTS = {kind: ("", "complex", False, kind, False) for kind in ("User", "Group")}
_PATHS_OF = {kind: _paths(kind) for kind in ("User", "Group")}


@st.composite
def _plausible(draw: st.DrawFn, kind: str) -> dict:
    """An operation of a valid op, mostly on a known path with a value of its type."""
    where = draw(st.integers(0, 6))
    if where == 0:
        path, rule = None, _ROOTS[kind]
    elif where < 5:
        path, rule = draw(st.sampled_from(_PATHS_OF[kind]))
        path = draw(_spelled(path))
    else:
        path, rule = draw(st.sampled_from(_PATHS)), None
    value = draw(_value_for(rule) if rule is not None else _values)
    ops = ["add", "replace", "Add", "REPLACE"] if path is None else ["add", "replace", "remove", "Add", "Remove"]
    operation = {"op": draw(st.sampled_from(ops) if draw(st.integers(0, 5)) else _ops)}
    if path is not None or draw(st.booleans()):
        operation["path"] = path
    if operation["op"].lower() != "remove" or draw(st.integers(0, 5)) == 0:
        operation["value"] = value
    return operation


_operations = st.sampled_from(["User", "Group"]).flatmap(lambda kind: st.tuples(st.just(kind), st.lists(
    _mostly(_plausible(kind), _operation), min_size=1, max_size=3)))


@settings(max_examples=1500, deadline=None)
@given(_operations)
def test_the_rules_never_accept_what_scim2_models_refuses_and_dump_the_same(case):
    assert_agrees(*case)


def reference_patch(kind: str, ops: list) -> tuple[list | None, list]:
    """(the Operations sent, the errors): scim2-models validates every operation not under a
    vendor extension, as payload.py did before the plain rules."""
    kind_ = scim_payload._models(scim_payload._kind(kind))
    checked = [i for i, op in enumerate(ops) if not (
        isinstance(op, dict) and isinstance(op.get("path"), str) and op["path"].lower().startswith("urn:")
        and not any(op["path"].lower().startswith(s) for s in kind_.known_schemas))]
    out = list(ops)
    if checked:
        ctx = scim_payload._ctx("RESOURCE_PATCH_REQUEST")
        try:
            patch = kind_.patch_model.model_validate(
                {"schemas": [PATCH_OP], "Operations": [ops[i] for i in checked]}, scim_ctx=ctx)
        except ValidationError as exc:
            errors = []
            for err in exc.errors(include_url=False):
                loc = tuple(err["loc"])
                if len(loc) >= 2 and loc[0] == "Operations" and isinstance(loc[1], int):
                    loc = (checked[loc[1]], *loc[2:])
                elif loc[:1] == ("Operations",):
                    loc = loc[1:]
                errors.append({**err, "loc": loc})
            return None, errors
        for i, op in zip(checked, patch.model_dump(scim_ctx=ctx)["Operations"], strict=True):
            out[i] = op
    return out, []


_vendor = st.fixed_dictionaries({"op": _ops, "path": st.just("urn:example:ext:1.0:User:badge"), "value": _scalars})


@settings(max_examples=500, deadline=None)
@given(_operations, st.lists(_vendor, max_size=1), st.integers(0, 2))
def test_prepare_patch_sends_and_refuses_as_scim2_models_alone_did(case, vendor, at):
    kind, ops = case
    ops = [*ops[:at], *vendor, *ops[at:]]
    body, errors = reference_patch(kind, ops)
    said = scim_payload.patch_errors(kind, ops)
    assert [(e["loc"], e["type"], e["msg"], repr(e.get("ctx"))) for e in said] == [
        (e["loc"], e["type"], e["msg"], repr(e.get("ctx"))) for e in errors]  # a ctx's exception is not ==
    if body is not None:
        assert _JSON(scim_payload.prepare_patch(kind, ops)["Operations"]) == _JSON(body)


COMMON = [
    ("User", [{"op": "replace", "path": "active", "value": False}]),
    ("User", [{"op": "Replace", "path": "name.givenName", "value": "Kim"}, {"op": "remove", "path": "title"}]),
    ("User", [{"op": "add", "path": "emails", "value": [{"value": "kim@example.com", "type": "work"}]}]),
    ("User", [{"op": "replace", "path": f"{ENTERPRISE}:department", "value": "R&D"}]),
    ("User", [{"op": "replace", "value": {"displayName": "Kim", "active": True}}]),
    ("Group", [{"op": "add", "path": "members", "value": [{"value": "u1"}]}]),
]


def test_common_operations_are_checked_without_importing_scim2_models():
    code = ("import sys, json; from workbench.connectors.scim.payload import patch_errors, prepare_patch; "
            f"cases = json.loads({json.dumps(json.dumps(COMMON))}); "
            "out = [prepare_patch(kind, ops)['Operations'] for kind, ops in cases]; "
            "errors = [patch_errors(kind, ops) for kind, ops in cases]; "
            "print(json.dumps([[m in sys.modules for m in ('scim2_models', 'lark')], out, errors]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported, out, errors = json.loads(done.stdout)
    assert imported == [False, False]
    assert out == [scim2_dump(kind, ops) for kind, ops in COMMON]
    assert errors == [[]] * len(COMMON)
