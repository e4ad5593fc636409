"""`ScimListing`: list and search (GET or POST /.search), one page or, with `all=true`, every
page joined into one ListResponse (deduplicated by id, at most `MAX_PAGES` pages)."""

from __future__ import annotations

from typing import Any

from workbench.connectors.scim import ListParams
from workbench.connectors.scim.errors import ScimError
from workbench.connectors.scim.payload import LIST_RESPONSE, SEARCH_REQUEST
from workbench.connectors.scim.transport import ScimTransport

MAX_PAGES = 10_000  # all=true stops after this many pages, whatever the server says


def _list_query(params: ListParams) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if params.filter:
        query["filter"] = params.filter
    if params.startIndex is not None:
        query["startIndex"] = params.startIndex
    if params.count is not None:
        query["count"] = params.count
    if params.attributes:
        query["attributes"] = ",".join(params.attributes)
    if params.excludedAttributes:
        query["excludedAttributes"] = ",".join(params.excludedAttributes)
    if params.sortBy:
        query["sortBy"] = params.sortBy
    if params.sortOrder:
        query["sortOrder"] = params.sortOrder
    return query


class ScimListing(ScimTransport):
    """`_list`, under listUsers/searchUsers/listGroups/searchGroups and the reconciler's reads."""

    async def _list(self, endpoint: str, params: Any, *, search: bool) -> dict[str, Any]:
        params = self.params(params, ListParams)
        query = _list_query(params)
        if params.all and query.get("count") == 0:
            query.pop("count")

        async def page(start: int | None) -> dict[str, Any]:
            q = dict(query)
            if start is not None:
                q["startIndex"] = start
            if search:
                body = {"schemas": [SEARCH_REQUEST]}
                for key, value in q.items():
                    body[key] = value if key not in ("attributes", "excludedAttributes") else value.split(",")
                result = await self._call("POST", f"{endpoint}/.search", body=body)
            else:
                result = await self._call("GET", endpoint, query=q or None)
            if not isinstance(result, dict):
                raise ScimError(f"SCIM: expected a ListResponse from {endpoint}, got {type(result).__name__}", status=200)
            result.setdefault("Resources", [])
            return result

        if not params.all:
            return await page(None)
        start = params.startIndex or 1
        resources: list[Any] = []
        seen: set[str] = set()
        total: int | None = None
        for _ in range(MAX_PAGES):
            result = await page(start)
            items = result.get("Resources") or []
            total = _status_int_like(result.get("totalResults"))
            for item in items:
                rid = item.get("id") if isinstance(item, dict) else None
                if rid is not None:
                    if rid in seen:
                        continue
                    seen.add(rid)
                resources.append(item)
            if not items:
                break
            start += len(items)
            if total is not None and start > total:
                break
            if total is None and query.get("count") and len(items) < query["count"]:
                break
        return {
            "schemas": [LIST_RESPONSE],
            "totalResults": total if total is not None else len(resources),
            "startIndex": params.startIndex or 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }


def _status_int_like(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
