"""The connector catalogue, one import for its three parts: the registry (`registry`: which
connectors exist, loaded by id), the search (`search`: the palette's ranking) and the schema
introspection (`introspect`: fields, types and secrets of a connector's models)."""

from __future__ import annotations

from workbench.connectors.introspect import describe_fields, type_name
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
from workbench.connectors.search import SearchIndex, clear_cache, index_for, search

__all__ = [
    "BUILTINS", "ENTRY_POINT_GROUP", "ConnectorLoadWarning", "SearchIndex", "UnknownConnector", "all_specs",
    "describe_fields", "find", "get", "index_for", "refresh", "search", "type_name",
]


def refresh() -> None:
    """Forget the discovered specs and the cached search indexes (e.g. after installing a plugin)."""
    _refresh_registry()
    clear_cache()
