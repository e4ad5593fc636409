"""Service entry points at run time: an HTTP request becomes a run, its `return` the response.
Headless (no Starlette here): workbench/serve/ adapts ASGI to `Services`.

    services = Services(store, sink_for=..., notify=print)
    match = services.route("POST", "/hires", headers)     # a Match, or a Response (404, 405, 401)
    response = await services.respond(match, request)     # hmac, body parsing, the run, the answer

A version is one checked state of the project (`ServiceVersion`); `poll()` loads a new one when
the files change and keeps the old one while the new one has errors. Requests in flight finish
on the version they started with.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from workbench.runtime import events as ev
from workbench.runtime.engine import Engine, PreflightError, RunResult
from workbench.runtime.nodes import compile_entry

SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie")  # masked in events and history
_JSON = json.JSONEncoder(ensure_ascii=False, default=str)


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: str = ""  # the raw query string
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    entry: str | None = None


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body = _JSON.encode({"error": {"message": message, **extra}}).encode()
    return Response(status, body, {"content-type": "application/json", **(headers or {})})


@dataclass(slots=True)
class Route:
    entry: str
    method: str
    path: str
    pattern: re.Pattern
    auth: Any  # project.service BearerAuth | HmacAuth | NoAuth
    secret: str = ""  # the bearer token or hmac secret, resolved
    masked: bool = False  # the secret is a secret configurable's value: the run masks it already
    compiled: tuple | None = None  # (steps, onError) nodes, compiled once per version, not per request


@dataclass(slots=True)
class Match:
    route: Route
    params: dict[str, str]
    version: ServiceVersion


class ServiceError(Exception):
    """A project version that cannot serve; `store` is the one to watch for the next change."""

    def __init__(self, message: str, store=None, diagnostics: list | None = None) -> None:
        super().__init__(message)
        self.store = store
        self.diagnostics = diagnostics or []


def compile_path(path: str) -> re.Pattern:
    pattern = "".join(f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
                      for part in re.split(r"(\{[^{}]*\})", path.rstrip("/") or "/"))
    return re.compile(pattern + "/?$" if pattern != "/" else "/$")


class ServiceVersion:
    """The project as checked once: its routes and resolved auth. Raises ServiceError."""

    def __init__(self, store, *, overrides=None, env=None, memory=None, host: str | None = None) -> None:
        from workbench.project.diagnostics import check, has_errors
        from workbench.project.expressions import ExpressionError, render

        self.store, self.overrides, self.env, self.memory = store, dict(overrides or {}), env, memory
        self.diagnostics = check(store, env=env, overrides=overrides, memory=memory, host=host)
        if has_errors(self.diagnostics):
            raise ServiceError(first_error(self.diagnostics), store, self.diagnostics)
        resolved = store.resolve_config(env=env, overrides=overrides, memory=memory)
        self.config = _Resolved(resolved)
        config, masked = self.config.values, self.config.masks
        self.routes: list[Route] = []
        self.engine: Engine | None = None  # made by Services for its requests
        for name, entry in store.project.entrypoints.items():
            if entry.kind != "service":
                continue
            route = Route(name, (entry.method or "POST").upper(), entry.path, compile_path(entry.path), entry.auth,
                          compiled=compile_entry(store.project, name))
            key = {"bearer": "token", "hmac": "secret"}.get(entry.auth.type)
            if key:
                try:
                    secret = render(getattr(entry.auth, key), {"config": config})
                except ExpressionError as exc:
                    raise ServiceError(f"{name}: auth {key}: {exc}", store) from None
                if not isinstance(secret, str) or not secret:
                    raise ServiceError(f"{name}: auth {key} has no value", store)
                route.secret, route.masked = secret, secret in masked.secrets
            self.routes.append(route)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | Response:
        allowed = []
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict()
            allowed.append(route.method)
        if allowed:
            return error_response(405, f"{method} is not allowed on {path}", {"allow": ", ".join(allowed)})
        return error_response(404, f"no service at {path}")


def first_error(diagnostics) -> str:
    for d in diagnostics:
        if d.severity == "error":
            where = f"{d.location()}: " if d.file and d.line else ""
            return f"{where}{d.message}"
    return "the project cannot serve"


class Services:
    """Every service entry point of a project, with a bound on the requests in flight."""

    def __init__(self, store, *, overrides: Mapping[str, str] | None = None, env=None, memory=None,
                 host: str | None = None, max_concurrency: int = 64,
                 sink_for: Callable[[str], Any] | None = None, notify: Callable[[str], None] | None = None) -> None:
        self.options = {"overrides": overrides, "env": env, "memory": memory, "host": host}
        self.version = ServiceVersion(store, **self.options)  # raises ServiceError
        self.max_concurrency = max_concurrency
        self.in_flight = 0
        self.sink_for = sink_for or (lambda name: None)
        self.notify = notify or (lambda text: None)
        self._notify_requests = notify is not None  # the line per request costs a short run ~3 µs
        self._failed_store = None  # the last version that had errors: watched for the next change
        from workbench.runtime.segments import BackgroundWriter

        self.history = BackgroundWriter()

    def close(self) -> None:
        """Write the history still queued (call once the requests have ended)."""
        self.history.stop()

    # -- versions --
    def poll(self) -> bool:
        """Load a new version if the files changed. True when the routes changed."""
        from workbench.project import ProjectFileError, ProjectStore

        watched = self._failed_store or self.version.store
        try:
            if not watched.changed_on_disk():
                return False
            store = ProjectStore.open(self.version.store.root, config_file=self._config_file())
            self.version = ServiceVersion(store, **self.options)
        except (ServiceError, ProjectFileError, OSError) as exc:
            self._failed_store = getattr(exc, "store", None) or _Unchanged(watched)
            self.notify(f"not reloaded, still serving the previous version: {exc}")
            return False
        self._failed_store = None
        self.notify(f"reloaded: {', '.join(f'{r.method} {r.path}' for r in self.version.routes) or 'no services'}")
        return True

    def prune_history(self) -> None:
        """Once in a while rather than per request: listing the runs costs more than a run."""
        from workbench.runtime.history import prune

        prune(self.version.store.root)
        problems, self.history.problems = self.history.problems, []
        if problems:
            self.notify(f"warning: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))

    def _config_file(self):
        path = self.version.store.config_file.path
        return path if path != self.version.store.root / "Config.toml" else None

    # -- a request --
    def route(self, method: str, path: str, headers: Mapping[str, str]) -> Match | Response:
        """Which service, and the bearer check (before the body is read). 404, 405 or 401."""
        version = self.version
        found = version.match(method.upper(), path)
        if isinstance(found, Response):
            return found
        route, params = found
        if route.auth.type == "bearer" and not bearer_ok(headers.get("authorization", ""), route.secret):
            return error_response(401, "a valid bearer token is required", {"www-authenticate": "Bearer"})
        return Match(route, params, version)

    def acquire(self) -> bool:
        if self.in_flight >= self.max_concurrency:
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight -= 1

    async def respond(self, match: Match, request: Request) -> Response:
        route, version = match.route, match.version
        if route.auth.type == "hmac":
            given = request.headers.get(route.auth.header.lower(), "")
            if not hmac_ok(given, request.body, route.secret, route.auth.algorithm, route.auth.prefix):
                return error_response(401, f"a valid {route.auth.header} signature of the body is required")
        try:
            body = parse_body(request.body, request.headers.get("content-type", ""))
        except ValueError as exc:
            return error_response(400, str(exc))
        scope = {"request": {"method": request.method, "path": request.path, "params": match.params,
                             "query": dict(parse_qsl(request.query, keep_blank_values=True)) if request.query else {},
                             "headers": request.headers, "body": body}}
        secrets = [route.secret] if route.secret and not route.masked else []
        for name in SECRET_HEADERS:
            value = request.headers.get(name)
            # A bearer header that passed holds the token, masked already ("Bearer ••••").
            if value and not (name == "authorization" and route.auth.type == "bearer"):
                secrets += [value, value.partition(" ")[2]]  # the header and its credential alone
        engine = version.engine
        if engine is None:  # one per version: an engine keeps no run state when it is not cancellable
            # No resume state (the request is gone by then); the history is written by one thread
            # and pruned by prune_history().
            engine = version.engine = Engine(
                version.store, overrides=version.overrides, env=version.env, memory=version.memory,
                resumable=False, cancellable=False, history_options={"prune": False, "background": self.history})
        started = time.perf_counter() if self._notify_requests else 0.0
        try:
            result = await engine.run(route.entry, self.sink_for(route.entry), scope=scope, secrets=tuple(secrets),
                                      checked=True, trigger={"method": request.method, "path": request.path},
                                      config=version.config, compiled=route.compiled)
        except PreflightError as exc:  # the project changed under this version
            return error_response(503, f"the service cannot run: {exc}")
        response = response_of(result)
        response.entry = route.entry
        if not self._notify_requests:
            return response
        took = (time.perf_counter() - started) * 1000
        self.notify(f"{route.entry}: {request.method} {request.path} → {response.status} in {took:.0f} ms "
                    f"(run {result.run_id})")
        return response


class _Resolved:
    """A version's configurable values, resolved once: building a redactor costs more than a
    short run, so each run gets a copy of one (a run adds to its own)."""

    def __init__(self, resolved) -> None:
        self.values = resolved.scope()
        self.masks = resolved.redactor()

    def scope(self) -> dict[str, Any]:
        return self.values

    def redactor(self):
        return self.masks.copy()


class _Unchanged:
    """Watches the files a failed reload read, when it could not even open a store."""

    def __init__(self, store) -> None:
        self.store = store
        self.stamp = _stamp(store)

    def changed_on_disk(self) -> bool:
        return _stamp(self.store) != self.stamp


def _stamp(store) -> tuple:
    out = []
    for f in (store.project_file, store.config_file):
        try:
            stat = f.path.stat()
            out.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


# -- auth ---------------------------------------------------------------------------------------


def bearer_ok(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    # compare_digest: the time taken does not tell how much of the token matched.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def hmac_ok(header: str, body: bytes, secret: str, algorithm: str = "sha256", prefix: str | None = None) -> bool:
    expected = (f"{algorithm}=" if prefix is None else prefix) + hmac.new(secret.encode(), body, algorithm).hexdigest()
    return bool(header) and hmac.compare_digest(header.strip().lower().encode(), expected.lower().encode())


def sign(body: bytes, secret: str, algorithm: str = "sha256", prefix: str | None = None) -> str:
    """The header value a caller sends (for tests and docs)."""
    return (f"{algorithm}=" if prefix is None else prefix) + hmac.new(secret.encode(), body, algorithm).hexdigest()


# -- bodies ---------------------------------------------------------------------------------------


def parse_body(raw: bytes, content_type: str) -> Any:
    """JSON, a form (as a table of strings) or text, by content type; None when empty."""
    if not raw:
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"the body is not valid JSON: {getattr(exc, 'msg', 'nested too deep')}") from None
    text = raw.decode("utf-8", errors="replace")
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(text, keep_blank_values=True))
    return text


def response_of(result: RunResult) -> Response:
    """The answer to the caller: the `return` (of the flow, or of the Error Handler), else 204
    when the flow returned nothing, else the error: 500, or a `fail` step's 4xx. Built from the
    redacted result and error; never a stack trace."""
    if result.status == ev.CANCELLED:
        return error_response(503, "the run was cancelled (the service is stopping)", {"retry-after": "1"},
                              run=result.run_id)
    failed = result.status != ev.SUCCEEDED
    if result.result is not None:
        response = shaped(result.result, 500 if failed else 200)
    elif not failed:
        response = Response(204)
    else:
        error = result.error or {}
        status = error.get("status")
        code = status if error.get("type") == "Fail" and isinstance(status, int) and 400 <= status < 500 else 500
        facts = {k: error[k] for k in ("type", "step", "item", "scimType") if error.get(k) is not None}
        response = error_response(code, str(error.get("message", "the run failed")), **facts)
    response.run_id = result.run_id
    response.headers.setdefault("x-workbench-run", result.run_id)
    return response


_SHAPE = frozenset({"status", "headers", "body"})


def shaped(value: Any, default_status: int) -> Response:
    """`{ status, headers, body }` (any of them), or a plain value as the body."""
    if isinstance(value, dict) and value and _SHAPE.issuperset(value) and (
            isinstance(value.get("status", 200), int) and not isinstance(value.get("status"), bool)
            and isinstance(value.get("headers", {}), dict)):
        status, headers, body = value.get("status", default_status), value.get("headers", {}), value.get("body")
    else:
        status, headers, body = default_status, {}, value
    if not 100 <= status <= 599:
        return error_response(500, f"the service returned status {status}, which is not an HTTP status")
    headers = {str(k).lower(): str(v) for k, v in headers.items()
               if str(k).lower() not in ("content-length", "transfer-encoding", "connection")} if headers else {}
    if body is None:
        return Response(status, b"", headers)
    if isinstance(body, str):
        headers.setdefault("content-type", "text/plain; charset=utf-8")
        return Response(status, body.encode(), headers)
    headers.setdefault("content-type", "application/json")
    return Response(status, _JSON.encode(body).encode(), headers)

