"""Secret sources: WB_VAR_<NAME>_FILE, the OS keyring (an in-memory backend), Config-secrets.toml,
their precedence, `config list` sources, masking, `.gitignore` and the `tracked-secret` check."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from tests.helpers import copy_sample, make_project
from workbench.cli import main
from workbench.project import ProjectStore
from workbench.project import secret_sources
from workbench.project.config import MASK, SOURCES
from workbench.project.diagnostics import check

SECRET = "kr-S3cret-value-77"
PROJECT = """
[integration]
name = "srcs"
[configurables.token]
secret = true
[configurables.count]
type = "int"
default = 1
"""


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username))


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    secret_sources.forget_cached()
    yield backend
    keyring.set_keyring(previous)
    secret_sources.forget_cached()


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    secret_sources.forget_cached()
    yield
    keyring.set_keyring(previous)
    secret_sources.forget_cached()


def cli(capsys, *argv, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_precedence_set_env_file_secrets_config_default(tmp_path, memory_keyring):
    root = make_project(tmp_path / "p", PROJECT, 'token = "from-config"\ncount = 5\n')
    value_file = tmp_path / "token.txt"
    value_file.write_text("from-file\n")
    value_file.chmod(0o400)
    store = ProjectStore.open(root)

    def top(env=None, overrides=None):
        rv = store.resolve_config(env=env or {}, overrides=overrides).values["token"]
        return rv.value, rv.source

    assert top() == ("from-config", "Config.toml")
    (root / "Config-secrets.toml").write_text('token = "from-secrets"\n')
    store.reload()
    assert top() == ("from-secrets", "secrets file")
    env = {"WB_VAR_TOKEN_FILE": str(value_file)}
    assert top(env) == ("from-file", "file")  # the trailing newline is stripped
    assert top({**env, "WB_VAR_TOKEN": "from-env"}) == ("from-env", "env")
    assert top({**env, "WB_VAR_TOKEN": "from-env"}, {"token": "from-set"}) == ("from-set", "--set")
    memory_keyring.set_password("workbench/srcs", "token", "from-keyring")
    (root / "Config-secrets.toml").unlink()
    (root / "Config.toml").write_text('token = { keyring = "workbench/srcs/token" }\n')
    store.reload()
    assert top() == ("from-keyring", "keyring")
    assert top(env) == ("from-file", "file")
    assert store.resolve_config(env={}).values["count"].source == "default"
    assert set(SOURCES) >= {"--set", "env", "file", "keyring", "secrets file", "Config.toml", "default", "missing"}


def test_value_file_errors_name_the_variable_never_a_value(tmp_path):
    root = make_project(tmp_path / "p", PROJECT)
    store = ProjectStore.open(root)
    rv = store.resolve_config(env={"WB_VAR_TOKEN_FILE": str(tmp_path / "absent")}).values["token"]
    assert rv.error.startswith(f"token from WB_VAR_TOKEN_FILE={tmp_path / 'absent'}: cannot read it")
    os.mkfifo(tmp_path / "fifo")  # would block the app's resolve for ever
    rv = store.resolve_config(env={"WB_VAR_TOKEN_FILE": str(tmp_path / "fifo")}).values["token"]
    assert "not a regular file" in rv.error
    (tmp_path / "count").write_text("many")
    rv = store.resolve_config(env={"WB_VAR_COUNT_FILE": str(tmp_path / "count")}).values["count"]
    assert "expected an int" in rv.error
    (tmp_path / "secret").write_text("x" * 10)
    rv = store.resolve_config(env={"WB_VAR_TOKEN_FILE": str(tmp_path / "secret")}).values["token"]
    assert rv.ok and rv.where == f"WB_VAR_TOKEN_FILE={tmp_path / 'secret'}"


def test_every_source_of_a_secret_is_masked(tmp_path, memory_keyring):
    root = make_project(tmp_path / "p", PROJECT, 'token = { keyring = "workbench/srcs/token" }\n')
    memory_keyring.set_password("workbench/srcs", "token", SECRET)
    (tmp_path / "f").write_text("file-S3cret-xyz\n")
    store = ProjectStore.open(root)
    for env, value in (({}, SECRET), ({"WB_VAR_TOKEN_FILE": str(tmp_path / "f")}, "file-S3cret-xyz")):
        redactor = store.resolve_config(env=env).redactor()
        assert redactor.text(f"Authorization: {value}") == f"Authorization: {MASK}"


def test_config_set_keyring_stores_a_reference_only(tmp_path, capsys, monkeypatch, memory_keyring):
    project = copy_sample("scim-provisioning", tmp_path)
    code, out, err = cli(capsys, "config", project, "set", "scimClientSecret", "-", "--keyring",
                         stdin=SECRET + "\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert SECRET not in out and "keyring workbench/scim-provisioning/scimClientSecret" in out
    text = (project / "Config.toml").read_text()
    assert SECRET not in text
    assert 'scimClientSecret = { keyring = "workbench/scim-provisioning/scimClientSecret" }' in text
    assert memory_keyring.entries[("workbench/scim-provisioning", "scimClientSecret")] == SECRET
    code, out, _ = cli(capsys, "config", project, "list", "--json")
    row = next(r for r in json.loads(out) if r["name"] == "scimClientSecret")
    assert (row["value"], row["source"]) == (MASK, "keyring (secret)")
    assert cli(capsys, "config", project, "get", "scimClientSecret", "--reveal")[1].strip() == SECRET
    # A second set goes where the value lives: the keyring, under the same reference.
    assert cli(capsys, "config", project, "set", "scimClientSecret", "other-S3cret")[0] == 0
    assert memory_keyring.entries[("workbench/scim-provisioning", "scimClientSecret")] == "other-S3cret"
    assert "other-S3cret" not in (project / "Config.toml").read_text()
    assert check(ProjectStore.open(project), env={}) is not None  # a reference is no type mismatch
    assert not [d for d in check(ProjectStore.open(project), env={}) if d.code == "type-mismatch"]
    assert cli(capsys, "config", project, "unset", "scimClientSecret")[0] == 0
    assert memory_keyring.entries == {}


def test_no_keyring_backend_says_so_and_suggests_the_others(tmp_path, capsys, monkeypatch, no_keyring):
    project = copy_sample("scim-provisioning", tmp_path)
    before = (project / "Config.toml").read_text()
    code, out, err = cli(capsys, "config", project, "set", "scimClientSecret", "-", "--keyring",
                         stdin=SECRET, monkeypatch=monkeypatch)
    assert code == 2 and "no OS keyring backend is available" in err
    assert "--secrets-file" in err and "WB_VAR_SCIMCLIENTSECRET_FILE" in err and SECRET not in out + err
    assert (project / "Config.toml").read_text() == before
    # A reference with no backend: an error naming the source, on `check` too.
    (project / "Config.toml").write_text('scimClientSecret = { keyring = "workbench/x/scimClientSecret" }\n')
    rv = ProjectStore.open(project).resolve_config(env={}).values["scimClientSecret"]
    assert rv.error == ("scimClientSecret from keyring workbench/x/scimClientSecret: "
                        "no OS keyring backend is available")


def test_secrets_file_is_0600_and_takes_new_secrets(tmp_path, capsys, monkeypatch):
    project = copy_sample("scim-provisioning", tmp_path)
    (project / "Config.toml").write_text(f'scimClientSecret = "{SECRET}"\nscimClientId = "c"\n')
    code, out, _ = cli(capsys, "config", project, "set", "scimClientSecret", "-", "--secrets-file",
                       stdin="moved-S3cret\n", monkeypatch=monkeypatch)
    assert code == 0 and "(Config-secrets.toml)" in out
    secrets = project / "Config-secrets.toml"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert 'scimClientSecret = "moved-S3cret"' in secrets.read_text()
    assert SECRET not in (project / "Config.toml").read_text()  # the value left Config.toml
    assert cli(capsys, "config", project, "set", "scimClientId", "c2", "--secrets-file")[0] == 2
    secrets.unlink()
    secrets.write_text("")
    assert "(Config-secrets.toml)" in cli(capsys, "config", project, "set", "scimClientSecret", "again-S3cret")[1]
    assert "(Config.toml)" in cli(capsys, "config", project, "set", "scimClientId", "c3")[1]
    code, out, _ = cli(capsys, "config", project, "list")
    assert "secrets file (secret)" in out and "again-S3cret" not in out


def test_a_value_left_out_with_nothing_on_stdin_writes_nothing(tmp_path, capsys, monkeypatch):
    """`set NAME --secrets-file` under cron (stdin /dev/null) wrote an empty secret over the real
    one and said it had saved ••••."""
    project = copy_sample("scim-provisioning", tmp_path)
    (project / "Config.toml").write_text(f'scimClientSecret = "{SECRET}"\n')
    for value in ([], ["-"]):
        code, out, err = cli(capsys, "config", project, "set", "scimClientSecret", *value, "--secrets-file",
                             stdin="", monkeypatch=monkeypatch)
        assert code == 2 and "stdin gave no value for scimClientSecret; nothing was written" in err, (value, err)
    assert SECRET in (project / "Config.toml").read_text() and not (project / "Config-secrets.toml").exists()


def test_config_list_shows_each_source(tmp_path, capsys, monkeypatch):
    root = make_project(tmp_path / "p", PROJECT + "[configurables.url]\n[configurables.name]\n[configurables.x]\n",
                        'url = "https://a.example"\n')
    (root / "Config-secrets.toml").write_text('token = "abcd-S3cret"\n')
    (tmp_path / "n").write_text("from-a-file\n")
    monkeypatch.setenv("WB_VAR_NAME_FILE", str(tmp_path / "n"))
    code, out, _ = cli(capsys, "config", root, "list", "--json")
    sources = {r["name"]: (r["source"], r["where"]) for r in json.loads(out)}
    assert sources == {"token": ("secrets file (secret)", "Config-secrets.toml"), "count": ("default", ""),
                       "url": ("Config.toml", "Config.toml"), "name": ("file", f"WB_VAR_NAME_FILE={tmp_path / 'n'}"),
                       "x": ("missing", "")}


def test_a_configurable_named_like_another_file_variable_is_a_duplicate(tmp_path):
    root = make_project(tmp_path / "p", PROJECT + "[configurables.token_file]\ndefault = 'x'\n")
    codes = [d.code for d in check(ProjectStore.open(root), env={})]
    assert "duplicate-name" in codes


def test_new_ignores_the_secrets_file_and_check_warns_on_a_tracked_secret(tmp_path, capsys):
    target = tmp_path / "fresh"
    assert main(["new", str(target)]) == 0
    assert {".workbench/", "Config-secrets.toml"} <= set((target / ".gitignore").read_text().splitlines())
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = copy_sample("scim-provisioning", tmp_path)
    (project / "Config.toml").write_text(f'scimClientSecret = "{SECRET}"\n')
    (project / "Config.toml").chmod(0o600)
    git = ["git", "-C", str(project), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "workbench.toml"], check=True)
    assert "tracked-secret" not in [d.code for d in check(ProjectStore.open(project), env={})]
    subprocess.run([*git, "add", "Config.toml"], check=True)
    [warning] = [d for d in check(ProjectStore.open(project), env={}) if d.code == "tracked-secret"]
    assert warning.severity == "warning" and warning.file == "Config.toml" and SECRET not in warning.message
    assert "holds the secret scimClientSecret and" in warning.message
    root = copy_sample("hr-webhook", tmp_path)  # two secrets: both named
    (root / "Config.toml").write_text(f'scimClientSecret = "{SECRET}"\nhookToken = "tok-{SECRET}"\n')
    subprocess.run(["git", "-C", str(root), "init", "-q"], check=True)
    subprocess.run(["git", "-C", str(root), "add", "Config.toml"], check=True)
    [warning] = [d for d in check(ProjectStore.open(root), env={}) if d.code == "tracked-secret"]
    assert "holds the secrets " in warning.message and "hookToken" in warning.message
    assert "scimClientSecret" in warning.message and SECRET not in warning.message


def test_check_imports_neither_keyring_nor_yaml():
    import sys

    from tests.helpers import ROOT

    code = ("import sys; from workbench.cli import main; main(['check', 'projects/scim-provisioning']); "
            "print('HEAVY', [m for m in ('keyring', 'yaml') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout
    assert "HEAVY []" in out
