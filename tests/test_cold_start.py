"""What a cold `workbench run` or `check` of the sample imports: never scim2-models, croniter or
the connector discovery for a plain payload and schedule (bench/cold_start.py times them). The
plain shortcuts taken instead answer only where the library they stand in for agrees."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import copy_sample
from workbench.project.entry_checks import _plain_cron, schedule_problem

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("scim2_models", "croniter", "lark", "textual", "workbench.connectors.search")


def _modules_after(code: str) -> dict[str, bool]:
    probe = f"import sys, json\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.splitlines()[-1])


def test_check_of_the_sample_imports_nothing_heavy(tmp_path):
    project = copy_sample("scim-provisioning", tmp_path)
    code = ("from workbench.cli import main\n"
            f"main(['check', {str(project)!r}, '--set', 'scimServiceUrl=http://127.0.0.1:9/scim2', "
            "'--set', 'scimTokenUrl=http://127.0.0.1:9/token', '--set', 'scimClientId=c', '--set', 'scimClientSecret=secret'])")
    assert _modules_after(code) == dict.fromkeys(HEAVY, False)


def test_a_run_of_the_sample_imports_nothing_heavy(tmp_path, sandbox):
    project = copy_sample("scim-provisioning", tmp_path)
    sets = {"scimServiceUrl": sandbox.service_url, "scimTokenUrl": sandbox.token_url, "scimClientId": sandbox.client_id,
            "scimClientSecret": sandbox.client_secret, "newUserName": f"cold-{tmp_path.name}@example.com"}
    args = ["run", str(project)] + [a for name, value in sets.items() for a in ("--set", f"{name}={value}")]
    code = f"from workbench.cli import main\nassert main({args!r}) == 0"
    assert _modules_after(code) == dict.fromkeys(HEAVY, False)


item = st.one_of(st.just("*"), st.integers(0, 99).map(str),
                 st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda t: f"{t[0]}-{t[1]}"))
field = st.tuples(st.lists(item, min_size=1, max_size=3), st.one_of(st.none(), st.integers(0, 70))).map(
    lambda t: ",".join(t[0]) + (f"/{t[1]}" if t[1] is not None else ""))


@settings(max_examples=1500, deadline=None)
@given(st.lists(field, min_size=5, max_size=5))
def test_a_plain_cron_expression_is_one_croniter_accepts(fields):
    if _plain_cron(fields):
        assert croniter.is_valid(" ".join(fields))


def test_schedules_the_plain_check_leaves_to_croniter():
    assert all(_plain_cron(s.split()) for s in ("0 9 * * 1-5", "*/15 * * * *", "0 0 1,15 * *", "5-10/2 0 * * 0"))
    assert schedule_problem("0 9 * * MON-FRI") == ""  # names: croniter decides
    assert schedule_problem("0 25 * * *").startswith("schedule '0 25 * * *' is not a valid")
    assert schedule_problem("*/0 * * * *") != ""


def test_the_collector_is_off_while_the_process_starts_and_on_for_the_run(monkeypatch):
    import gc

    from workbench import cli

    calls = []
    monkeypatch.setattr(cli.gc, "disable", lambda: calls.append("disable"))
    monkeypatch.setattr(cli.gc, "enable", lambda: calls.append("enable"))
    monkeypatch.setattr(cli.gc, "freeze", lambda: calls.append("freeze"))  # the last full collection skips it

    def main() -> int:
        calls.append("start-up")
        cli.started()  # a command's start-up is over
        calls.append("work")
        return 3

    monkeypatch.setattr(cli, "main", main)
    assert cli.entry() == 3
    assert calls == ["disable", "start-up", "freeze", "enable", "work", "freeze"]
    assert (ROOT / "workbench" / "__main__.py").read_text().count("entry()") == 1
    calls.clear()
    cli.started()  # main() called in-process (tests, the app): the collector is left alone
    assert calls == [] and gc.isenabled()
