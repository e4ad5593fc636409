"""`workbench serve DIR [--host 127.0.0.1] [--port 8290] [--allow-remote] [--max-concurrency N]
[--max-body BYTES] [--grace SECONDS] [--set k=v] [--config FILE] [--json] [-v]`

Serves every service entry point (kind = "service") on uvicorn. Each request is a run, printed
live like `workbench run` (prefixed with the entry's name) and recorded in the run history. The
project is reloaded when its files change; while the new version has errors the old one keeps
serving. SIGINT or SIGTERM drains the requests in flight for --grace seconds; a second signal
cancels them. Exit codes: 0 stopped cleanly, 1 cannot listen, 2 nothing to serve or an invalid
project or usage.
"""

from __future__ import annotations

import signal
import sys

from workbench.cli import EXIT_OK, EXIT_USAGE
from workbench.cli.common import CliError, add_dir, open_store, parse_sets, port, run_guarded

DEFAULT_PORT = 8290


def configure(parser) -> None:
    add_dir(parser)
    add_options(parser)


def add_options(parser) -> None:
    """The options of `serve`, shared with `up`."""
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default: 127.0.0.1; loopback only)")
    parser.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    parser.add_argument("--max-concurrency", type=int, default=64, metavar="N",
                        help="requests run at once; more get 503 with Retry-After (default: 64)")
    parser.add_argument("--max-body", type=int, default=1024 * 1024, metavar="BYTES",
                        help="the largest request body; a larger one gets 413 (default: 1 MiB)")
    parser.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                        help="on stop, how long requests in flight may take to finish (default: 30)")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", help="a configurable value for every run")
    parser.add_argument("--config", metavar="FILE", help="read configurable values from FILE instead of Config.toml")
    parser.add_argument("--json", action="store_true", help="print the runs' events as JSON Lines (notes go to stderr)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also print the HTTP exchanges")


def run(args) -> int:
    return run_guarded(_run, args)


def _run(args) -> int:
    import asyncio

    store = open_store(args.dir, args.config)
    server = build(args, store, notes_for(args))
    if server is None:
        print(f"{store.name}: no entry point is a service (kind = \"service\")", file=sys.stderr)
        return EXIT_USAGE

    async def main() -> None:
        on_signals(server.stop)
        await server.serve()

    asyncio.run(main())
    notes_for(args)("stopped")
    return EXIT_OK


def notes_for(args):
    stream = sys.stderr if args.json else sys.stdout

    def notify(text: str) -> None:
        print(f"[serve] {text}", file=stream, flush=True)

    return notify


def build(args, store, notify):
    """The server of the project's services, listening; None when it has none. Raises CliError."""
    from workbench.runtime.service import ServiceError, Services
    from workbench.sandbox.server import is_loopback

    if not any(entry.kind == "service" for entry in store.project.entrypoints.values()):
        return None
    if not args.allow_remote and not is_loopback(args.host):
        raise CliError(f"serve listens on loopback only (127.0.0.0/8, localhost, ::1), not {args.host!r}; "
                       "pass --allow-remote to listen on another address")
    if args.max_concurrency < 1 or args.max_body < 0:
        raise CliError("--max-concurrency must be 1 or more, and --max-body 0 or more")

    try:
        services = Services(store, overrides=parse_sets(args.set), host=args.host,
                            max_concurrency=args.max_concurrency, sink_for=printers(args), notify=notify)
    except ServiceError as exc:
        if not exc.diagnostics:
            raise CliError(f"{store.name}: nothing is served: {exc}") from None
        from workbench.cli.check import print_diagnostics

        print_diagnostics(exc.diagnostics, store, stream=sys.stderr if args.json else sys.stdout)
        raise CliError(f"{store.name}: nothing is served") from None
    for d in services.version.diagnostics:
        if d.severity == "warning":
            notify(f"warning: {d.message}")
    from workbench.serve.server import ServiceServer, bind

    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1) from None
    server = ServiceServer(services, sock, grace=args.grace, max_body=args.max_body)
    host = f"[{args.host}]" if ":" in args.host else args.host
    for route in services.version.routes:
        notify(f"{route.entry}: {route.method} http://{host}:{server.port}{route.path} (auth {route.auth.type})")
    return server


def printers(args):
    """Each run's events printed live, prefixed with its entry's name (several share the output)."""
    from workbench.cli.run import EventPrinter

    def sink_for(name: str):
        return EventPrinter(sys.stdout, verbose=args.verbose, json_lines=args.json, prefix=f"[{name}] ")

    return sink_for


def on_signals(stop) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
