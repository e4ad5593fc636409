"""How fast does Workbench start, as a scheduled job starts it: a cold process every time?

Whole processes, timed with perf_counter around subprocess, alternating with their baselines,
median of N pairs (default 9) and the median of the pair-by-pair ratios:
- `workbench run` of the sample (one token + one createUser against the sandbox in its own
  process) against a plain httpx script doing the same token fetch and POST. Target ≤ 1.5×.
- `workbench check` of the sample against `python -c pass`. Target ≤ 4×.
- `workbench --help` against `python -c pass`. Target ≤ 1.5×.
- The floor of `check` while its models are pydantic, no target: a script that imports pydantic and
  validates one one-field model, against `python -c pass`.

    .venv/bin/python bench/cold_start.py [--pairs 9]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _sandbox_process import sandbox_process  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORKBENCH = [sys.executable, "-m", "workbench"]

PLAIN = """
import sys, httpx
service, token_url, client_id, secret, name = sys.argv[1:]
with httpx.Client(timeout=30) as client:
    token = client.post(token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret)).json()["access_token"]
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
            "name": {"givenName": "Kim", "familyName": "Jensen"},
            "emails": [{"value": name, "type": "work", "primary": True}], "active": True}
    response = client.post(service + "/Users", json=body, headers={"Authorization": "Bearer " + token})
    assert response.status_code == 201, response.text
"""

ONE_MODEL = """
from pydantic import BaseModel
class Integration(BaseModel):
    name: str
Integration(name="sample")
"""


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2):  # check exits 2 on the sample when values are missing
        raise RuntimeError(f"{command[:4]} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def pairs(a, b, n: int) -> tuple[float, float, float]:
    """(median of a, median of b, median of a/b), alternating a b a b after one warm-up each."""
    a(), b()
    times_a, times_b, ratios = [], [], []
    for _ in range(n):
        ta, tb = a(), b()
        times_a.append(ta)
        times_b.append(tb)
        ratios.append(ta / tb)
    return statistics.median(times_a), statistics.median(times_b), statistics.median(ratios)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=9)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="wb-cold-"))
    project = work / "scim-provisioning"
    shutil.copytree(ROOT / "projects" / "scim-provisioning", project)
    rows = []
    with sandbox_process() as sb:
        sets = ["--set", f"scimServiceUrl={sb.service_url}", "--set", f"scimTokenUrl={sb.token_url}",
                "--set", f"scimClientId={sb.client_id}", "--set", f"scimClientSecret={sb.client_secret}"]

        def run_wb() -> float:
            return timed([*WORKBENCH, "run", str(project), *sets, "--set", f"newUserName=w{uuid.uuid4().hex[:10]}@x.io"])

        def run_plain() -> float:
            return timed([sys.executable, "-c", PLAIN, sb.service_url, sb.token_url, sb.client_id, sb.client_secret,
                          f"p{uuid.uuid4().hex[:10]}@x.io"])

        rows.append(("workbench run (1 token + 1 createUser)", "plain httpx script", *pairs(run_wb, run_plain, args.pairs), 1.5))
    bare = [sys.executable, "-c", "pass"]
    rows.append(("workbench check", "python -c pass",
                 *pairs(lambda: timed([*WORKBENCH, "check", str(project)]), lambda: timed(bare), args.pairs), 4.0))
    # Not a target: the floor of any check whose model is pydantic (the project's and the connectors').
    rows.append(("floor: pydantic, one model validated", "python -c pass",
                 *pairs(lambda: timed([sys.executable, "-c", ONE_MODEL]), lambda: timed(bare), args.pairs), None))
    rows.append(("workbench --help", "python -c pass",
                 *pairs(lambda: timed([*WORKBENCH, "--help"]), lambda: timed(bare), args.pairs), 1.5))
    shutil.rmtree(work)
    ok = True
    print(f"{'command':<40} {'median':>8}   {'baseline':<20} {'median':>8} {'ratio':>7} {'target':>7}")
    for name, base, ta, tb, ratio, target in rows:
        ok = ok and (target is None or ratio <= target)
        goal = "-" if target is None else f"{target:.1f}x"
        print(f"{name:<40} {ta * 1000:>6.0f}ms   {base:<20} {tb * 1000:>6.0f}ms {ratio:>6.2f}x {goal:>7}")
    print("OK" if ok else "over target")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
