"""Issue 9, the file connector's rows: FIFOs and a second Ctrl+C, deep JSON, a folder swapped for a
symlink while reading and writing, and CSV that is not quite CSV. Real files, FIFOs, processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, make_project
from tests.test_cli_run import read_until
from workbench.connectors.base import ConnectorError, OperationContext
from workbench.connectors.file import SPEC as FILE
from workbench.connectors.file.client import FileConnection

READ_PROJECT = """[integration]
name = "files"

[connections.files]
connector = "file"

[entrypoints.main]
[[entrypoints.main.steps]]
call = "files.{op}"
result = "data"
args = {{ path = "{path}" }}

[[entrypoints.main.steps]]
log = "read ${{len(data)}}"
"""


def files(root: Path) -> FileConnection:
    return FileConnection(FILE, FILE.connection(), context=OperationContext(project_dir=root))


def run_cli(project: Path, timeout: float = 15) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", "run", str(project)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


# -- row 9: a FIFO, and Ctrl+C twice -------------------------------------------------------------------


def test_reading_a_fifo_is_refused_at_once(tmp_path):
    project = make_project(tmp_path / "p", READ_PROJECT.format(op="readCsv", path="pipe.csv"))
    os.mkfifo(project / "pipe.csv")
    proc = run_cli(project)  # today's code blocks in open() for ever: the timeout fails the test
    assert proc.returncode == 1, proc
    assert "pipe.csv: not a regular file" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stderr


STUCK_CLI = """
import asyncio, sys, time
from workbench.connectors.file.client import FileConnection

async def stuck(self, params):  # a read that no cancel can interrupt (a dead NFS server, say)
    print("stuck", file=sys.stderr, flush=True)
    await asyncio.to_thread(time.sleep, 30)

FileConnection.readCsv = stuck
from workbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_second_ctrl_c_exits_even_when_a_thread_is_stuck(tmp_path):
    project = make_project(tmp_path / "p", READ_PROJECT.format(op="readCsv", path="x.csv"))
    proc = subprocess.Popen([sys.executable, "-c", STUCK_CLI, "run", str(project)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        read_until(proc, proc.stderr, "stuck")
        proc.send_signal(signal.SIGINT)
        read_until(proc, proc.stderr, "cancelling")
        time.sleep(0.3)  # the run is recorded as cancelled; the process waits for the stuck thread
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        assert time.monotonic() - started < 3
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 130


# -- row 10: JSON nested 900 levels ----------------------------------------------------------------------


def test_deeply_nested_json_is_a_clear_error(tmp_path):
    project = make_project(tmp_path / "p", READ_PROJECT.format(op="readJson", path="deep.json"))
    (project / "deep.json").write_text("[" * 900 + "]" * 900)
    proc = run_cli(project)
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "deep.json: nested deeper than" in proc.stdout, proc.stdout


# -- row 11: a folder swapped for a symlink between check and open ----------------------------------------

SWAPPER = """
import os, shutil, sys, time
data, real, outside, seconds = sys.argv[1], sys.argv[1] + ".real", sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + seconds
print("go", flush=True)
while time.monotonic() < deadline:
    try:
        os.rename(data, real)
        os.symlink(outside, data)
        os.unlink(data)
        os.rename(real, data)
    except OSError:  # a write made a new data/ mid-swap (writes create folders): drop it
        while os.path.isdir(real):
            if os.path.islink(data):
                os.unlink(data)
            elif os.path.isdir(data):
                shutil.rmtree(data, ignore_errors=True)
            try:
                os.rename(real, data)
            except OSError:
                pass
"""


async def test_a_folder_swapped_for_a_symlink_never_leaks_outside(tmp_path):
    project = make_project(tmp_path / "p", '[integration]\nname = "race"\n')
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.json").write_text('{"where": "outside"}')
    (project / "data").mkdir()
    (project / "data" / "x.json").write_text('{"where": "inside"}')
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(project / "data"), str(outside), "1.5"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    conn = files(project)
    leaked = reads = refused = 0
    try:
        swapper.stdout.readline()
        while swapper.poll() is None:
            reads += 1
            try:
                leaked += (await conn.readJson({"path": "data/x.json"})) != {"where": "inside"}
            except ConnectorError:
                refused += 1  # mid-swap: missing, or a symlink out; both fine
            if reads % 10 == 0:  # a write fsyncs: fewer, so the reads are many
                try:
                    await conn.writeJson({"path": "data/out.json", "data": reads})
                except ConnectorError:
                    pass
    finally:
        swapper.kill()
        _, err = swapper.communicate()
    assert reads > 1000, err
    assert leaked == 0, f"{leaked} of {reads} reads returned a file outside the project"
    assert sorted(p.name for p in outside.iterdir()) == ["x.json"], "a write landed outside the project"


async def test_symlinks_that_stay_inside_still_work(tmp_path):
    project = make_project(tmp_path / "p", '[integration]\nname = "links"\n')
    (project / "real" / "deep").mkdir(parents=True)
    (project / "real" / "deep" / "a.json").write_text("[1]")
    os.symlink("real/deep", project / "rel")
    os.symlink(project / "real", project / "abs")
    os.symlink("../a.json", project / "real" / "deep" / "up.json")
    (project / "real" / "a.json").write_text("[2]")
    conn = files(project)
    assert await conn.readJson({"path": "rel/a.json"}) == [1]
    assert await conn.readJson({"path": "abs/deep/a.json"}) == [1]
    assert await conn.readJson({"path": "rel/up.json"}) == [2]
    assert await conn.readJson({"path": "rel/../deep/a.json"}) == [1]
    await conn.writeJson({"path": "rel/new.json", "data": 3})
    assert json.loads((project / "real" / "deep" / "new.json").read_text()) == 3
    os.symlink("../../..", project / "real" / "out")
    with pytest.raises(ConnectorError, match="points outside the project folder"):
        await conn.readJson({"path": "real/out/x.json"})


# -- row 17: a stray quote, ragged rows ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('userName,email\nkim,kim@x\n"lee,lee@x\nann,ann@x\n', r"bad\.csv: line 3: "),
        ("userName,email\nkim,kim@x,extra\nlee,lee@x\n", r"bad\.csv: line 2: 3 fields, the header has 2"),
        ("userName,email\nkim,kim@x\nlee\n", r"bad\.csv: line 3: 1 field, the header has 2"),
        ('userName,email\nkim,"kim"x\n', r"bad\.csv: line 2: "),
    ],
)
async def test_malformed_csv_names_the_line(tmp_path, text, error):
    project = make_project(tmp_path / "p", '[integration]\nname = "csv"\n')
    (project / "bad.csv").write_text(text)
    with pytest.raises(ConnectorError, match=error):
        await files(project).readCsv({"path": "bad.csv"})


async def test_ragged_rows_are_allowed_with_strict_false(tmp_path):
    project = make_project(tmp_path / "p", '[integration]\nname = "csv"\n')
    (project / "ragged.csv").write_text("userName,email\nkim,kim@x,extra\nlee\n")
    rows = await files(project).readCsv({"path": "ragged.csv", "strict": False})
    assert rows == [{"userName": "kim", "email": "kim@x"}, {"userName": "lee", "email": ""}]
    (project / "ok.csv").write_text('userName,note\nkim,"two\nlines"\n')
    assert await files(project).readCsv({"path": "ok.csv"}) == [{"userName": "kim", "note": "two\nlines"}]
