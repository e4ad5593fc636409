"""`ScimConnection`: the SCIM 2.0 connector's implementation (imported by `SPEC.load()`).

What the operations return (plain JSON, as the server sent it, so a run can read
`${createdUser.id}`):

- create/get/replace: the resource.
- list/search: the ListResponse, with `Resources` always present (`[]` when the server left it
  out). With `all=true`, one ListResponse holding every page's resources (deduplicated by id),
  `totalResults` as the server counted and `itemsPerPage` = the number returned.
- patch: the resource when the server sends one (200, or when `attributes` is given), otherwise
  (204 No Content) `{"id": id}`, plus `{"meta": {"version": ETag}}` when the 204 carried an ETag.
- delete: `{"id": id}`.
- bulk: the BulkResponse. getServiceProviderConfig: the config. getResourceTypes/getSchemas:
  the ListResponse.

Retries (bounded by `retry.attempts` in all, exponential backoff from `retry.backoff`, honouring
`Retry-After` up to `MAX_RETRY_AFTER` seconds; the loop and the transport-error types are the HTTP
core's, `workbench.connectors.httpx_core`):

- Any request is retried when it was never sent (connect error, connect/pool timeout) and on 429.
- Safe requests are also retried after a failure once sent (read/write timeout, dropped
  connection) and on 502/503/504: GET, POST /.search (a read), PUT (same body, same state),
  DELETE (a 404 after an ambiguous attempt counts as deleted), and PATCH *only with
  `version`*: PATCH is not idempotent (an `add` to a multi-valued attribute would apply twice),
  but with If-Match a replay after success fails with 412 instead of applying twice.
- createUser/createGroup are never blindly re-sent: after an ambiguous failure (sent, then a
  timeout/dropped connection/502/503/504) the resource is looked up by `userName`
  (`displayName`), up to `LOOKUPS` times with backoff, since a server's index may lag behind its
  writes. Found and created after the first attempt was sent → returned (no duplicate); found but
  older (judged on the server's clock, from the lookup's Date header) → a 409 uniqueness error,
  since it existed before and this create did not make it; not found → the create is sent again
  (no lost create). A 409 on such a retry is resolved by the same lookup. A failed lookup
  re-raises the original error: the outcome is unknown and sending again could duplicate.
- bulk and PATCH without `version` are retried only when never sent, or on 429.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from workbench.connectors.base import ValidationFailed
from workbench.connectors.httpx_core import MAX_RETRY_AFTER
from workbench.connectors.scim import (
    BulkParams,
    CreateParams,
    DeleteParams,
    GetParams,
    NoParams,
    PatchParams,
    ReplaceParams,
)
from workbench.connectors.scim.creation import ScimCreation
from workbench.connectors.scim.errors import ScimError
from workbench.connectors.scim.listing import ScimListing
from workbench.connectors.scim.payload import (
    BULK_ID_NEEDED,
    BULK_REQUEST,
    _kind,
    bulk_data,
    prepare_patch,
    prepare_resource,
)
from workbench.connectors.scim.reconcile import Reconciler

__all__ = ["MAX_RETRY_AFTER", "ScimConnection", "ScimError", "prepare_resource", "prepare_patch"]


def _patch_operations(params: PatchParams) -> list[dict[str, Any]]:
    out = []
    for op in params.operations:
        item: dict[str, Any] = {"op": op.op}
        if op.path is not None:
            item["path"] = op.path
        if op.value is not None:
            item["value"] = op.value
        out.append(item)
    return out


def _attributes_query(params: GetParams) -> dict[str, Any] | None:
    query = {}
    if params.attributes:
        query["attributes"] = ",".join(params.attributes)
    if params.excludedAttributes:
        query["excludedAttributes"] = ",".join(params.excludedAttributes)
    return query or None


class ScimConnection(ScimCreation, ScimListing):
    """A SCIM 2.0 client on the HTTP core (`HttpxConnection`): one pooled client, a deadline per
    request, a size limit, typed transport errors and one retry loop. Its requests are
    `ScimTransport`'s (transport.py), its creates `ScimCreation`'s (creation.py), its lists and
    searches `ScimListing`'s (listing.py); here, the operations."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reconciler = Reconciler(self)

    # -- generic resource operations ----------------------------------------------------------

    async def _create(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self.params(params, CreateParams)
        body = prepare_resource(kind_name, params.payload, "RESOURCE_CREATION_REQUEST")
        return await self._post_resource(_kind(kind_name), body)

    async def _get(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self.params(params, GetParams)
        kind = _kind(kind_name)
        return await self._call("GET", f"{kind.endpoint}/{quote(params.id, safe='')}", query=_attributes_query(params))

    async def _replace(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self.params(params, ReplaceParams)
        kind = _kind(kind_name)
        body = prepare_resource(kind_name, params.payload, "RESOURCE_REPLACEMENT_REQUEST")
        headers = {"If-Match": params.version} if params.version else None
        return await self._call("PUT", f"{kind.endpoint}/{quote(params.id, safe='')}", body=body, headers=headers)

    async def _patch(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self.params(params, PatchParams)
        kind = _kind(kind_name)
        body = prepare_patch(kind_name, _patch_operations(params))
        headers = {"If-Match": params.version} if params.version else None
        query = {"attributes": ",".join(params.attributes)} if params.attributes else None
        response, _ = await self._request(
            "PATCH",
            f"{kind.endpoint}/{quote(params.id, safe='')}",
            query=query,
            body=body,
            headers=headers,
            safe=params.version is not None,
        )
        result = self._json(response)
        if result is None:
            result = {"id": params.id}
            etag = response.headers.get("etag")
            if etag:
                result["meta"] = {"version": etag}
        return result

    async def _delete(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self.params(params, DeleteParams)
        kind = _kind(kind_name)
        headers = {"If-Match": params.version} if params.version else None
        response, ambiguous = await self._request(
            "DELETE", f"{kind.endpoint}/{quote(params.id, safe='')}", headers=headers, safe=True
        )
        if response.status_code == 404 and ambiguous:
            return {"id": params.id}  # an earlier attempt deleted it
        self._json(response)
        return {"id": params.id}

    # -- operations -----------------------------------------------------------------------------

    async def createUser(self, params: Any) -> dict[str, Any]:
        return await self._create("User", params)

    async def ensureUser(self, params: Any) -> dict[str, Any]:
        return await self.reconciler.ensure("User", params)

    async def ensureGroup(self, params: Any) -> dict[str, Any]:
        return await self.reconciler.ensure("Group", params)

    async def syncUsers(self, params: Any) -> dict[str, Any]:
        return await self.reconciler.sync("User", params)

    async def syncGroups(self, params: Any) -> dict[str, Any]:
        return await self.reconciler.sync("Group", params)

    async def getUser(self, params: Any) -> dict[str, Any]:
        return await self._get("User", params)

    async def listUsers(self, params: Any) -> dict[str, Any]:
        return await self._list("Users", params, search=False)

    async def searchUsers(self, params: Any) -> dict[str, Any]:
        return await self._list("Users", params, search=True)

    async def replaceUser(self, params: Any) -> dict[str, Any]:
        return await self._replace("User", params)

    async def patchUser(self, params: Any) -> dict[str, Any]:
        return await self._patch("User", params)

    async def deleteUser(self, params: Any) -> dict[str, Any]:
        return await self._delete("User", params)

    async def createGroup(self, params: Any) -> dict[str, Any]:
        return await self._create("Group", params)

    async def getGroup(self, params: Any) -> dict[str, Any]:
        return await self._get("Group", params)

    async def listGroups(self, params: Any) -> dict[str, Any]:
        return await self._list("Groups", params, search=False)

    async def searchGroups(self, params: Any) -> dict[str, Any]:
        return await self._list("Groups", params, search=True)

    async def replaceGroup(self, params: Any) -> dict[str, Any]:
        return await self._replace("Group", params)

    async def patchGroup(self, params: Any) -> dict[str, Any]:
        return await self._patch("Group", params)

    async def deleteGroup(self, params: Any) -> dict[str, Any]:
        return await self._delete("Group", params)

    async def bulk(self, params: Any) -> dict[str, Any]:
        params = self.params(params, BulkParams)
        operations = []
        for i, op in enumerate(params.operations):
            item: dict[str, Any] = {"method": op.method, "path": op.path}
            if op.bulkId is not None:
                item["bulkId"] = op.bulkId
            elif op.method == "POST":
                raise ValidationFailed(BULK_ID_NEEDED.format(i=i))
            if op.version is not None:
                item["version"] = op.version
            data = self._bulk_data(i, op)
            if data is not None:
                item["data"] = data
            operations.append(item)
        body: dict[str, Any] = {"schemas": [BULK_REQUEST], "Operations": operations}
        if params.failOnErrors is not None:
            body["failOnErrors"] = params.failOnErrors
        return await self._call("POST", "Bulk", body=body, safe=False)

    @staticmethod
    def _bulk_data(i: int, op: Any) -> Any:
        return bulk_data(i, op.method, op.path, op.data)

    async def getServiceProviderConfig(self, params: Any = None) -> dict[str, Any]:
        self.params(params, NoParams)
        return await self._call("GET", "ServiceProviderConfig")

    async def getResourceTypes(self, params: Any = None) -> dict[str, Any]:
        self.params(params, NoParams)
        result = await self._call("GET", "ResourceTypes")
        if isinstance(result, dict):
            result.setdefault("Resources", [])
        return result

    async def getSchemas(self, params: Any = None) -> dict[str, Any]:
        self.params(params, NoParams)
        result = await self._call("GET", "Schemas")
        if isinstance(result, dict):
            result.setdefault("Resources", [])
        return result
