"""How does `syncUsers` scale? A plan and an apply of N desired users against N existing ones.

Two identical populations of N users (default 10,000) are created in the sandbox, run in its own
process. The source changes 5% of them (a new title) and drops 1% (deactivated).
- plan: `syncUsers` with `planOnly` over population A, against listing the N users of population
  B with a plain httpx loop (same page size). Target ≤ 1.2×.
- apply: the plan applied to A (timed apart from planning it), against a plain httpx loop sending the same PATCH
  requests to B at the same concurrency; then more rounds (a new title for the same 5%), alternating,
  the median of the round-by-round ratios. Target ≤ 1.10×.
- the process's peak RSS after the plan. Target < 200 MB.

    .venv/bin/python bench/sync_scale.py [--users 10000] [--concurrency 8] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from workbench.connectors.scim import SPEC, SyncParams  # noqa: E402
from workbench.connectors.scim.payload import _kind  # noqa: E402
from _sandbox_process import sandbox_process  # noqa: E402

PAGE = 100
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def person(prefix: str, i: int, title: str = "Engineer") -> dict:
    return {"userName": f"{prefix}{i:05d}@example.com", "externalId": f"{prefix}{i:05d}", "title": title,
            "name": {"givenName": "Given", "familyName": f"Family{i}"}, "active": True}


async def plain(sb) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=sb.service_url + "/", timeout=60)
    token = (await client.post(sb.token_url, data={"grant_type": "client_credentials"},
                               auth=(sb.client_id, sb.client_secret))).json()["access_token"]
    client.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    return client


async def gather_limited(concurrency: int, jobs) -> None:
    queue = iter(jobs)

    async def worker() -> None:
        for job in queue:
            await job()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def populate(client: httpx.AsyncClient, prefix: str, n: int) -> None:
    async def create(i: int) -> None:
        body = json.dumps({"schemas": [USER_SCHEMA], **person(prefix, i)}).encode()
        response = await client.post("Users", content=body)
        response.raise_for_status()

    await gather_limited(8, (lambda i=i: create(i) for i in range(n)))


async def list_all(client: httpx.AsyncClient, prefix: str) -> list[dict]:
    out, start = [], 1
    while True:
        page = (await client.get("Users", params={"filter": f'externalId sw "{prefix}"', "startIndex": start,
                                                  "count": PAGE})).json()
        items = page.get("Resources") or []
        out += items
        start += len(items)
        if not items or start > page["totalResults"]:
            return out


def desired(prefix: str, n: int) -> tuple[list[dict], set[int], set[int]]:
    changed = set(range(0, n, 20))  # 5%
    gone = set(range(7, n, 100))  # 1%
    people = [person(prefix, i, "Lead" if i in changed else "Engineer") for i in range(n) if i not in gone]
    return people, changed - gone, gone


async def run(n: int, concurrency: int, rounds: int) -> bool:
    with sandbox_process() as sb:
        client = await plain(sb)
        started = time.perf_counter()
        await asyncio.gather(populate(client, "A", n), populate(client, "B", n))
        print(f"set-up: {2 * n} users created in {time.perf_counter() - started:.1f} s")
        config = SPEC.connection.model_validate({
            "serviceUrl": sb.service_url, "pageSize": PAGE,
            "auth": {"type": "oauth2-client-credentials", "tokenUrl": sb.token_url, "clientId": sb.client_id,
                     "clientSecret": sb.client_secret}})
        conn = SPEC.load()(SPEC, config)
        people, changed, gone = desired("A", n)
        params = {"desired": people, "scope": 'externalId sw "A"', "matchOn": "externalId", "concurrency": concurrency}

        started = time.perf_counter()
        plan = await conn.syncUsers({**params, "planOnly": True})
        plan_s = time.perf_counter() - started
        # The apply of that plan, timed alone (syncUsers without planOnly plans again first).
        sync_params = conn.params(params, SyncParams)
        ready = await conn.reconciler.plan("User", sync_params)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        listed = await list_all(client, "B")
        list_s = time.perf_counter() - started
        assert plan["counts"]["update"] == len(changed) and plan["counts"]["deprovision"] == len(gone), plan["counts"]

        ids = {u["externalId"]: u["id"] for u in listed}
        apply_times, plain_times = [], []
        for round_ in range(rounds):
            # Round 0 applies the plan above (updates and deactivations); each later round plans a
            # new title for the same 5%, so apply and plain loop alternate on equal work.
            if round_:
                title = f"Lead{round_}"
                people = [person("A", i, title if i in changed else "Engineer") for i in range(n) if i not in gone]
                sync_params = conn.params({**params, "desired": people}, SyncParams)
                ready = await conn.reconciler.plan("User", sync_params)
                assert ready.counts["update"] == len(changed), ready.counts
            else:
                title = "Lead"
            started = time.perf_counter()
            failed = await conn.reconciler.apply(_kind("User"), ready, sync_params)
            apply_times.append(time.perf_counter() - started)
            assert not failed, failed[:3]

            async def patch(key: str, ops: list[dict]) -> None:
                response = await client.patch(f"Users/{ids[key]}", content=json.dumps(
                    {"schemas": [PATCH_OP], "Operations": ops}).encode())
                response.raise_for_status()

            jobs = [lambda k=f"B{i:05d}": patch(k, [{"op": "replace", "path": "title", "value": title}]) for i in changed]
            if not round_:
                jobs += [lambda k=f"B{i:05d}": patch(k, [{"op": "replace", "path": "active", "value": False}])
                         for i in gone]
            started = time.perf_counter()
            await gather_limited(concurrency, jobs)
            plain_times.append(time.perf_counter() - started)
        await conn.aclose()
        await client.aclose()

    print("rounds:", " ".join(f"{a / b:.2f}" for a, b in zip(apply_times, plain_times)))
    apply_s, plain_apply_s = statistics.median(apply_times), statistics.median(plain_times)
    plan_ratio = plan_s / list_s
    apply_ratio = statistics.median(a / b for a, b in zip(apply_times, plain_times))
    print(f"{'what':<28} {'workbench':>10} {'plain httpx':>12} {'ratio':>7} {'target':>7}")
    print(f"{'plan vs listing':<28} {plan_s:>9.2f}s {list_s:>11.2f}s {plan_ratio:>6.2f}x {'1.20x':>7}")
    print(f"{'apply vs the same PATCHes':<28} {apply_s:>9.2f}s {plain_apply_s:>11.2f}s {apply_ratio:>6.2f}x {'1.10x':>7}")
    print(f"peak RSS after the plan: {rss_mb:.0f} MB (target < 200 MB); {len(changed)} updates, {len(gone)} deactivations")
    ok = plan_ratio <= 1.2 and apply_ratio <= 1.10 and rss_mb < 200
    print("OK" if ok else "over target")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=7, help="apply rounds, alternating with the plain loop")
    args = parser.parse_args(argv)
    return 0 if asyncio.run(run(args.users, args.concurrency, args.rounds)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
