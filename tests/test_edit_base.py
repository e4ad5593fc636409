"""A stale save never goes unnoticed (project/edit_base.py): two sessions on one folder, as two
app processes (browser tabs) are. One opens a form (records the base), the other saves, then the
first saves: its changes merge field by field, or it is refused with nothing written; a step is
found where it is now, never written onto another step."""

from __future__ import annotations

import tomllib

import pytest

from workbench.project.edit_base import EditBase, EditConflict, merge3
from workbench.project.session import ProjectSession


def two(sample) -> tuple[ProjectSession, ProjectSession]:
    mine, other = ProjectSession(sample, env={}), ProjectSession(sample, env={})
    mine.load()
    other.load()
    return mine, other


def data(sample) -> dict:
    return tomllib.loads((sample / "workbench.toml").read_text())


def save_connection(session, base: EditBase, fields: dict) -> None:
    def change(store):
        item = base.rebase(store, {"connector": "scim", **fields})
        store.update_connection(base.name, item.pop("connector"), item)
    session.edit(change)


def save_step(session, base: EditBase, step: dict) -> str:
    def change(store):
        at, merged = base.rebase_step(store, step)
        store.update_step(base.name, at, merged)
        return str(at)
    return session.edit(change)


# -- items: merge where safe, refuse where not -------------------------------------------------------
def test_changes_to_other_fields_of_a_connection_merge(sample):
    mine, other = two(sample)
    opened = mine.view().connections["scimClient"]
    base = EditBase.item("connections", "scimClient", opened)
    form = {k: v for k, v in opened.items() if k != "connector"} | {"timeout": 12}
    other.edit(lambda store: store.update_connection(
        "scimClient", "scim", {**other.view().connections["scimClient"], "serviceUrl": "https://other/scim2"}))
    save_connection(mine, base, form)
    saved = data(sample)["connections"]["scimClient"]
    assert saved["timeout"] == 12 and saved["serviceUrl"] == "https://other/scim2"
    assert saved["auth"]["clientSecret"] == "${config.scimClientSecret}"


def test_nested_fields_merge_too(sample):
    mine, other = two(sample)
    opened = mine.view().connections["scimClient"]
    base = EditBase.item("connections", "scimClient", opened)
    form = {k: v for k, v in opened.items() if k != "connector"}
    form["auth"] = {**form["auth"], "clientId": "mine"}
    theirs = {k: v for k, v in opened.items() if k != "connector"}
    theirs["auth"] = {**theirs["auth"], "tokenUrl": "https://other/token"}
    other.edit(lambda store: store.update_connection("scimClient", "scim", theirs))
    save_connection(mine, base, form)
    auth = data(sample)["connections"]["scimClient"]["auth"]
    assert auth["clientId"] == "mine" and auth["tokenUrl"] == "https://other/token"


def test_the_same_field_changed_on_both_sides_is_a_conflict_and_nothing_is_written(sample):
    mine, other = two(sample)
    opened = mine.view().connections["scimClient"]
    base = EditBase.item("connections", "scimClient", opened)
    form = {k: v for k, v in opened.items() if k != "connector"}
    other.edit(lambda store: store.update_connection("scimClient", "scim", {**form, "serviceUrl": "https://other"}))
    before = (sample / "workbench.toml").read_bytes()
    with pytest.raises(EditConflict) as caught:
        save_connection(mine, base, {**form, "serviceUrl": "https://mine", "timeout": 5})
    message = str(caught.value)
    assert "connection scimClient changed in another window" in message and "serviceUrl" in message
    assert "kept in the form" in message
    assert (sample / "workbench.toml").read_bytes() == before


def test_the_same_change_on_both_sides_is_no_conflict(sample):
    mine, other = two(sample)
    opened = mine.view().connections["scimClient"]
    base = EditBase.item("connections", "scimClient", opened)
    form = {k: v for k, v in opened.items() if k != "connector"} | {"timeout": 7}
    other.edit(lambda store: store.update_connection("scimClient", "scim", form))
    save_connection(mine, base, form)
    assert data(sample)["connections"]["scimClient"]["timeout"] == 7


def test_a_deleted_item_is_a_conflict(sample):
    mine, other = two(sample)
    opened = mine.view().connections["scimClient"]
    base = EditBase.item("connections", "scimClient", opened)
    other.edit(lambda store: store.remove("connections", "scimClient"))
    with pytest.raises(EditConflict, match="connection scimClient was deleted or renamed"):
        save_connection(mine, base, {"serviceUrl": "https://mine"})
    assert "scimClient" not in data(sample).get("connections", {})


def test_an_entry_point_form_merges_with_a_step_edit_and_a_description_edit(sample):
    mine, other = two(sample)
    keys = ("schedule", "timezone", "description")
    base = EditBase.item("entrypoints", "provisionUser", mine.view().entrypoints["provisionUser"], keys)
    other.edit(lambda store: store.update_step("provisionUser", "1", {"log": "from the other window"}))
    other.edit(lambda store: store.update_entrypoint("provisionUser", description="theirs"))
    form = {"schedule": "0 7 * * *", "timezone": "UTC", "description": "Create the new user every weekday morning"}
    fields = mine.edit(lambda store: base.rebase(store, form))
    assert fields == {**form, "description": "theirs"}  # only what the form writes: the steps are not rewritten
    mine.edit(lambda store: store.update_entrypoint("provisionUser", **base.rebase(store, form)))
    entry = data(sample)["entrypoints"]["provisionUser"]
    assert entry["schedule"] == "0 7 * * *" and entry["description"] == "theirs"
    assert entry["steps"][1] == {"log": "from the other window"}


def test_a_value_changed_in_another_window_is_refused(sample):
    mine, other = two(sample)
    base = EditBase("values", "newUserName", None)  # not in Config.toml when the editor opened
    other.edit(lambda store: store.set_value("newUserName", "theirs@example.com"))
    with pytest.raises(EditConflict, match="the value of newUserName changed"):
        mine.edit(lambda store: (base.check(store), store.set_value("newUserName", "mine@example.com")))
    assert mine.store.config_values["newUserName"] == "theirs@example.com"


# -- steps are found where they are now --------------------------------------------------------------
def test_a_step_inserted_before_the_edited_one_does_not_redirect_the_save(sample):
    mine, other = two(sample)
    base = EditBase.step(mine.view().data, "provisionUser", "1")  # the log step
    other.edit(lambda store: store.add_step("provisionUser", {"log": "inserted"}, at="0"))
    assert save_step(mine, base, {"log": "Hello"}) == "2"
    steps = data(sample)["entrypoints"]["provisionUser"]["steps"]
    assert [s.get("log") for s in steps] == ["inserted", None, "Hello"]


def test_a_same_kind_step_inserted_at_the_address_is_never_written_over(sample):
    """Not a field-level merge onto the inserted log step (it has other fields, not this one's)."""
    mine, other = two(sample)
    base = EditBase.step(mine.view().data, "provisionUser", "1")
    other.edit(lambda store: store.add_step("provisionUser", {"log": "inserted"}, at="1"))
    assert save_step(mine, base, {"log": base.data["log"], "level": "warning"}) == "2"
    steps = data(sample)["entrypoints"]["provisionUser"]["steps"]
    assert steps[1] == {"log": "inserted"} and steps[2]["level"] == "warning"


def test_a_step_moved_and_changed_elsewhere_is_refused(sample):
    mine, other = two(sample)
    base = EditBase.step(mine.view().data, "provisionUser", "1")
    other.edit(lambda store: store.add_step("provisionUser", {"log": "inserted"}, at="0"))
    other.edit(lambda store: store.update_step("provisionUser", "2", {"log": "changed there"}))
    before = (sample / "workbench.toml").read_bytes()
    with pytest.raises(EditConflict, match=r"step 1 \(log\) of provisionUser was changed, moved or deleted"):
        save_step(mine, base, {"log": "Hello"})
    assert (sample / "workbench.toml").read_bytes() == before


def test_a_step_changed_in_place_merges_by_field_or_conflicts(sample):
    mine, other = two(sample)
    base = EditBase.step(mine.view().data, "provisionUser", "1")
    other.edit(lambda store: store.update_step("provisionUser", "1", {"log": base.data["log"], "level": "debug"}))
    assert save_step(mine, base, {"log": "Hello"}) == "1"
    assert data(sample)["entrypoints"]["provisionUser"]["steps"][1] == {"log": "Hello", "level": "debug"}

    base = EditBase.step(other.view().data, "provisionUser", "1")
    mine.edit(lambda store: store.update_step("provisionUser", "1", {"log": "Hello", "level": "error"}))
    with pytest.raises(EditConflict, match="same field.*: level"):
        save_step(other, base, {"log": "Hello", "level": "info"})
    assert data(sample)["entrypoints"]["provisionUser"]["steps"][1]["level"] == "error"


def test_a_deleted_step_is_a_conflict(sample):
    mine, other = two(sample)
    base = EditBase.step(mine.view().data, "provisionUser", "1")
    other.edit(lambda store: store.remove_step("provisionUser", "1"))
    with pytest.raises(EditConflict, match="was changed, moved or deleted"):
        save_step(mine, base, {"log": "Hello"})
    assert len(data(sample)["entrypoints"]["provisionUser"]["steps"]) == 1


def test_a_stale_delete_removes_the_step_it_was_asked_about(sample):
    mine, other = two(sample)
    base = EditBase.step(mine.view().data, "provisionUser", "1")
    other.edit(lambda store: store.add_step("provisionUser", {"log": "inserted"}, at="0"))
    mine.edit(lambda store: store.remove_step("provisionUser", base.locate(store)))
    steps = data(sample)["entrypoints"]["provisionUser"]["steps"]
    assert [s.get("log") for s in steps] == ["inserted", None]


def test_an_insert_goes_after_the_step_it_was_meant_to_follow(sample):
    mine, other = two(sample)
    base = EditBase.insert(mine.view().data, "provisionUser", "1")  # after the call step
    other.edit(lambda store: store.add_step("provisionUser", {"log": "inserted"}, at="0"))
    at = mine.edit(lambda store: store.add_step("provisionUser", {"log": "new"}, at=base.insert_at(store)))
    assert at == "2"
    steps = data(sample)["entrypoints"]["provisionUser"]["steps"]
    assert [s.get("log") for s in steps][:3] == ["inserted", None, "new"]


def test_an_entry_point_deleted_under_a_step_form_is_a_conflict(sample):
    mine, other = two(sample)
    base = EditBase.step(mine.view().data, "provisionUser", "1")
    other.edit(lambda store: store.remove("entrypoints", "provisionUser"))
    with pytest.raises(EditConflict, match="entry point provisionUser was deleted or renamed"):
        save_step(mine, base, {"log": "Hello"})


# -- the merge itself -------------------------------------------------------------------------------
def test_merge3():
    base = {"a": 1, "b": {"x": 1, "y": 2}, "c": [1]}
    assert merge3(base, {**base, "a": 2}, {**base, "c": [2]}) == {"a": 2, "b": {"x": 1, "y": 2}, "c": [2]}
    assert merge3(base, {"a": 1, "b": {"x": 1, "y": 2}}, base) == {"a": 1, "b": {"x": 1, "y": 2}}  # mine drops c
    conflicts: list = []
    merge3(base, {**base, "c": [3]}, {**base, "c": [2]}, (), conflicts)
    assert conflicts == [("c",)]
    conflicts = []
    merge3(base, {**base, "b": {"x": 5, "y": 2}}, {"a": 1, "c": [1]}, (), conflicts)  # theirs dropped b
    assert conflicts == [("b",)]


def test_a_steps_base_shares_the_other_steps_and_the_store_never_changes_them_in_place(sample):
    """A step's base keeps the rest of its flow by reference (a 20,000-step flow is not copied):
    that holds only while the store replaces what it edits, which this test pins down."""
    session = ProjectSession(sample, env={})
    session.load()
    entry = "provisionUser"
    base = EditBase.step(session.view().data, entry, "0")
    rest_before = repr(base.rest)
    session.edit(lambda store: store.update_step(entry, "1", {"log": "changed in place?"}))
    session.edit(lambda store: store.add_step(entry, {"log": "added"}, at="0"))
    session.edit(lambda store: store.move_step(entry, "2", -1))
    session.edit(lambda store: store.remove_step(entry, "0"))
    assert repr(base.rest) == rest_before  # the shared steps are as the form opened them
    # The flow around the step changed: step 0 is now found at 1, by its content.
    assert str(session.edit(lambda store: base.locate(store))) == "1"
