"""Configurables: precedence, coercion, masking, Config.toml mode 0600, and `workbench config`."""

from __future__ import annotations

import io
import json
import stat

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.helpers import copy_sample, make_project
from workbench.cli import main
from workbench.project import ProjectStore
from workbench.project.config import MASK, Redactor, coerce, CoercionError

TYPED = """
[integration]
name = "typed"
[configurables.text]
type = "string"
default = "fallback"
[configurables.count]
type = "int"
[configurables.ratio]
type = "float"
[configurables.enabled]
type = "boolean"
[configurables.tags]
type = "string[]"
[configurables.ports]
type = "int[]"
[configurables.token]
type = "string"
secret = true
"""


@pytest.fixture
def typed(tmp_path):
    return make_project(tmp_path / "typed", TYPED)


def test_precedence_set_over_env_over_file_over_default(typed):
    (typed / "Config.toml").write_text('text = "from-file"\n')
    store = ProjectStore.open(typed)
    assert store.resolve_config(env={}).values["text"].value == "from-file"
    assert store.resolve_config(env={}).values["text"].source == "Config.toml"
    env = {"WB_VAR_TEXT": "from-env"}
    assert store.resolve_config(env=env).values["text"].value == "from-env"
    assert store.resolve_config(env=env).values["text"].source == "env"
    rv = store.resolve_config(env=env, overrides={"text": "from-set"}).values["text"]
    assert (rv.value, rv.source) == ("from-set", "--set")
    (typed / "Config.toml").write_text("")
    store.reload()
    rv = store.resolve_config(env={}).values["text"]
    assert (rv.value, rv.source) == ("fallback", "default")
    assert store.resolve_config(env={}).values["count"].source == "missing"


def test_env_names_are_upper_cased(typed):
    store = ProjectStore.open(typed)
    rv = store.resolve_config(env={"WB_VAR_TOKEN": "abc"}).values["token"]
    assert rv.value == "abc" and rv.display() == MASK and rv.display(reveal=True) == "abc"


@pytest.mark.parametrize(
    "type_, text, expected",
    [
        ("int", " 42 ", 42), ("float", "2.5", 2.5), ("float", "3", 3.0),
        ("boolean", "true", True), ("boolean", "No", False), ("string[]", "a, b", ["a", "b"]),
        ("string[]", '["x", "y"]', ["x", "y"]), ("int[]", "1,2,3", [1, 2, 3]), ("string", "s", "s"),
    ],
)
def test_text_sources_are_coerced(type_, text, expected):
    assert coerce(type_, text, from_text=True) == expected


@pytest.mark.parametrize(
    "type_, value, message",
    [
        ("int", "4.5", "expected an int"), ("int", True, "expected an int"), ("boolean", "maybe", "expected a boolean"),
        ("string", 5, "expected a string"), ("int[]", "1,x", "expected an int"), ("float", "fast", "expected a float"),
    ],
)
def test_wrong_types_are_clear_errors(type_, value, message):
    with pytest.raises(CoercionError, match=message):
        coerce(type_, value, from_text=isinstance(value, str))


def test_coercion_errors_name_the_source(typed):
    (typed / "Config.toml").write_text('count = "many"\n')
    store = ProjectStore.open(typed)
    rv = store.resolve_config(env={}).values["count"]
    assert rv.error == "count from Config.toml: expected an int, got string 'many'"
    rv = store.resolve_config(env={"WB_VAR_COUNT": "x1"}).values["count"]
    assert rv.error.startswith("count from WB_VAR_COUNT: expected an int")
    rv = store.resolve_config(env={}, overrides={"ratio": "quick"}).values["ratio"]
    assert rv.error.startswith("ratio from --set: expected a float")


def test_a_secret_with_a_bad_value_is_not_echoed(typed):
    (typed / "Config.toml").write_text("token = 12345678\n")
    rv = ProjectStore.open(typed).resolve_config(env={}).values["token"]
    assert "12345678" not in rv.error and MASK in rv.error


def test_config_toml_holding_a_secret_is_mode_0600(typed):
    store = ProjectStore.open(typed)
    store.set_value("count", "3", from_text=True)
    assert stat.S_IMODE((typed / "Config.toml").stat().st_mode) == 0o644
    store.set_value("token", "t0ps3cret")
    assert stat.S_IMODE((typed / "Config.toml").stat().st_mode) == 0o600
    assert (typed / "Config.toml").read_text() == 'count = 3\ntoken = "t0ps3cret"\n'


def test_set_keeps_comments_in_config_toml(typed):
    (typed / "Config.toml").write_text("# machine values\ncount = 1 # one\n\n# flags\nenabled = false\n")
    store = ProjectStore.open(typed)
    store.set_value("count", 2)
    store.set_value("tags", "a,b", from_text=True)
    store.unset_value("enabled")
    assert (typed / "Config.toml").read_text() == '# machine values\ncount = 2 # one\n\n# flags\ntags = ["a", "b"]\n'


def test_redactor_masks_text_and_nested_data():
    r = Redactor(["hunter2", "hunter2-long", None, ""])
    assert r.text("pw=hunter2-long and hunter2") == f"pw={MASK} and {MASK}"
    assert r.data({"a": ["x hunter2"], "b": 1}) == {"a": [f"x {MASK}"], "b": 1}
    assert not Redactor([None, ""])


_TRICKY = st.text(alphabet=st.sampled_from(list('ab"\\/\n\t\x01 <>&é€😀%+')), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@example(secret='a"b', value=['xa\\"by'])  # the JSON-escaped form, inside a string: escaped again
@given(secret=_TRICKY, value=st.recursive(
    _TRICKY | st.integers() | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY, inner, max_size=3), max_leaves=8))
def test_redactor_shows_in_finds_whatever_data_would_mask(secret, value):
    """The JSON-text search (resume state, segments) says "clean" only when `data` changes nothing."""
    r = Redactor([secret, f"x{secret}y"])
    if r.data(value) != value:
        for flag in (True, False):
            assert r.shows_in(json.dumps(value, ensure_ascii=flag)), (secret, value)


def test_redactor_skips_text_shorter_than_any_secret():
    r = Redactor(["hunter2-long-secret"])
    assert r.text("hunter2") == "hunter2" and r.text("a hunter2-long-secret!") == f"a {MASK}!"
    r.add("pw")  # a shorter secret: short texts are searched again
    assert r.text("a pw") == f"a {MASK}" and r.copy().text("pw") == MASK


def test_cli_config_list_masks_secrets_and_shows_sources(tmp_path, capsys, monkeypatch):
    project = copy_sample("scim-provisioning", tmp_path)
    monkeypatch.setenv("WB_VAR_SCIMCLIENTID", "client-from-env")
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cr3t-value\n"))
    assert main(["config", str(project), "set", "scimClientSecret", "-"]) == 0
    assert "s3cr3t-value" not in capsys.readouterr().out
    assert main(["config", str(project), "list"]) == 0
    out = capsys.readouterr().out
    assert "s3cr3t-value" not in out and MASK in out
    assert "client-from-env" in out and "env" in out
    assert "missing" in out and "default" in out
    assert main(["config", str(project), "get", "scimClientSecret"]) == 0
    assert capsys.readouterr().out.strip() == MASK
    assert main(["config", str(project), "get", "scimClientSecret", "--reveal"]) == 0
    assert capsys.readouterr().out.strip() == "s3cr3t-value"
    assert stat.S_IMODE((project / "Config.toml").stat().st_mode) == 0o600
    assert main(["config", str(project), "unset", "scimClientSecret"]) == 0
    assert main(["config", str(project), "get", "scimClientSecret"]) == 1


def test_cli_config_errors_exit_2(tmp_path, capsys):
    project = copy_sample("scim-provisioning", tmp_path)
    assert main(["config", str(project), "get", "scimClientSecrt"]) == 2
    assert "did you mean 'scimClientSecret'" in capsys.readouterr().err
    assert main(["config", str(tmp_path / "nowhere", ), "list"]) == 2
    (project / "Config.toml").write_text("x = [\n")
    assert main(["config", str(project), "set", "newUserName", "a"]) == 2
    assert "Config.toml:" in capsys.readouterr().err
    assert (project / "Config.toml").read_text() == "x = [\n"


def test_cli_new_scaffolds_a_project(tmp_path, capsys):
    target = tmp_path / "fresh"
    assert main(["new", str(target)]) == 0
    store = ProjectStore.open(target)
    assert store.name == "fresh" and store.load_diagnostics == []
    assert main(["new", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
