"""Issue 9, "Files and writes": project files under concurrent writers, symlinks, odd encodings,
deep nesting, read-only folders, full disks, umasks; run history that is torn or pruned while a
run goes on; the scheduler meeting a broken Config.toml. Real files and real CLI processes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers import ROOT, make_project
from workbench.cli import main
from workbench.project import ProjectStore
from workbench.project import files as project_files
from workbench.runtime.history import HistoryWriter, list_runs, runs_dir

WB = [sys.executable, "-m", "workbench"]
TWO_VALUES = """[integration]
name = "two"

[configurables.a]
type = "int"

[configurables.b]
type = "int"

[configurables.token]
type = "string"
secret = true
"""
LOG_PROJECT = '[integration]\nname = "logs"\n\n[entrypoints.main]\n[[entrypoints.main.steps]]\nlog = "done ✓"\n'


def cli(*args: str, env: dict | None = None, prefix: tuple = (), timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, *WB, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, errors="replace")


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def readonly_prefix(folder: Path) -> tuple:
    """Run a command with `folder` read-only: a read-only bind mount for root (who ignores modes),
    else a chmod."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return ()
    if not shutil.which("unshare"):
        pytest.skip("needs unshare to make a read-only folder for root")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unshare -m is not permitted here")
    return ("unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(folder))


# -- row 5: concurrent writers ---------------------------------------------------------------------


def test_two_config_set_processes_at_once_lose_no_update(tmp_path):
    project = make_project(tmp_path / "two", TWO_VALUES, "# values\n")
    lost = []
    for i in range(20):
        procs = [subprocess.Popen([*WB, "config", str(project), "set", name, str(i)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for name in ("a", "b")]
        for proc in procs:
            assert proc.wait(timeout=20) == 0, proc.stderr.read()
            proc.stderr.close()
        values = tomllib.loads((project / "Config.toml").read_text())
        lost += [name for name in ("a", "b") if values.get(name) != i]
    assert lost == []
    assert (project / "Config.toml").read_text().startswith("# values\n")


def test_an_edit_rereads_the_file_under_the_lock(tmp_path):
    project = make_project(tmp_path / "p", TWO_VALUES, "a = 1\n")
    first, second = ProjectStore.open(project), ProjectStore.open(project)
    first.set_value("a", 2)
    second.set_value("b", 3)  # loaded before the first edit: must not drop a = 2
    assert tomllib.loads((project / "Config.toml").read_text()) == {"a": 2, "b": 3}
    first.add_configurable("c")
    second.add_configurable("d")
    assert {"a", "b", "c", "d"} <= set(tomllib.loads((project / "workbench.toml").read_text())["configurables"])


# -- row 6: symlinks -------------------------------------------------------------------------------


def test_a_symlinked_config_is_written_through_to_its_target(tmp_path):
    project = make_project(tmp_path / "p", TWO_VALUES)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "values.toml"
    target.write_text("# kept\na = 1\n")
    target.chmod(0o640)
    (project / "Config.toml").symlink_to(target)
    ProjectStore.open(project).set_value("a", 5)
    assert (project / "Config.toml").is_symlink()
    assert target.read_text() == "# kept\na = 5\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    ProjectStore.open(project).set_value("token", "s3cr3t-value")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # a secrets file is always 0600
    assert sorted(p.name for p in elsewhere.iterdir()) == ["values.toml"]  # no temp file left


# -- row 18: line endings, BOM, non-UTF-8 -----------------------------------------------------------


def test_crlf_line_endings_survive_edits(tmp_path):
    text = TWO_VALUES.replace("\n", "\r\n")
    project = make_project(tmp_path / "p", "", "# values\r\na = 1\r\n")
    (project / "workbench.toml").write_bytes(text.encode())
    store = ProjectStore.open(project)
    store.set_value("b", 2)
    store.add_configurable("extra", description="new one")
    for name in ("workbench.toml", "Config.toml"):
        data = (project / name).read_bytes()
        assert b"\n" in data and data.count(b"\n") == data.count(b"\r\n"), (name, data)
    assert (project / "Config.toml").read_bytes().startswith(b"# values\r\na = 1\r\n")


def test_a_utf8_bom_is_accepted_and_kept(tmp_path):
    project = make_project(tmp_path / "p", "")
    (project / "workbench.toml").write_bytes(b"\xef\xbb\xbf" + TWO_VALUES.encode())
    (project / "Config.toml").write_bytes(b"\xef\xbb\xbf# values\na = 1\n")
    store = ProjectStore.open(project)
    assert store.load_diagnostics == []
    assert store.config_values == {"a": 1}
    store.set_value("b", 2)
    store.add_configurable("extra")
    assert (project / "Config.toml").read_bytes() == b"\xef\xbb\xbf# values\na = 1\nb = 2\n"
    assert (project / "workbench.toml").read_bytes().startswith(b"\xef\xbb\xbf[integration]")


def test_non_utf8_bytes_give_line_and_column(tmp_path):
    project = make_project(tmp_path / "p", "")
    (project / "workbench.toml").write_bytes(b'[integration]\nname = "x"\ndescription = "caf\xe9"\n')
    store = ProjectStore.open(project)
    [diag] = store.load_diagnostics
    assert (diag.code, diag.line, diag.col) == ("toml-syntax", 3, 19)
    proc = cli("check", str(project))
    assert proc.returncode == 2 and "workbench.toml:3:19" in proc.stdout + proc.stderr, proc


# -- row 10: deep nesting, read-only folder, full disk, ASCII terminal, torn history ---------------


def test_deeply_nested_toml_is_one_clear_error(tmp_path):
    deep = "[" * 500 + "]" * 500
    project = make_project(tmp_path / "p", LOG_PROJECT + f"\n[configurables.x]\ntype = \"string\"\ndefault = {deep}\n")
    for args in (["check", str(project)], ["run", str(project)], ["config", str(project), "list"]):
        proc = cli(*args)
        assert proc.returncode == 2, proc
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "workbench.toml:10:" in proc.stdout + proc.stderr and "nested" in proc.stdout + proc.stderr
    store = ProjectStore.open(project)  # what the app does on open
    assert [d.code for d in store.load_diagnostics] == ["toml-syntax"]
    (project / "workbench.toml").write_text(TWO_VALUES)
    (project / "Config.toml").write_text(f"a = {deep}\n")
    proc = cli("config", str(project), "set", "b", "1")
    one_line_error(proc, "Config.toml:1:", "nested")
    assert (project / "Config.toml").read_text() == f"a = {deep}\n"  # never overwritten


def test_config_set_in_a_read_only_folder(tmp_path):
    project = make_project(tmp_path / "p", TWO_VALUES, "a = 1\n")
    proc = cli("config", str(project), "set", "b", "2", prefix=readonly_prefix(project))
    one_line_error(proc, "Config.toml", "cannot write")
    assert proc.returncode != 0
    project.chmod(0o755)
    assert (project / "Config.toml").read_text() == "a = 1\n"


def test_a_full_disk_is_one_clear_error_and_the_file_stays(tmp_path, monkeypatch, capsys):
    project = make_project(tmp_path / "p", TWO_VALUES, "# mine\na = 1\n")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    code = main(["config", str(project), "set", "b", "2"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and "Config.toml" in err and "No space left on device" in err, err
    assert (project / "Config.toml").read_text() == "# mine\na = 1\n"
    assert sorted(p.name for p in project.iterdir()) == [".workbench", "Config.toml", "workbench.toml"]  # no temp file


def test_an_ascii_terminal_gets_no_traceback(tmp_path):
    project = make_project(tmp_path / "p", TWO_VALUES + LOG_PROJECT.split("\n", 2)[2],
                           "a = 1\nb = 2\ntoken = 's3cr3t-value'\n")
    env = {"PYTHONIOENCODING": "ascii"}
    for args in (["config", str(project), "list"], ["config", str(project), "set", "token", "other-secret"],
                 ["run", str(project)], ["runs", str(project)]):
        proc = cli(*args, env=env)
        assert proc.returncode == 0, proc
        assert "Traceback" not in proc.stderr, proc.stderr
    assert "done" in cli("run", str(project), env=env).stdout


def test_a_history_file_torn_mid_character(tmp_path):
    project = make_project(tmp_path / "p", LOG_PROJECT)
    folder = runs_dir(project)
    folder.mkdir(parents=True)
    started = {"event": "run.started", "run": "20260101T000000-000abc", "ts": "2026-01-01T00:00:00Z",
               "entry": "main", "project": "logs"}
    torn = json.dumps({"event": "log", "ts": "2026-01-01T00:00:01Z", "level": "info", "message": "café"}, ensure_ascii=False).encode()
    (folder / "20260101T000000-000abc.jsonl").write_bytes(json.dumps(started).encode() + b"\n" + torn[:-3])
    [run] = list_runs(project)
    assert run.status == "failed"  # the process died: not "running" for ever
    proc = cli("runs", str(project), "show", "20260101T000000")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc
    assert "failed" in cli("runs", str(project)).stdout


# -- row 19: no history, but a warning ---------------------------------------------------------------


def test_a_run_in_a_read_only_folder_warns_that_history_was_not_written(tmp_path):
    project = make_project(tmp_path / "p", LOG_PROJECT)
    proc = cli("run", str(project), prefix=readonly_prefix(project))
    project.chmod(0o755)
    assert proc.returncode == 0, proc
    assert "done" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert "warning" in proc.stderr and "history" in proc.stderr and ".workbench" in proc.stderr, proc.stderr


# -- row 20: umask ----------------------------------------------------------------------------------


def test_new_files_honour_the_umask_and_secrets_are_0600(tmp_path):
    umask = ("sh", "-c", 'umask 077 && exec "$@"', "sh")
    project = tmp_path / "new"
    assert cli("new", str(project), prefix=umask).returncode == 0
    for name in ("workbench.toml", "Config.toml", ".gitignore"):
        assert stat.S_IMODE((project / name).stat().st_mode) == 0o600, name
    (project / "workbench.toml").write_text(TWO_VALUES)
    (project / "Config.toml").unlink()
    assert cli("config", str(project), "set", "a", "1", prefix=umask).returncode == 0
    assert stat.S_IMODE((project / "Config.toml").stat().st_mode) == 0o600
    (project / "Config.toml").unlink()
    relaxed = ("sh", "-c", 'umask 022 && exec "$@"', "sh")
    assert cli("config", str(project), "set", "a", "1", prefix=relaxed).returncode == 0
    assert stat.S_IMODE((project / "Config.toml").stat().st_mode) == 0o644
    assert cli("config", str(project), "set", "token", "s3cr3t-value", prefix=relaxed).returncode == 0
    assert stat.S_IMODE((project / "Config.toml").stat().st_mode) == 0o600


# -- one atomic writer -------------------------------------------------------------------------------


def test_every_writer_goes_through_one_atomic_writer(tmp_path, monkeypatch):
    import asyncio

    from workbench.connectors.base import OperationContext
    from workbench.connectors.file import SPEC as FILE
    from workbench.connectors.file.client import FileConnection

    calls = []
    real = project_files.write_at
    monkeypatch.setattr(project_files, "write_at", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    project = make_project(tmp_path / "p", TWO_VALUES)
    ProjectStore.open(project).set_value("a", 1)
    conn = FileConnection(FILE, FILE.connection(), context=OperationContext(project_dir=project))
    asyncio.run(conn.writeJson({"path": "out/x.json", "data": [1]}))
    assert calls == ["Config.toml", "x.json"]


# -- row 16: pruning never deletes a running run ------------------------------------------------------


def test_pruning_never_deletes_a_running_run(tmp_path):
    project = make_project(tmp_path / "p", LOG_PROJECT)
    running = HistoryWriter(project, "20260101T000000-000aaa", keep=3)
    running.write({"event": "run.started", "ts": "2026-01-01T00:00:00Z", "entry": "main"})
    for n in range(1, 6):
        later = HistoryWriter(project, f"20260101T00000{n}-000aaa", keep=3)
        later.write({"event": "run.started", "ts": f"2026-01-01T00:00:0{n}Z", "entry": "main"})
        later.write({"event": "run.finished", "status": "succeeded", "durationMs": 1})
        later.close()
    names = sorted(p.name for p in runs_dir(project).iterdir())
    assert "20260101T000000-000aaa.jsonl" in names
    assert len(names) == 4  # the running one and the newest 3
    assert [r.status for r in list_runs(project)][0] == "running"
    running.close()
    assert [r.status for r in list_runs(project)][0] == "failed"  # ended with no run.finished


# -- row 15: the scheduler and a Config.toml that is not UTF-8 -----------------------------------------


async def test_the_scheduler_records_a_run_it_could_not_start(tmp_path):
    from datetime import datetime, timezone

    from workbench.runtime.schedule import Scheduler

    project = make_project(tmp_path / "p", LOG_PROJECT.replace("[entrypoints.main]", '[entrypoints.main]\nschedule = "* * * * *"'))
    store = ProjectStore.open(project)
    notes: list[str] = []
    scheduler = Scheduler(store, notify=notes.append)
    (project / "Config.toml").write_bytes(b"a = '\xff'\n")
    job = scheduler.jobs[0]
    scheduler.fire(job, datetime(2026, 1, 1, tzinfo=timezone.utc))
    await job.task
    assert job.task.exception() is None
    assert any("main: not run:" in n and "Config.toml:1:" in n for n in notes), notes
    [run] = list_runs(project)
    assert run.status == "failed"


def test_the_apps_first_paint_survives_deep_nesting(tmp_path):
    from workbench.project.view import ProjectView

    project = make_project(tmp_path / "p", LOG_PROJECT + "x = " + "[" * 500 + "]" * 500 + "\n")
    assert ProjectView.read(project).errors  # read before the store, on open: an error, not a crash
