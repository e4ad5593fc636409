"""How much does the SCIM connector cost over plain httpx?

Provisions N users (default 1,000) through `ScimConnection.createUser` (validation with
scim2-models, OAuth2 client-credentials auth, retries, exchange reporting) at concurrency 1 and 8
against the sandbox in its own process (as `workbench sandbox` runs it), and the same POSTs from a plain `httpx.AsyncClient` loop (a bearer
token fetched once) at the same concurrency against the same server. The two alternate in small
chunks, so machine noise and the server's growing store weigh on both alike. Target: connector
time ≤ 1.10 × plain.

    /tmp/venv/bin/python bench/scim_throughput.py [--users 1000] [--chunk 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from workbench.connectors.scim import SPEC  # noqa: E402
from _sandbox_process import SandboxProcess as Sandbox, sandbox_process  # noqa: E402

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
TARGET = 1.10


def payload(prefix: str, i: int) -> dict:
    return {
        "userName": f"{prefix}-{i:05d}",
        "name": {"givenName": "Bench", "familyName": f"User{i}"},
        "emails": [{"value": f"{prefix}-{i}@example.com", "type": "work", "primary": True}],
        "active": True,
    }


async def _workers(indices: range, concurrency: int, one) -> None:
    counter = iter(indices)

    async def worker() -> None:
        for i in counter:
            await one(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def connector_client(sb: Sandbox):
    """A ScimConnection with OAuth2 client credentials, as a run would open it."""
    config = SPEC.connection.model_validate(
        {
            "serviceUrl": sb.service_url,
            "auth": {
                "type": "oauth2-client-credentials",
                "tokenUrl": sb.token_url,
                "clientId": sb.client_id,
                "clientSecret": sb.client_secret,
            },
        }
    )
    exchanges: list[tuple] = []
    conn = SPEC.load()(SPEC, config, on_exchange=lambda *a: exchanges.append(a))
    await conn.getServiceProviderConfig()  # warm up the pool (this request needs no token)
    prefix = f"c-{uuid.uuid4().hex[:8]}"

    async def one(i: int) -> None:
        await conn.createUser({"payload": payload(prefix, i)})

    return one, conn.aclose


async def plain_client(sb: Sandbox):
    """A plain httpx loop: a bearer token fetched once, then bare POSTs."""
    client = httpx.AsyncClient(base_url=sb.service_url + "/", timeout=30)
    response = await client.post(
        sb.token_url, data={"grant_type": "client_credentials"}, auth=(sb.client_id, sb.client_secret)
    )
    headers = {
        "Authorization": f"Bearer {response.json()['access_token']}",
        "Content-Type": "application/scim+json",
        "Accept": "application/scim+json, application/json",
    }
    await client.get("ServiceProviderConfig")
    prefix = f"p-{uuid.uuid4().hex[:8]}"

    async def one(i: int) -> None:
        body = {"schemas": [USER_SCHEMA], **payload(prefix, i)}
        response = await client.post("Users", content=json.dumps(body).encode(), headers=headers)
        if response.status_code != 201:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        response.json()

    return one, client.aclose


async def compare(sb: Sandbox, n: int, concurrency: int, chunk: int) -> dict[str, Any]:
    """Both clients against the same server, in alternating chunks (so a noisy neighbour or the
    growing store hurts both alike). Returns each one's total seconds and the chunk-by-chunk
    ratios (connector / plain, each pair measured back to back)."""
    clients = {"plain": await plain_client(sb), "connector": await connector_client(sb)}
    # The first createUser fetches the OAuth2 token: do it outside the timed chunks, for both.
    for one, _ in clients.values():
        await one(n + 1)
    totals = {"plain": 0.0, "connector": 0.0}
    ratios: list[float] = []
    try:
        for k, first in enumerate(range(0, n, chunk)):
            indices = range(first, min(first + chunk, n))
            order = ("plain", "connector") if k % 2 == 0 else ("connector", "plain")
            took = {}
            for kind in order:
                started = time.perf_counter()
                await _workers(indices, concurrency, clients[kind][0])
                took[kind] = time.perf_counter() - started
                totals[kind] += took[kind]
            ratios.append(took["connector"] / took["plain"])
    finally:
        for _, close in clients.values():
            await close()
    return {**totals, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=25, help="users per alternating chunk")
    args = parser.parse_args(argv)
    n = args.users
    ok = True
    print(
        f"{n} users per client and concurrency, in alternating chunks of {args.chunk}, "
        f"sandbox in its own process (fresh per concurrency); target ratio ≤ {TARGET:.2f}"
    )
    print(f"{'concurrency':>11}  {'plain users/s':>13}  {'connector users/s':>17}  {'total ratio':>11}  {'median chunk ratio':>18}")
    for concurrency in (1, 8):
        with sandbox_process() as sb:
            result = asyncio.run(compare(sb, n, concurrency, args.chunk))
        plain, conn = result["plain"], result["connector"]
        median = statistics.median(result["ratios"])
        ok = ok and median <= TARGET
        print(f"{concurrency:>11}  {n / plain:>13.0f}  {n / conn:>17.0f}  {conn / plain:>10.2f}x  {median:>17.2f}x")
    print("(the target applies to the median of the chunk ratios: each pair runs back to back, so a")
    print(" burst of load from other processes skews one pair, not the verdict)")
    print("OK" if ok else f"over target ({TARGET:.2f}x)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
