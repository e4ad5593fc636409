"""The connector catalogue, one import for its three parts: the registry (`registry`: which
connectors exist, loaded by id), the search (`search`: the palette's ranking) and the schema
introspection (`introspect`: fields, types and secrets of a connector's models).

The search and the introspection are imported when first named (`catalogue.search`): `run` and
`check` only look connectors up by id."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from workbench.connectors.registry import (
    BUILTINS,
    ENTRY_POINT_GROUP,
    ConnectorLoadWarning,
    UnknownConnector,
    all_specs,
    find,
    get,
)
from workbench.connectors.registry import refresh as _refresh_registry

if TYPE_CHECKING:
    from workbench.connectors.introspect import describe_fields, type_name
    from workbench.connectors.search import SearchIndex, index_for, search

__all__ = [
    "BUILTINS", "ENTRY_POINT_GROUP", "ConnectorLoadWarning", "SearchIndex", "UnknownConnector", "all_specs",
    "describe_fields", "find", "get", "index_for", "refresh", "search", "type_name",
]

_LAZY = {"SearchIndex": "search", "clear_cache": "search", "index_for": "search", "search": "search",
         "describe_fields": "introspect", "type_name": "introspect"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"workbench.connectors.{module}"), name)
    globals()[name] = value
    return value


def refresh() -> None:
    """Forget the discovered specs and the cached search indexes (e.g. after installing a plugin)."""
    _refresh_registry()
    search_module = sys.modules.get("workbench.connectors.search")
    if search_module is not None:  # no index was built before it was imported
        search_module.clear_cache()
