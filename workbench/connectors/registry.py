"""The connector registry: built-in specs plus the `workbench.connectors` entry-point group.

Only metadata is imported here (each connector package's `__init__` exposes a light `SPEC`); the
implementation is imported by `spec.load()` when a run opens a connection. `get(id)` loads just
the one connector it names, as Harlequin loads one adapter: a built-in, or the entry point of
that name; every plugin is loaded only to list them all (`all_specs()`, the palette) or to
suggest a close id (`find(id)` never does: None for an unknown id).
"""

from __future__ import annotations

import difflib
import importlib
import threading
import warnings
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any

from workbench.connectors.base import ConnectorSpec

ENTRY_POINT_GROUP = "workbench.connectors"

# Built-ins, in catalogue order. They are also registered as entry points in pyproject, but must
# work from a source checkout without installation metadata, hence this list (deduped by id).
BUILTINS: dict[str, str] = {
    "scim": "workbench.connectors.scim:SPEC",
    "http": "workbench.connectors.http:SPEC",
    "file": "workbench.connectors.file:SPEC",
}


class ConnectorLoadWarning(UserWarning):
    """A third-party connector entry point could not be loaded and was skipped."""


class UnknownConnector(KeyError):
    """No connector with that id. `suggestions` holds close ids (difflib)."""

    def __init__(self, connector_id: str, suggestions: Sequence[str] = ()) -> None:
        self.connector_id = connector_id
        self.suggestions = list(suggestions)
        message = f"unknown connector {connector_id!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


# ---------------------------------------------------------------------------------------------
# Loading


_lock = threading.Lock()
_specs: list[ConnectorSpec] | None = None
_by_id: dict[str, ConnectorSpec] = {}
_loaded_one: dict[str, ConnectorSpec] = {}  # what get() loaded before any full discovery
_group: list[Any] | None = None  # the group's entry points, read once: each read parses every dist-info


def _load_ref(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _as_spec(obj: Any) -> ConnectorSpec:
    # An entry point names a ConnectorSpec; a zero-argument factory returning one is accepted too.
    if not isinstance(obj, ConnectorSpec) and callable(obj):
        obj = obj()
    if not isinstance(obj, ConnectorSpec):
        raise TypeError(f"expected a ConnectorSpec, got {type(obj).__name__}")
    return obj


def _entry_points() -> Iterable[Any]:
    global _group
    if _group is None:
        try:
            _group = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
        except Exception as exc:  # noqa: BLE001 - broken installation metadata must not crash
            warnings.warn(f"cannot read connector entry points: {exc}", ConnectorLoadWarning, stacklevel=3)
            return ()
    return _group


def _load_one(connector_id: str) -> ConnectorSpec | None:
    """The connector `connector_id` alone: a built-in, or the entry point of that name."""
    ref = BUILTINS.get(connector_id)
    if ref is not None:
        return _as_spec(_load_ref(ref))
    for ep in _entry_points():
        if getattr(ep, "name", None) == connector_id:
            try:
                spec = _as_spec(ep.load())
            except Exception:  # noqa: BLE001 - all_specs() warns about it
                return None
            return spec if spec.id == connector_id else None
    return None


def _discover() -> list[ConnectorSpec]:
    specs: list[ConnectorSpec] = []
    seen: dict[str, ConnectorSpec] = {}
    for ref in BUILTINS.values():
        spec = _as_spec(_load_ref(ref))  # a broken built-in is a bug: let it raise
        seen[spec.id] = spec
        specs.append(spec)
    third_party: list[ConnectorSpec] = []
    for ep in _entry_points():
        label = f"{getattr(ep, 'name', '?')} = {getattr(ep, 'value', '?')}"
        try:
            spec = _as_spec(ep.load())
        except Exception as exc:  # noqa: BLE001 - any plugin failure is skipped, never fatal
            warnings.warn(
                f"skipping connector entry point {label}: {type(exc).__name__}: {exc}",
                ConnectorLoadWarning,
                stacklevel=3,
            )
            continue
        other = seen.get(spec.id)
        if other is not None:
            if other is not spec and other.implementation != spec.implementation:
                warnings.warn(
                    f"skipping connector entry point {label}: id {spec.id!r} is already "
                    f"provided by {other.implementation}",
                    ConnectorLoadWarning,
                    stacklevel=3,
                )
            continue
        seen[spec.id] = spec
        third_party.append(spec)
    third_party.sort(key=lambda s: s.id)
    return specs + third_party


def all_specs() -> list[ConnectorSpec]:
    """Every connector: built-ins first (scim, http, file), then third-party ones by id."""
    global _specs, _by_id
    if _specs is None:
        with _lock:
            if _specs is None:
                found = _discover()
                _by_id = {s.id: s for s in found}
                _specs = found
    return list(_specs)


def refresh() -> None:
    """Forget the discovered specs and the cached index (e.g. after installing a plugin)."""
    global _specs, _by_id, _group
    with _lock:
        _specs = None
        _by_id = {}
        _group = None
        _loaded_one.clear()


def find(connector_id: str) -> ConnectorSpec | None:
    """The connector `connector_id`, or None; until all are discovered, it loads that one alone."""
    spec = _by_id.get(connector_id) or _loaded_one.get(connector_id)
    if spec is None and _specs is None:
        spec = _load_one(connector_id)
        if spec is not None:
            _loaded_one[connector_id] = spec
    return spec


def get(connector_id: str) -> ConnectorSpec:
    """The connector `connector_id`; UnknownConnector (with close ids: this discovers them all)."""
    spec = find(connector_id)
    if spec is not None:
        return spec
    all_specs()
    try:
        return _by_id[connector_id]
    except KeyError:
        pass
    ids = list(_by_id)
    lowered = {i.lower(): i for i in ids}
    if connector_id.lower() in lowered:
        suggestions = [lowered[connector_id.lower()]]
    else:
        suggestions = difflib.get_close_matches(connector_id, ids, n=3, cutoff=0.6)
        if not suggestions:
            suggestions = [
                lowered[m] for m in difflib.get_close_matches(connector_id.lower(), list(lowered), n=3, cutoff=0.5)
            ]
    raise UnknownConnector(connector_id, suggestions)
