"""Service entry points as written: the caller's auth, the route (method + path with `{params}`),
and what `check` says about them. The runtime side is workbench/runtime/service.py.

    [entrypoints.newHire]
    kind = "service"
    method = "POST"
    path = "/hires/{id}"
    auth = { type = "bearer", token = "${config.hookToken}" }   # | hmac (header, secret) | none
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HMAC_ALGORITHMS = ("sha256", "sha1", "sha512")
_PARAM = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%-]+$")  # RFC 3986 pchar, no `{}`


class _Auth(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BearerAuth(_Auth):
    type: Literal["bearer"]
    token: str  # usually "${config.hookToken}" (a secret configurable)


class HmacAuth(_Auth):
    """A signature of the raw body in a header, GitHub style: `X-Hub-Signature-256: sha256=<hex>`."""

    type: Literal["hmac"]
    secret: str
    header: str = "X-Hub-Signature-256"
    algorithm: Literal["sha256", "sha1", "sha512"] = "sha256"
    prefix: str | None = None  # default "<algorithm>=" ("" for a bare hex digest)


class NoAuth(_Auth):
    type: Literal["none"]


ServiceAuth = Annotated[BearerAuth | HmacAuth | NoAuth, Field(discriminator="type")]


def route_params(path: str) -> list[str]:
    """The `{names}` of a path, in order (no checks)."""
    return _PARAM.findall(path)


def route_shape(method: str, path: str) -> str:
    """Two routes with the same shape are the same route: `POST /hires/{}`."""
    return f"{method.upper()} {_PARAM.sub('{}', path.rstrip('/') or '/')}"


def path_problems(path: str) -> Iterator[str]:
    """What is wrong with a service path, in words."""
    if not path.startswith("/"):
        yield f"path {path!r} must start with /"
        return
    if "?" in path or "#" in path:
        yield f"path {path!r} cannot hold a query or fragment (the query is in ${{request.query}})"
        return
    seen: set[str] = set()
    for segment in path.strip("/").split("/") if path != "/" else []:
        if not segment or segment in (".", ".."):
            yield f"path {path!r} has an empty, . or .. segment"
            return
        names = _PARAM.findall(segment)
        if names:
            if len(names) > 1 or segment != "{" + names[0] + "}":
                yield f"path {path!r}: a parameter is a whole segment, like /hires/{{id}}"
                return
            name = names[0]
            if not _NAME.match(name):
                yield f"path {path!r}: {{{name}}} is not a valid parameter name (letters, digits and _)"
            elif name in seen:
                yield f"path {path!r} names the parameter {{{name}}} twice"
            seen.add(name)
        elif not _SEGMENT.match(segment):
            yield f"path {path!r}: segment {segment!r} has characters a URL path cannot hold unescaped"


def service_problems(project, *, host: str | None = None) -> Iterator[tuple[str, str, tuple, str]]:
    """(code, message, key path, severity) for the service entry points, and for service keys on
    automations. With `host` (what `serve` listens on), `auth = none` beyond loopback warns."""
    routes: dict[str, str] = {}
    for name, entry in project.entrypoints.items():
        yield from entry_service_problems(name, entry, routes, host=host)


def entry_service_problems(name: str, entry, routes: dict[str, str],
                           host: str | None = None) -> Iterator[tuple[str, str, tuple, str]]:
    """One entry point's part of `service_problems`; `routes` (shape -> name) holds the routes
    of the services before it, and gets its own (the entry-point forms pass the others')."""
    base = ("entrypoints", name)
    if entry.kind != "service":
        for key in ("method", "path", "auth", "sample"):
            if getattr(entry, key) is not None:
                yield "unknown-key", f"{key} is for a service (kind = \"service\"), not an automation", base + (key,), "error"
        return
    if entry.schedule is not None:
        yield "unknown-key", "a service runs per request and has no schedule", base + ("schedule",), "error"
    method = (entry.method or "POST").upper()
    if method not in METHODS:
        yield "bad-value", f"method {entry.method!r} must be one of {', '.join(METHODS)}", base + ("method",), "error"
    if entry.path is None:
        yield "missing-key", f"service {name} needs a path, such as \"/hires\"", base + ("path",), "error"
    else:
        problems = list(path_problems(entry.path))
        for message in problems:
            yield "bad-value", message, base + ("path",), "error"
        shape = route_shape(method, entry.path)
        if not problems and shape in routes:
            yield ("duplicate-route", f"{shape} is also the route of {routes[shape]}", base + ("path",), "error")
        routes.setdefault(shape, name)
    if entry.auth is None:
        message = f'service {name} needs auth: bearer, hmac, or none written out (auth = {{ type = "none" }})'
        yield "missing-key", message, base + ("auth",), "error"
    elif entry.auth.type == "none" and host is not None and not _loopback(host):
        yield ("auth-none", f"service {name} takes requests without auth on {host}, which is not loopback",
               base + ("auth",), "warning")
    else:
        yield from _auth_literal(entry.auth, base + ("auth",))


def _loopback(host: str) -> bool:
    from workbench.sandbox.server import (
        is_loopback,  # the sandbox's rule, the one definition
    )

    return is_loopback(host)


def _auth_literal(auth, base: tuple) -> Iterator[tuple[str, str, tuple, str]]:
    key = {"bearer": "token", "hmac": "secret"}.get(auth.type)
    value = getattr(auth, key, None) if key else None
    if value == "":
        yield "bad-value", f"auth {key} is empty", base + (key,), "error"
    elif isinstance(value, str) and "${" not in value:
        yield "literal-secret", f"{key} is written in workbench.toml; bind it to a secret configurable", base + (key,), "warning"


def request_type(entry):
    """The static type of `${request}` in a service's steps (for check and the editors)."""
    from workbench.project.static_types import ANY, STRING, Type

    strings = Type("object", values=STRING)
    params = Type("object", values=STRING, fields={name: STRING for name in route_params(entry.path or "")})
    return Type("object", fields={"method": STRING, "path": STRING, "params": params, "query": strings,
                                  "headers": strings, "body": ANY})
