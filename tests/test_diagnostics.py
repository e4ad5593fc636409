"""`workbench check`: each diagnostic kind with its location, and the exit codes."""

from __future__ import annotations

import json

import pytest

from tests.helpers import copy_sample, make_project
from workbench.cli import main
from workbench.project import ProjectStore
from workbench.project.diagnostics import check

SAMPLE_VALUES = {
    "WB_VAR_SCIMSERVICEURL": "http://127.0.0.1:1/scim2",
    "WB_VAR_SCIMTOKENURL": "http://127.0.0.1:1/oauth2/token",
    "WB_VAR_SCIMCLIENTID": "client",
    "WB_VAR_SCIMCLIENTSECRET": "secret",
}

BASE = """[integration]
name = "diag"

[configurables.url]
type = "string"
default = "http://127.0.0.1:9"

[connections.api]
connector = "scim"
serviceUrl = "${config.url}"

[entrypoints.main]
kind = "automation"
"""


def diagnose(tmp_path, extra: str, config: str | None = None, env=None):
    text = BASE + extra
    store = ProjectStore.open(make_project(tmp_path / "p", text, config))
    return check(store, env=env or {}), text.splitlines()


def only(diags, code):
    found = [d for d in diags if d.code == code]
    assert found, f"no {code} in {[(d.code, d.message) for d in diags]}"
    return found


def line_of(lines, needle):
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_the_sample_is_clean_once_values_are_set(tmp_path):
    assert check(ProjectStore.open(copy_sample("scim-provisioning", tmp_path)), env=SAMPLE_VALUES) == []


def test_missing_values_are_all_named_with_three_ways_to_set_them(tmp_path):
    diags = check(ProjectStore.open(copy_sample("scim-provisioning", tmp_path)), env={})
    missing = only(diags, "missing-value")
    assert {d.key for d in missing} == {f"configurables.{n}" for n in ("scimServiceUrl", "scimTokenUrl", "scimClientId", "scimClientSecret")}
    secret = next(d for d in missing if d.key.endswith("scimClientSecret"))
    assert secret.line and len(secret.hints) == 3
    assert "set scimClientSecret -" in secret.hints[0]
    assert secret.hints[1] == "export WB_VAR_SCIMCLIENTSECRET=VALUE"
    assert "--set scimClientSecret=VALUE" in secret.hints[2]


def test_unknown_connector(tmp_path):
    diags, lines = diagnose(tmp_path, '\n[connections.other]\nconnector = "scm"\n')
    [d] = only(diags, "unknown-connector")
    assert "did you mean 'scim'" in d.message
    assert d.key == "connections.other.connector" and d.line == line_of(lines, 'connector = "scm"')


def test_unknown_connection_and_operation_in_call(tmp_path):
    diags, lines = diagnose(tmp_path, '[[entrypoints.main.steps]]\ncall = "apii.createUser"\n'
                                       '[[entrypoints.main.steps]]\ncall = "api.createUsr"\n')
    [conn] = only(diags, "unknown-connection")
    assert "did you mean 'api'" in conn.message and conn.key == "entrypoints.main.steps[0].call"
    assert conn.line == line_of(lines, "apii.createUser")
    [op] = only(diags, "unknown-operation")
    assert "did you mean 'createUser'" in op.message and op.line == line_of(lines, "api.createUsr")


def test_undeclared_configurable_and_unknown_variable(tmp_path):
    diags, lines = diagnose(
        tmp_path,
        '[[entrypoints.main.steps]]\nlog = "${config.nope}"\n'
        '[[entrypoints.main.steps]]\nlog = "${later.id}"\n'
        '[[entrypoints.main.steps]]\nset = "later"\nvalue = 1\n'
        '[[entrypoints.main.steps]]\nlog = "${later} ${error.message}"\n',
    )
    [undeclared] = only(diags, "undeclared-configurable")
    assert "'nope'" in undeclared.message and undeclared.line == line_of(lines, "config.nope")
    unknown = only(diags, "unknown-variable")
    assert [d.key for d in unknown] == ["entrypoints.main.steps[1].log", "entrypoints.main.steps[3].log"]
    assert "'later'" in unknown[0].message and "'error'" in unknown[1].message


def test_scopes_of_foreach_if_and_on_error(tmp_path):
    diags, _ = diagnose(
        tmp_path,
        '[[entrypoints.main.steps]]\nset = "rows"\nvalue = [1, 2]\n'
        '[[entrypoints.main.steps]]\nforeach = "${rows}"\nas = "row"\nresult = "all"\n'
        '[[entrypoints.main.steps.steps]]\nlog = "${row}"\n'
        '[[entrypoints.main.steps]]\nif = "len(all) > 1 and row == 1"\n'
        '[[entrypoints.main.onError]]\nlog = "${error.message} ${all}"\n',
    )
    [d] = only(diags, "unknown-variable")  # `row` outside its foreach
    assert d.key == "entrypoints.main.steps[2].if" and "'row'" in d.message


def test_required_without_value_type_mismatch_in_config_toml(tmp_path):
    extra = '[configurables.count]\ntype = "int"\n'
    text = BASE.replace("[connections.api]", extra + "\n[connections.api]")
    store = ProjectStore.open(make_project(tmp_path / "p", text, 'count = "ten"\nstray = 1\n'))
    diags = check(store, env={})
    [d] = only(diags, "type-mismatch")
    assert d.file == "Config.toml" and d.line == 1 and "expected an int" in d.message
    [w] = only(diags, "unknown-configurable")
    assert w.severity == "warning" and w.line == 2


def test_type_mismatch_in_workbench_toml(tmp_path):
    diags, lines = diagnose(tmp_path, '[[entrypoints.main.steps]]\nforeach = "${config.url}"\nconcurrency = "eight"\n')
    [d] = only(diags, "type-mismatch")
    assert d.key == "entrypoints.main.steps[0].concurrency" and d.line == line_of(lines, "concurrency")


def test_connection_fields_checked_against_the_connector_schema(tmp_path):
    diags, lines = diagnose(tmp_path, '\n[connections.bad]\nconnector = "scim"\ntimeout = "slow"\nbogus = 1\n')
    mismatch = only(diags, "type-mismatch")
    assert any(d.key == "connections.bad.timeout" for d in mismatch)
    assert any(d.code == "missing-key" and "serviceUrl" in d.message for d in diags)
    assert any(d.code == "unknown-key" and "bogus" in d.message for d in diags)


def test_bad_cron_and_timezone(tmp_path):
    diags, lines = diagnose(tmp_path, 'schedule = "61 * * * *"\ntimezone = "Mars/Olympus"\n')
    [cron] = only(diags, "bad-cron")
    assert cron.line == line_of(lines, "61 * * * *")
    only(diags, "bad-timezone")


def test_duplicate_names(tmp_path):
    text = BASE.replace("[connections.api]", '[configurables.URL]\ntype = "string"\ndefault = "x"\n\n[connections.api]')
    diags = check(ProjectStore.open(make_project(tmp_path / "p", text)), env={})
    [d] = only(diags, "duplicate-name")
    assert "WB_VAR_URL" in d.message
    diags, _ = diagnose(tmp_path / "b", '[[entrypoints.main.steps]]\nset = "config"\nvalue = 1\n')
    only(diags, "duplicate-name")
    diags, _ = diagnose(tmp_path / "c", '[entrypoints.main]\nkind = "automation"\n')
    [d] = only(diags, "toml-syntax")
    assert d.line == len(BASE.splitlines()) + 1 or d.line


def test_expression_syntax_error(tmp_path):
    diags, lines = diagnose(tmp_path, '[[entrypoints.main.steps]]\nlog = "${config.url ==}"\n'
                                       '[[entrypoints.main.steps]]\nif = "a =="\n')
    found = only(diags, "expression-syntax")
    assert [d.line for d in found] == [line_of(lines, "config.url =="), line_of(lines, 'if = "a =="')]


def test_literal_secret_is_a_warning(tmp_path):
    diags, _ = diagnose(tmp_path, '\n[connections.lit]\nconnector = "http"\nbaseUrl = "http://127.0.0.1:9"\n'
                                   'auth = { type = "bearer", token = "abc" }\n')
    [d] = only(diags, "literal-secret")
    assert d.severity == "warning"


def test_cli_check_exit_codes_and_json(tmp_path, capsys, monkeypatch):
    project = copy_sample("scim-provisioning", tmp_path)
    assert main(["check", str(project)]) == 2
    out = capsys.readouterr().out
    assert out.count("missing-value") == 4 and "export WB_VAR_SCIMTOKENURL=VALUE" in out
    for key, value in SAMPLE_VALUES.items():
        monkeypatch.setenv(key, value)
    assert main(["check", str(project)]) == 0
    assert "no problems" in capsys.readouterr().out
    (project / "Config.toml").write_text("stray = 1\n")
    assert main(["check", str(project), "--json"]) == 0  # warnings allowed
    [d] = json.loads(capsys.readouterr().out)
    assert d["code"] == "unknown-configurable" and d["file"] == "Config.toml" and d["line"] == 1
    (project / "workbench.toml").write_text("[integration\n")
    assert main(["check", str(project)]) == 2
    assert "workbench.toml:1:" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize("text", ["", "x = 1", "[integration]\nname = 5", "[[entrypoints.a.steps]]\nfoo = 1"])
def test_odd_files_give_diagnostics_not_tracebacks(tmp_path, text):
    store = ProjectStore.open(make_project(tmp_path / "p", text))
    assert check(store, env={})
