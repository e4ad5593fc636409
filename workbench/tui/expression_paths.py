"""The `${request...}` paths a service's steps can use, offered as completions in the step form's
fields (beside `${config.NAME}`). Built from the entry point as the files have it: the route's
`{params}`, the usual headers, and the keys of its `sample` body."""

from __future__ import annotations

from typing import Any

from workbench.project.service import route_params

HEADERS = ("content-type", "user-agent", "x-request-id")
MAX_BODY_PATHS = 60  # a big sample offers its first keys, not thousands


def request_paths(entry: dict[str, Any]) -> tuple[str, ...]:
    """`${request.body.email}`, `${request.params.id}`, ...; () for an automation."""
    if not isinstance(entry, dict) or entry.get("kind") != "service":
        return ()
    paths = ["request.body", *(f"request.body.{key}" for key in _keys(entry.get("sample"))),
             *(f"request.params.{name}" for name in route_params(str(entry.get("path") or ""))),
             "request.query", *(f"request.headers.{name}" for name in HEADERS),
             "request.method", "request.path"]
    auth = entry.get("auth")
    if isinstance(auth, dict) and auth.get("type") == "hmac":
        paths.append(f"request.headers.{str(auth.get('header') or 'X-Hub-Signature-256').lower()}")
    return tuple(f"${{{path}}}" for path in paths[:MAX_BODY_PATHS])


def _keys(value: Any, prefix: str = "") -> list[str]:
    """Dotted keys of a sample, nested tables included (not list items)."""
    if not isinstance(value, dict):
        return []
    out: list[str] = []
    for key, item in value.items():
        dotted = f"{prefix}{key}"
        out.append(dotted)
        out += _keys(item, dotted + ".")
    return out


def suggestions(widget: Any, configurables: tuple[str, ...]) -> list[str]:
    """What a field of a form offers: its configurables, then the form's own paths (a service's
    step form sets `expression_paths`)."""
    try:
        extra = tuple(getattr(widget.screen, "expression_paths", ()))
    except Exception:  # noqa: BLE001 - not on a screen yet
        extra = ()
    return [f"${{config.{name}}}" for name in configurables] + list(extra)
