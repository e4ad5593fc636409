"""The non-UI logic of the app: schema-driven fields, values from text, outline, diagnostics index;
and the start-up import budget."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from workbench.connectors.scim import SPEC
from workbench.project.diagnostic import Diagnostic
from workbench.tui.issues import Issues, locate
from workbench.project.address import StepAddress, split_key_path
from workbench.project.store import ProjectStore
from workbench.project.view import ProjectView
from workbench.tui.schema import (
    FieldSpec,
    bound_configurable,
    fields_of,
    flatten,
    parse_text,
    placeholder,
    to_text,
    toml_document,
    unflatten,
)
from workbench.tui.screens.step_form import suggest_result
from workbench.tui.widgets.connection_form import suggest_name



def test_connection_schema_becomes_fields():
    fields = {f.key: f for f in fields_of(SPEC.connection)}
    assert fields["serviceUrl"].kind == "text" and fields["serviceUrl"].required
    auth = fields["auth"]
    assert auth.kind == "union" and auth.discriminator == "type"
    labels = {v.tag: v.label for v in auth.variants}
    assert labels == {"oauth2-client-credentials": "OAuth2 client credentials", "bearer": "Bearer token",
                      "basic": "Basic (user name and password)", "none": "None"}
    oauth = next(v for v in auth.variants if v.tag == "oauth2-client-credentials")
    secret = next(f for f in oauth.fields if f.key == "clientSecret")
    assert secret.secret and secret.required and "type" not in [f.key for f in oauth.fields]
    assert fields["retry"].kind == "model" and [c.key for c in fields["retry"].children] == ["attempts", "backoff"]
    assert placeholder(fields["timeout"]) == "default: 30.0"


@pytest.mark.parametrize(("kind", "text", "value"), [
    ("text", "${config.url}", "${config.url}"),
    ("integer", "12", 12),
    ("number", "1.5", 1.5),
    ("boolean", "no", False),
    ("list", "a, b", ["a", "b"]),
    ("list", '["a", "b"]', ["a", "b"]),
    ("mapping", '{ X-Api = "v" }', {"X-Api": "v"}),
    ("any", "Kim", "Kim"),
    ("any", "true", True),
    ("any", '[{ value = "${config.mail}", primary = true }]', [{"value": "${config.mail}", "primary": True}]),
    ("integer", "${config.pageSize}", "${config.pageSize}"),
    ("text", "", None),
])
def test_text_to_value(kind, text, value):
    assert parse_text(FieldSpec("f", kind), text) == value


@pytest.mark.parametrize(("kind", "text"), [("integer", "ten"), ("boolean", "maybe"), ("mapping", "[1]")])
def test_bad_text_says_why(kind, text):
    with pytest.raises(ValueError, match="expected"):
        parse_text(FieldSpec("f", kind), text)


def test_values_round_trip_through_text():
    for kind, value in (("any", "12"), ("any", {"a": [1, "x"]}), ("list", ["a", "b"]), ("boolean", True)):
        spec = FieldSpec("f", kind)
        assert parse_text(spec, to_text(spec, value)) == value


def test_payload_rows_and_documents():
    payload = {"userName": "${config.newUserName}", "name": {"givenName": "Kim"}, "emails": [{"value": "x"}]}
    rows = flatten(payload)
    assert rows == [("userName", "${config.newUserName}"), ("name.givenName", "Kim"), ("emails", [{"value": "x"}])]
    assert unflatten(rows) == payload
    assert tomllib.loads(toml_document(payload)) == payload
    with pytest.raises(ValueError, match="twice"):
        unflatten([("a", 1), ("a", 2)])


def test_names_suggested():
    assert bound_configurable("${ config.scimClientSecret }") == "scimClientSecret"
    assert bound_configurable("https://${config.host}") is None
    assert suggest_name("scim", {"scimClient"}) == "scimClient2"
    assert suggest_result("createUser") == "createdUser"
    assert suggest_result("getUser") == "user"
    assert suggest_result("listUsers") == "users"


def test_project_view_reads_the_files_without_the_store(tmp_path):
    from tests.helpers import copy_sample

    sample = copy_sample("scim-provisioning", tmp_path)
    view = ProjectView.read(sample)
    assert view.name == "scim-provisioning"
    assert list(view.connections) == ["scimClient"] and list(view.entrypoints) == ["provisionUser"]
    rows = {r.name: r for r in view.config_rows()}
    assert rows["scimClientSecret"].secret and not rows["newUserName"].required
    assert rows["scimClientId"].is_set is None  # the values' status is the store's to say
    assert view.step_at("provisionUser", "1")["log"].startswith("Created user")
    assert view.step_at("provisionUser", "9") is None
    # Once loaded: the store's own data, and its precedence (WB_VAR_ > Config.toml > default).
    loaded = ProjectView.of(ProjectStore.open(sample), env={"WB_VAR_SCIMCLIENTID": "x"})
    assert loaded.data is not view.data and loaded.data == view.data
    rows = {r.name: r for r in loaded.config_rows()}
    assert rows["scimClientId"].is_set and not rows["scimServiceUrl"].is_set and rows["newUserName"].is_set


def test_diagnostics_are_indexed_by_item_and_step():
    diags = [
        Diagnostic("error", "unknown-variable", "x", key="entrypoints.a.steps[1].then[0].log"),
        Diagnostic("warning", "literal-secret", "y", key="connections.c.auth.clientSecret"),
        Diagnostic("error", "type-mismatch", "z", file="Config.toml", key="pageSize"),
        Diagnostic("error", "toml-syntax", "w"),
    ]
    issues = Issues.index(diags)
    assert [d.code for d in issues.for_step("a", "1.then.0")] == ["unknown-variable"]
    assert [d.code for d in issues.for_item("connections", "c")] == ["literal-secret"]
    assert [d.code for d in issues.for_item("configurables", "pageSize")] == ["type-mismatch"]
    assert issues.counts == (3, 1)
    assert locate(diags[3]) == (None, None)
    assert split_key_path('entrypoints."my entry".steps[2]') == ("entrypoints", "my entry", "steps", 2)
    assert StepAddress.from_key_path(["onError", 0, "level"]) == StepAddress.parse("onError.0")


def test_the_app_module_starts_light():
    """The first paint needs neither pydantic, the store, nor the connectors."""
    code = ("import sys, workbench.cli.app, workbench.tui.app; "
            "heavy = [m for m in ('pydantic', 'httpx', 'workbench.project.store', 'workbench.connectors') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cli_module_does_not_import_textual():
    code = "import sys, workbench.cli, workbench.cli.app; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


async def test_a_new_payload_offers_the_models_usual_fields():
    from textual.app import App

    from workbench.tui.schema import fields_of
    from workbench.tui.widgets.payload_editor import PayloadEditor, PayloadRow

    [payload] = fields_of(SPEC.operations["createUser"].params)
    assert payload.skeleton and "userName" in payload.skeleton

    class Host(App):
        def compose(self):
            yield PayloadEditor(payload, "payload")

    async with Host().run_test(size=(80, 30)) as pilot:
        editor = pilot.app.query_one(PayloadEditor)
        keys = [row.pair[0] for row in editor.query(PayloadRow)]
        assert keys[:4] == ["userName", "displayName", "name.givenName", "name.familyName"]
        assert editor.value() == {}  # fields left blank are not sent
        editor.query(PayloadRow).first().query_one(".payload-value").value = "kim"
        await pilot.pause()
        assert editor.value() == {"userName": "kim"}


def test_a_field_hint_redraws_only_when_what_it_says_changes(monkeypatch):
    """A form checks its fields on every key; an unchanged verdict must not lay it out again."""
    from rich.text import Text

    from workbench.tui.widgets.field_hint import FieldHint

    hint = FieldHint()
    updates: list = []
    monkeypatch.setattr(hint, "update", updates.append)
    for text in ("✗ bad", "✗ bad", "", "", "✓ ok", "✓ ok"):
        hint.show(Text(text, style="red") if text else Text())
    assert [t.plain for t in updates] == ["✗ bad", "", "✓ ok"]
    assert hint.display is True
