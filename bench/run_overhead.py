"""What does the engine cost on top of the work it drives?

(a) `bulk-onboarding` with N generated rows (default 1,000), run the way `workbench run` runs it
    (Engine + the CLI's EventPrinter + run history), against the sandbox in its own process; and a plain
    async httpx script doing the same POSTs at the same concurrency (8) against the same server.
    The two alternate (plain, engine, engine, plain, ...; 6 pairs) so noise and the server's growing
    store weigh on both alike. Prints the median of the pair-by-pair ratios of wall times, and
    their spread. Target ≤ 1.10.
(b) The engine's overhead per step: a foreach over 10,000 items, each a call to a no-op
    operation, minus the same 10,000 calls made directly on the connection. Target ≤ 50 µs.
(c) As (a) with 5,000 rows and the foreach's `errors = "collect"`, 1% of the rows existing
    already (their creates fail with 409 and are collected); the plain loop ignores the same 409s.
    Target ≤ 1.10. (Keeping the resume state is part of every engine pass.)
(d) Whole processes, as cron starts them: `workbench run` of bulk-onboarding (stdout to a file,
    no TTY) against a plain async httpx script doing the same POSTs at concurrency 8, at 1,000
    and 10,000 rows, alternating. Prints wall, CPU (user + system), peak RSS, the run history's
    bytes per item and the stdout bytes. Targets: wall ≤ 1.10×; CPU per created user ≤ 1.15×;
    ≤ 150 history bytes per succeeded item.

    .venv/bin/python bench/run_overhead.py [--rows 1000] [--steps 10000] [--collect-rows 5000] [--pairs 6]
        [--process-rows 1000,10000] [--only a|b|c|d]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import BaseModel, ConfigDict  # noqa: E402

from workbench.connectors import catalogue  # noqa: E402
from workbench.connectors.base import Connection, ConnectorSpec, OperationSpec  # noqa: E402
from workbench.project import ProjectStore  # noqa: E402
from workbench.runtime import Engine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CONCURRENCY = 8


# -- (a) bulk-onboarding vs plain httpx -----------------------------------------------------------


def write_rows(path: Path, prefix: str, rows: int) -> list[dict[str, str]]:
    departments = ["Engineering", "Sales", "Finance", "People", "Support"]
    out = [
        {"givenName": "Bench", "familyName": f"Hire{i}", "email": f"{prefix}-{i:05d}@example.com",
         "title": "Engineer", "department": departments[i % len(departments)], "startDate": "2026-12-01"}
        for i in range(rows)
    ]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(out[0]))
        writer.writeheader()
        writer.writerows(out)
    return out


def user_payload(row: dict[str, str]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": row["email"],
        "name": {"givenName": row["givenName"], "familyName": row["familyName"]},
        "emails": [{"value": row["email"], "type": "work", "primary": True}],
        "title": row["title"],
        "active": True,
        ENTERPRISE: {"department": row["department"]},
    }


def precreate(sb, rows: list[dict[str, str]], every: int) -> None:
    """Create every `every`-th row's user beforehand, so its create fails with 409 (not timed)."""
    import httpx

    with httpx.Client(timeout=30) as client:
        token = client.post(sb.token_url, data={"grant_type": "client_credentials"},
                            auth=(sb.client_id, sb.client_secret)).json()["access_token"]
        for row in rows[::every]:
            client.post(f"{sb.service_url}/Users", json=user_payload(row),
                        headers={"Authorization": f"Bearer {token}"}).raise_for_status()


def engine_pass(sb, rows: int, fail_every: int = 0, resumable: bool = True) -> float:
    """The sample as `workbench run` runs it; with `fail_every`, its foreach has
    `errors = "collect"` and every `fail_every`-th row already exists (a 409)."""
    from workbench.cli.run import EventPrinter, run_interruptible

    folder = Path(tempfile.mkdtemp(prefix="wb-bench-")) / "bulk"
    shutil.copytree(ROOT / "projects" / "bulk-onboarding", folder)
    data = write_rows(folder / "new-hires.csv", f"eng-{uuid.uuid4().hex[:6]}", rows)
    if fail_every:
        toml = folder / "workbench.toml"
        toml.write_text(toml.read_text(encoding="utf-8").replace("concurrency = 8\n", "concurrency = 8\nerrors = \"collect\"\n"),
                        encoding="utf-8")
        precreate(sb, data, fail_every)
    values = {"scimServiceUrl": sb.service_url, "scimTokenUrl": sb.token_url, "scimClientId": sb.client_id,
              "scimClientSecret": sb.client_secret}
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        started = time.perf_counter()
        store = ProjectStore.open(folder)
        result = run_interruptible(Engine(store, overrides=values, resumable=resumable), None, EventPrinter(devnull))
        elapsed = time.perf_counter() - started
    assert result.status == "succeeded", result.error
    assert result.failed_items == (len(data[::fail_every]) if fail_every else 0), result.failed_items
    shutil.rmtree(folder.parent)
    return elapsed


def plain_pass(sb, rows: int, fail_every: int = 0) -> float:
    import httpx

    folder = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    data = write_rows(folder / "rows.csv", f"plain-{uuid.uuid4().hex[:6]}", rows)
    if fail_every:
        precreate(sb, data, fail_every)

    async def main() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            token = (await client.post(sb.token_url, data={"grant_type": "client_credentials"},
                                       auth=(sb.client_id, sb.client_secret))).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
            with open(folder / "rows.csv", newline="", encoding="utf-8") as f:
                todo = iter(list(csv.DictReader(f)))

            async def worker() -> None:
                for row in todo:
                    response = await client.post(f"{sb.service_url}/Users", json=user_payload(row), headers=headers)
                    assert response.status_code == 201 or (fail_every and response.status_code == 409), response.text

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    assert len(data) == rows
    shutil.rmtree(folder)
    return elapsed


def alternating(engine, plain, pairs: int) -> tuple[float, float, list[float]]:
    """(median engine s, median plain s, the pair-by-pair ratios): pairs in the order plain,
    engine, engine, plain, ... so noise and the server's growing store weigh on both alike."""
    times_e, times_p = [], []
    for n in range(pairs):
        if n % 2:
            times_e.append(engine())
            times_p.append(plain())
        else:
            times_p.append(plain())
            times_e.append(engine())
    ratios = [e / p for e, p in zip(times_e, times_p)]
    return statistics.median(times_e), statistics.median(times_p), ratios


def report(title: str, engine: float, plain: float, ratios: list[float], rows: int) -> None:
    ratio = statistics.median(ratios)
    print(f"{title}, {len(ratios)} alternating pairs:")
    print(f"    workbench run  {engine:7.3f} s per pass  ({rows / engine:6.0f} rows/s)")
    print(f"    plain httpx    {plain:7.3f} s per pass  ({rows / plain:6.0f} rows/s)")
    print(f"    ratio          {ratio:7.3f}  median of {min(ratios):.3f}–{max(ratios):.3f}  "
          f"(target ≤ 1.10: {'ok' if ratio <= 1.10 else 'MISSED'})")


def bench_a(rows: int, pairs: int) -> None:
    from _sandbox_process import sandbox_process

    with sandbox_process() as sb:
        engine_pass(sb, 20)  # warm up imports and the server
        plain_pass(sb, 20)
        result = alternating(lambda: engine_pass(sb, rows), lambda: plain_pass(sb, rows), pairs)
        kept = alternating(lambda: engine_pass(sb, rows), lambda: engine_pass(sb, rows, resumable=False), pairs)[2]
    report(f"(a) bulk-onboarding, {rows} rows, concurrency {CONCURRENCY}", *result, rows)
    extra = statistics.median(kept) - 1
    print(f"    keeping the resume state adds {extra * 100:.1f}% to the run's wall time (median of "
          f"{len(kept)} alternating pairs; target ≤ 10%: {'ok' if extra <= 0.10 else 'MISSED'})")


def bench_c(rows: int, pairs: int) -> None:
    """A foreach with errors = "collect" where 1% of the creates fail (409), against a plain loop
    that sends the same POSTs and ignores the same 409s."""
    from _sandbox_process import sandbox_process

    with sandbox_process() as sb:
        engine_pass(sb, 20)
        result = alternating(lambda: engine_pass(sb, rows, 100), lambda: plain_pass(sb, rows, 100), pairs)
    report(f"(c) errors = \"collect\", {rows} rows, 1% failing (409), concurrency {CONCURRENCY}", *result, rows)


# -- (b) per-step overhead ------------------------------------------------------------------------


class NoopParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any = None


class NoopConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoopConnection(Connection):
    async def echo(self, params: NoopParams) -> Any:
        return params.value


NOOP = ConnectorSpec(
    id="noop", name="No-op", package="bench/noop", version="0", description="", category="Bench",
    connection=NoopConfig, operations={"echo": OperationSpec("echo", "Echo", "", NoopParams)},
    implementation=f"{__name__}:NoopConnection",
)

STEPS_PROJECT = """
[integration]
name = "overhead"

[configurables.count]
type = "int"
default = {steps}

[configurables.secret]
type = "string"
secret = true
default = "s3cret-value"

[connections.svc]
connector = "noop"

[entrypoints.main]
[[entrypoints.main.steps]]
set = "items"
value = {items}

[[entrypoints.main.steps]]
foreach = "${{items}}"
as = "n"
steps = [{{ call = "svc.echo", args = {{ value = "${{n}}" }} }}]
"""


def bench_b(steps: int) -> None:
    real_get = catalogue.get
    catalogue.get = lambda cid: NOOP if cid == "noop" else real_get(cid)
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-")) / "overhead"
    folder.mkdir()
    (folder / "workbench.toml").write_text(
        STEPS_PROJECT.format(steps=steps, items=list(range(steps))), encoding="utf-8")
    store = ProjectStore.open(folder)

    async def direct() -> float:
        conn = NoopConnection(NOOP, NoopConfig())
        started = time.perf_counter()
        for n in range(steps):
            await conn.call("echo", NoopParams(value=n))
        return time.perf_counter() - started

    def engine_time(history: bool, sink, resumable: bool = True) -> float:
        engine = Engine(store, history=history, resumable=resumable)
        engine.preflight("main")  # the one-off check is not per-step work
        started = time.perf_counter()
        result = asyncio.run(engine.run("main", sink))
        assert result.status == "succeeded"
        return time.perf_counter() - started

    events: list = []
    baseline = min(asyncio.run(direct()) for _ in range(3))
    print(f"(b) engine overhead per step, {steps} no-op call steps (best of 3, baseline: direct calls "
          f"{baseline / steps * 1e6:.1f} µs each):")
    best = {}
    for label, history, sink, resumable in (("no sink, no history", False, None, False),
                                            ("sink (counting events)", False, events.append, False),
                                            ("sink + run history, no resume state", True, events.append, False),
                                            ("sink + run history (as the CLI)", True, events.append, True)):
        best[label] = min(engine_time(history, sink, resumable) for _ in range(3))
        overhead = (best[label] - baseline) / steps * 1e6
        print(f"    {label:36} {overhead:6.1f} µs per step  (target ≤ 50: {'ok' if overhead <= 50 else 'MISSED'})")
        events.clear()
    extra = best["sink + run history (as the CLI)"] / best["sink + run history, no resume state"] - 1
    print(f"    keeping the resume state: {extra * 100:.1f}% of a run whose steps do nothing, the worst case "
          "((a) gives its share of a real run)")
    shutil.rmtree(folder.parent)


# -- (d) whole processes -------------------------------------------------------------------------

PLAIN_SCRIPT = """
import asyncio, csv, sys, httpx
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
service, token_url, client_id, secret, rows_file = sys.argv[1:]

async def main():
    async with httpx.AsyncClient(timeout=30) as client:
        token = (await client.post(token_url, data={"grant_type": "client_credentials"},
                                   auth=(client_id, secret))).json()["access_token"]
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"}
        with open(rows_file, newline="", encoding="utf-8") as f:
            todo = iter(list(csv.DictReader(f)))

        async def worker():
            for row in todo:
                body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                        "userName": row["email"], "name": {"givenName": row["givenName"], "familyName": row["familyName"]},
                        "emails": [{"value": row["email"], "type": "work", "primary": True}], "title": row["title"],
                        "active": True, ENTERPRISE: {"department": row["department"]}}
                response = await client.post(service + "/Users", json=body, headers=headers)
                assert response.status_code == 201, response.text

        await asyncio.gather(*(worker() for _ in range(8)))

asyncio.run(main())
"""


def measured(command: list[str], stdout_path: Path) -> dict[str, float]:
    """Wall, CPU and peak RSS of one child process (os.wait4: its own rusage)."""
    import subprocess

    with open(stdout_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:4]} exited {status}: {err[-800:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
            "stdout": stdout_path.stat().st_size}


def process_pass(sb, rows: int, kind: str) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-")) / "bulk"
    shutil.copytree(ROOT / "projects" / "bulk-onboarding", folder, ignore=shutil.ignore_patterns(".workbench"))
    write_rows(folder / "new-hires.csv", f"{kind}-{uuid.uuid4().hex[:6]}", rows)
    if kind == "plain":
        script = folder / "plain.py"
        script.write_text(PLAIN_SCRIPT, encoding="utf-8")
        command = [sys.executable, str(script), sb.service_url, sb.token_url, sb.client_id, sb.client_secret,
                   str(folder / "new-hires.csv")]
    else:
        command = [sys.executable, "-m", "workbench", "run", str(folder), "--set", f"scimServiceUrl={sb.service_url}",
                   "--set", f"scimTokenUrl={sb.token_url}", "--set", f"scimClientId={sb.client_id}",
                   "--set", f"scimClientSecret={sb.client_secret}"]
    figures = measured(command, folder.parent / "stdout.txt")
    history = sum(p.stat().st_size for p in (folder / ".workbench" / "runs").glob("*.jsonl")) if kind != "plain" else 0
    figures["history_per_item"] = history / rows
    shutil.rmtree(folder.parent)
    return figures


def bench_d(row_counts: list[int], passes: int = 2) -> None:
    import statistics

    from _sandbox_process import sandbox_process

    print(f"(d) whole processes, bulk-onboarding vs a plain async httpx script, concurrency {CONCURRENCY}, "
          f"{passes} alternating passes each (medians):")
    with sandbox_process() as sb:
        process_pass(sb, 20, "workbench")  # warm up the server and the file cache
        process_pass(sb, 20, "plain")
        for rows in row_counts:
            runs: dict[str, list[dict[str, float]]] = {"workbench": [], "plain": []}
            for n in range(passes):
                for kind in (("plain", "workbench") if n % 2 == 0 else ("workbench", "plain")):
                    runs[kind].append(process_pass(sb, rows, kind))
            med = {kind: {key: statistics.median(r[key] for r in results) for key in results[0]}
                   for kind, results in runs.items()}
            wb, plain = med["workbench"], med["plain"]
            print(f"    {rows:,} rows")
            for label, m in (("workbench run", wb), ("plain httpx", plain)):
                print(f"      {label:14} wall {m['wall']:7.2f} s  CPU {m['cpu']:6.2f} s "
                      f"({m['cpu'] / rows * 1e3:5.2f} ms per user)  peak RSS {m['rss']:6.1f} MB  "
                      f"stdout {m['stdout']:8,.0f} B")
            wall, cpu = wb["wall"] / plain["wall"], wb["cpu"] / plain["cpu"]
            print(f"      ratio          wall {wall:5.2f}× (target ≤ 1.10: {'ok' if wall <= 1.10 else 'MISSED'})  "
                  f"CPU {cpu:5.2f}× (target ≤ 1.15: {'ok' if cpu <= 1.15 else 'MISSED'})")
            per_item = wb["history_per_item"]
            print(f"      history        {per_item:6.1f} B per item (target ≤ 150: {'ok' if per_item <= 150 else 'MISSED'}; "
                  f"was 705 B)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--collect-rows", type=int, default=5_000)
    parser.add_argument("--pairs", type=int, default=6, help="alternating pairs of (a) and (c)")
    parser.add_argument("--process-rows", default="1000,10000", help="row counts of (d), comma-separated")
    parser.add_argument("--only", choices=["a", "b", "c", "d"])
    args = parser.parse_args()
    if args.only in (None, "b"):
        bench_b(args.steps)
    if args.only in (None, "a"):
        bench_a(args.rows, args.pairs)
    if args.only in (None, "c"):
        bench_c(args.collect_rows, args.pairs)
    if args.only in (None, "d"):
        bench_d([int(n) for n in args.process_rows.split(",") if n.strip()])


if __name__ == "__main__":
    main()
