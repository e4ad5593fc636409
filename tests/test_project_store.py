"""Loading and editing project files: round trips, hand edits, atomic writes, malformed TOML."""

from __future__ import annotations

import os
import stat

import pytest
import tomllib

from tests.helpers import GOLDEN, SAMPLES, copy_sample, make_project
from workbench.project import EditError, ProjectFileError, ProjectStore, StepAddress
from workbench.project.model import CallStep, ForeachStep, IfStep, LogStep, ReturnStep, walk_steps


@pytest.fixture
def hand(tmp_path):
    return make_project(tmp_path / "hand", (GOLDEN / "handwritten.toml").read_text())


def read(project, name="workbench.toml"):
    return (project / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("golden", ["handwritten.toml", "../../projects/scim-provisioning/workbench.toml"])
def test_load_then_save_without_edits_is_byte_identical(tmp_path, golden):
    original = (GOLDEN / golden).read_bytes()
    project = make_project(tmp_path / "p", original.decode())
    store = ProjectStore.open(project)
    store.project_file.doc()  # force the tomlkit document
    store.project_file.save(mode=None)
    assert (project / "workbench.toml").read_bytes() == original
    # The tomlkit dump itself is identical, not just skipped.
    import tomlkit

    assert tomlkit.dumps(store.project_file.doc()).encode() == original


def test_models_from_the_handwritten_file(hand):
    store = ProjectStore.open(hand)
    assert store.load_diagnostics == []
    p = store.project
    assert p.integration.name == "hand-edited"
    assert p.configurables["retries"].default == 3 and not p.configurables["retries"].required
    assert p.configurables["apiSecret"].secret and p.configurables["apiSecret"].required
    assert p.connections["scimClient"].fields["auth"] == {"type": "bearer", "token": "${config.apiSecret}"}
    steps = p.entrypoints["sync"].steps
    assert [type(s) for s in steps] == [CallStep, IfStep, ReturnStep]
    assert isinstance(steps[1].then[0], LogStep) and steps[1].else_[0].level == "warning"
    assert [path for path, _ in walk_steps(steps)] == ["0", "1", "1.then.0", "1.else.0", "2"]


def test_sample_project_is_the_reference_scenario():
    store = ProjectStore.open(SAMPLES / "scim-provisioning")
    p = store.project
    assert store.load_diagnostics == []
    assert set(p.configurables) == {"scimServiceUrl", "scimTokenUrl", "scimClientId", "scimClientSecret", "newUserName"}
    assert p.configurables["scimClientSecret"].secret
    assert p.configurables["newUserName"].default
    auth = p.connections["scimClient"].fields["auth"]
    assert auth["type"] == "oauth2-client-credentials" and auth["clientSecret"] == "${config.scimClientSecret}"
    step = p.entrypoints["provisionUser"].steps[0]
    assert step.call == "scimClient.createUser" and step.result == "createdUser"
    assert step.args["payload"]["userName"] == "${config.newUserName}"
    assert p.entrypoints["provisionUser"].onError


def test_every_edit_keeps_hand_written_comments(hand):
    store = ProjectStore.open(hand)
    comments = [line.strip() for line in read(hand).splitlines() if "#" in line]
    store.add_configurable("scimToken", "string", secret=True, description="a token")
    store.add_connection("web", "http", {"baseUrl": "http://127.0.0.1:9"})
    store.update_connection("web", "http", {"baseUrl": "http://127.0.0.1:10", "timeout": 5})
    store.rename("connections", "web", "webApi")
    store.add_entrypoint("nightly", schedule="0 2 * * *")
    store.update_entrypoint("nightly", schedule="0 3 * * *")
    store.add_step("sync", {"log": "hello"}, at="1")
    store.add_step("sync", {"log": "inner"}, at="2.then.0")
    store.move_step("sync", "1", -1)
    store.update_step("sync", "0", {"log": "hello again", "level": "debug"})
    store.remove_step("sync", "0")
    store.rename("configurables", "scimServiceUrl", "baseUrl")
    store.remove("entrypoints", "nightly")
    store.remove("configurables", "scimToken")
    text = read(hand)
    for comment in comments:
        assert comment.split("#", 1)[1] in text, comment
    assert 'name    = "hand-edited"' in text  # untouched formatting stays
    data = tomllib.loads(text)
    assert store.project_file.data == data  # entries re-read after each edit match a full parse
    assert data["connections"]["webApi"] == {"connector": "http", "baseUrl": "http://127.0.0.1:10", "timeout": 5}
    assert data["connections"]["scimClient"]["serviceUrl"] == "${config.baseUrl}"  # rename rewrote the reference
    assert "nightly" not in data["entrypoints"]
    steps = data["entrypoints"]["sync"]["steps"]
    assert [next(iter(s)) for s in steps] == ["call", "if", "return"]
    assert steps[1]["then"][0] == {"log": "inner"}
    assert ProjectStore.open(hand).load_diagnostics == []


def test_step_edits_insert_move_and_delete(hand):
    store = ProjectStore.open(hand)
    assert store.add_step("sync", {"set": "count", "value": 1}, at="0") == "0"
    assert store.add_step("sync", {"log": "end"}) == "4"
    assert store.move_step("sync", StepAddress.parse("4"), -1) == "3"
    steps = store.project.entrypoints["sync"].steps
    assert [s.kind for s in steps] == ["set", "call", "if", "log", "return"]
    with pytest.raises(EditError, match="top"):
        store.move_step("sync", "0", -1)
    store.remove_step("sync", "3")
    assert [s.kind for s in store.project.entrypoints["sync"].steps] == ["set", "call", "if", "return"]
    store.add_step("sync", {"log": "handled"}, at="onError.0")
    assert store.project.entrypoints["sync"].onError[0].log == "handled"


def test_added_steps_with_nested_payload_round_trip(tmp_path):
    project = make_project(tmp_path / "p", '[integration]\nname = "p"\n')
    store = ProjectStore.open(project)
    store.add_entrypoint("provision")
    payload = {"userName": "kim", "name": {"givenName": "Kim", "familyName": "Jensen"},
               "emails": [{"value": "kim@example.com", "primary": True}]}
    store.add_step("provision", {"call": "scimClient.createUser", "args": {"payload": payload}, "result": "created"})
    store.add_step("provision", {"foreach": "${rows}", "as": "row", "concurrency": 4,
                                 "steps": [{"log": "${row.name}"}]})
    data = tomllib.loads(read(project))
    step = data["entrypoints"]["provision"]["steps"][0]
    assert step["args"]["payload"] == payload and step["result"] == "created"
    assert isinstance(store.project.entrypoints["provision"].steps[1], ForeachStep)
    assert store.project.entrypoints["provision"].steps[1].steps[0].log == "${row.name}"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.add_connection("scimClient", "scim", {}), "already exists"),
        (lambda s: s.add_configurable("9bad", "string"), "not a valid name"),
        (lambda s: s.add_configurable("n", "int", default="x"), "expected an int"),
        (lambda s: s.remove("connections", "nope"), "unknown connection 'nope'"),
        (lambda s: s.add_step("sync", {"level": "info"}), "needs one of the keys"),
        (lambda s: s.add_step("sync", {"level": "info", "log": "x"}), "must be the first key"),
        (lambda s: s.remove_step("sync", "9"), "no step at 9"),
        (lambda s: s.move_step("sync", "bogus", 1), "bad step address"),
        (lambda s: s.set_value("retries", "many", from_text=True), "expected an int"),
        (lambda s: s.set_value("nope", "1"), "unknown configurable"),
    ],
)
def test_bad_edits_are_refused_and_nothing_is_written(hand, edit, message):
    before = read(hand)
    store = ProjectStore.open(hand)
    with pytest.raises(EditError, match=message):
        edit(store)
    assert read(hand) == before
    assert not (hand / "Config.toml").exists()


def test_malformed_toml_gives_line_and_column_and_is_never_overwritten(tmp_path):
    bad = '[integration]\nname = "x"\n\n[connections.a]\nconnector = "scim\n'
    project = make_project(tmp_path / "p", bad)
    store = ProjectStore.open(project)
    [diag] = store.load_diagnostics
    assert diag.code == "toml-syntax" and diag.line == 5
    assert store.project_file.error.line == 5 and store.project_file.error.col
    assert str(store.project_file.error).startswith(f"{project / 'workbench.toml'}:5:")
    with pytest.raises(EditError, match=r"workbench.toml:5:\d+"):
        store.add_configurable("x")
    assert read(project) == bad


def test_malformed_config_toml_is_never_overwritten(tmp_path):
    project = make_project(tmp_path / "p", (GOLDEN / "handwritten.toml").read_text(), config="retries = = 3\n")
    store = ProjectStore.open(project)
    assert store.config_file.error.line == 1
    with pytest.raises(EditError, match="Config.toml:1:"):
        store.set_value("retries", 4)
    assert read(project, "Config.toml") == "retries = = 3\n"


def test_schema_errors_are_located_and_do_not_hide_the_rest(tmp_path):
    text = (GOLDEN / "handwritten.toml").read_text().replace('level = "warning"', 'level = "loud"')
    project = make_project(tmp_path / "p", text)
    store = ProjectStore.open(project)
    [diag] = store.load_diagnostics
    assert diag.code == "type-mismatch"
    assert diag.key == "entrypoints.sync.steps[1].else[0].level"
    assert diag.line == text.splitlines().index('  level = "loud"') + 1
    assert "scimClient" in store.project.connections  # the valid parts still load


def test_writes_are_atomic_and_keep_the_mode(hand, monkeypatch):
    os.chmod(hand / "workbench.toml", 0o640)
    store = ProjectStore.open(hand)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ProjectFileError, match="workbench.toml: cannot write \\(disk full\\)"):
        store.add_configurable("x")
    monkeypatch.undo()
    assert read(hand) == (GOLDEN / "handwritten.toml").read_text()
    assert [p.name for p in hand.iterdir() if p.name.endswith(".tmp")] == []
    store = ProjectStore.open(hand)
    store.add_configurable("x")
    assert stat.S_IMODE((hand / "workbench.toml").stat().st_mode) == 0o640


def test_external_edits_are_detected(hand):
    store = ProjectStore.open(hand)
    assert not store.changed_on_disk()
    (hand / "Config.toml").write_text('retries = 5\n')
    assert store.changed_on_disk()
    store.reload()
    assert not store.changed_on_disk()
    assert store.resolve_config().values["retries"].value == 5


def test_open_without_a_project_is_a_clear_error(tmp_path):
    with pytest.raises(ProjectFileError, match="no workbench.toml"):
        ProjectStore.open(tmp_path)


def test_copy_sample_is_loadable(tmp_path):
    store = ProjectStore.open(copy_sample("scim-provisioning", tmp_path))
    assert store.name == "scim-provisioning"


def test_a_touched_but_unchanged_file_is_not_a_change(hand):
    store = ProjectStore.open(hand)
    old = (hand / "workbench.toml").stat().st_mtime_ns - 10_000_000_000
    os.utime(hand / "workbench.toml", ns=(old, old))
    store.reload()
    assert not store.changed_on_disk()
    os.utime(hand / "workbench.toml")  # touched: a new stamp, same text
    assert not store.changed_on_disk()
    text = read(hand).replace("hand-edited", "hand-edit3d")  # same size
    (hand / "workbench.toml").write_text(text)
    assert store.changed_on_disk()


def test_an_entry_point_saved_with_its_own_values_keeps_their_formatting(tmp_path):
    """The service form saves every field it shows; a field that holds its value already (an
    inline auth table) stays as written, not rewritten as a sub-table."""
    root = copy_sample("hr-webhook", tmp_path)
    before = (root / "workbench.toml").read_text()
    assert 'auth = { type = "bearer", token = "${config.hookToken}" }' in before
    store = ProjectStore.open(root)
    entry = store.project_file.data["entrypoints"]["newHire"]
    store.update_entrypoint("newHire", method=entry["method"], path=entry["path"], auth=dict(entry["auth"]),
                            description=entry["description"])
    assert (root / "workbench.toml").read_text() == before
    store.update_entrypoint("newHire", auth={"type": "bearer", "token": "${config.other}"})
    after = (root / "workbench.toml").read_text()
    assert 'auth = { type = "bearer", token = "${config.other}" }' in after  # changed in place
    assert tomllib.loads(after)["entrypoints"]["newHire"]["auth"]["token"] == "${config.other}"


def test_a_change_deep_in_a_payload_rewrites_that_key_only(tmp_path):
    """A step form saves the whole step: a changed givenName must not rewrite the payload's other
    inline tables and arrays (emails became an array of tables, and moved)."""
    import copy
    import difflib

    root = copy_sample("scim-provisioning", tmp_path)
    before = (root / "workbench.toml").read_text()
    store = ProjectStore.open(root)
    step = copy.deepcopy(store.project_file.data["entrypoints"]["provisionUser"]["steps"][0])
    step["args"]["payload"]["name"]["givenName"] = "Kimberly"
    store.update_step("provisionUser", "0", step)
    after = (root / "workbench.toml").read_text()
    changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert changed == ['- name = { givenName = "Kim", familyName = "Jensen" }',
                       '+ name = { givenName = "Kimberly", familyName = "Jensen" }']
    assert tomllib.loads(after)["entrypoints"]["provisionUser"]["steps"][0] == step
