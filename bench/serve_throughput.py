"""What does a service entry point cost per request, against a bare Starlette route?

One uvicorn, in its own process, serves both: `/bare` is a plain Starlette route that returns
`{"ok": true, "n": 1}`; everything else goes to the app `workbench serve` runs, whose service
(bearer auth) has a `set` and a `return` of the same JSON, each request a recorded run (events,
run history). 16 clients on keep-alive connections (a minimal HTTP/1.1 client, so the client's
own cost stays small) send N requests to one, then the other, alternating (bare, service,
service, bare) so noise weighs on both alike. Prints requests per second, p50 and p99 latency.
Target: the service ≥ 0.7× the bare route's throughput.

    .venv/bin/python bench/serve_throughput.py [--requests 4000] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token-7c1d2e"
PROJECT = '''
[integration]
name = "serve-bench"
[configurables.hookToken]
secret = true
[entrypoints.ping]
kind = "service"
method = "GET"
path = "/ping"
auth = { type = "bearer", token = "${config.hookToken}" }
[[entrypoints.ping.steps]]
set = "n"
value = 1
[[entrypoints.ping.steps]]
return = { ok = true, n = "${n}" }
'''


def server_main(root: str) -> None:
    """The server process: both apps on one uvicorn, port printed on stdout."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from workbench.project import ProjectStore
    from workbench.runtime.service import Services
    from workbench.serve.server import ServiceServer, bind

    async def bare(request):
        return JSONResponse({"ok": True, "n": 1})

    bare_app = Starlette(routes=[Route("/bare", bare)])
    services = Services(ProjectStore.open(root), overrides={"hookToken": TOKEN}, env={}, max_concurrency=256)
    server = ServiceServer(services, bind("127.0.0.1", 0), grace=1)
    service_app = server.server.config.app

    async def both(scope, receive, send):
        app = bare_app if scope.get("path") == "/bare" else service_app
        await app(scope, receive, send)

    server.server.config.app = both
    print(server.port, flush=True)
    asyncio.run(server.serve())


async def one_client(port: int, request: bytes, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"unexpected answer: {head[:60]!r}")
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def load(port: int, path: str, requests: int, clients: int) -> tuple[float, list[float]]:
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").encode()
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(one_client(port, request, requests // clients, latencies) for _ in range(clients)))
    return len(latencies) / (time.perf_counter() - started), latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--server", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.server:
        server_main(args.server)
        return 0
    root = Path(tempfile.mkdtemp(prefix="wb-serve-bench-"))
    (root / "workbench.toml").write_text(PROJECT, encoding="utf-8")
    server = [sys.executable, os.environ.get("WB_BENCH_SERVER", __file__), "--server", str(root)]
    proc = subprocess.Popen(server, stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        asyncio.run(load(port, "/bare", 400, args.clients))  # warm up both
        asyncio.run(load(port, "/ping", 400, args.clients))
        results: dict[str, list] = {"/bare": [], "/ping": []}
        for path in ("/bare", "/ping", "/ping", "/bare"):
            results[path].append(asyncio.run(load(port, path, args.requests // 2, args.clients)))
    finally:
        proc.terminate()
        proc.wait(10)
    figures = {}
    for path, runs in results.items():
        rps = statistics.mean(r for r, _ in runs)
        latencies = [x for _, lat in runs for x in lat]
        figures[path] = rps
        name = "bare Starlette route" if path == "/bare" else "service (set + return, bearer, history)"
        print(f"{name:<42} {rps:8.0f} req/s   p50 {pct(latencies, 0.5):6.2f} ms   p99 {pct(latencies, 0.99):6.2f} ms")
    ratio = figures["/ping"] / figures["/bare"]
    print(f"service / bare throughput: {ratio:.2f}x (target ≥ 0.7x) with {args.clients} clients")
    return 0 if ratio >= 0.7 else 1


if __name__ == "__main__":
    sys.exit(main())
