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

import email.utils
import json
import logging
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from workbench.connectors.base import ConnectorError, ValidationFailed
from workbench.connectors.httpx_core import (
    MAX_RETRY_AFTER,
    RETRY_STATUSES,
    Ambiguous,
    HttpxConnection,
    NotSent,
    RetryLater,
    retryable,
)
from workbench.connectors.scim import (
    BulkParams,
    CreateParams,
    DeleteParams,
    GetParams,
    ListParams,
    NoParams,
    PatchParams,
    ReplaceParams,
)
from workbench.connectors.scim.errors import ScimError, filter_value, scim_error
from workbench.connectors.scim.reconcile import Reconciler
from workbench.connectors.scim.payload import (
    BULK_ID_NEEDED,
    BULK_REQUEST,
    LIST_RESPONSE,
    SCIM_JSON,
    SEARCH_REQUEST,
    _Kind,
    _kind,
    bulk_data,
    prepare_patch,
    prepare_resource,
)
from workbench.connectors.urls import safe_url

__all__ = ["MAX_RETRY_AFTER", "ScimConnection", "ScimError", "prepare_resource", "prepare_patch"]

log = logging.getLogger(__name__)

MAX_PAGES = 10_000  # all=true stops after this many pages, whatever the server says
LOOKUPS = 3  # after an ambiguous create: lookups (with backoff) before the create is sent again
CLOCK_TOLERANCE = 2.0  # seconds: the Date header's resolution and the two ends' jitter
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # (json.dumps makes one per call)


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


def _attributes_query(params: GetParams) -> dict[str, Any] | None:
    query = {}
    if params.attributes:
        query["attributes"] = ",".join(params.attributes)
    if params.excludedAttributes:
        query["excludedAttributes"] = ",".join(params.excludedAttributes)
    return query or None


class ScimConnection(HttpxConnection):
    """A SCIM 2.0 client on the HTTP core (`HttpxConnection`): one pooled client, a deadline per
    request, a size limit, typed transport errors and one retry loop."""

    own_authorization = False  # its requests never set Authorization: the auth does

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reconciler = Reconciler(self)

    def base_url(self) -> str:
        return self.config.serviceUrl

    def default_headers(self) -> dict[str, str]:
        return {"Accept": f"{SCIM_JSON}, application/json", **self.config.headers}

    def _build(self, method: str, path: str, query: dict[str, Any] | None, content: bytes | None,
               headers: dict[str, str] | None) -> httpx.Request:
        client = self.client()
        return client.build_request(method, self.url(path), params=query, content=content, headers=headers)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        safe: bool,
    ) -> tuple[httpx.Response, bool]:
        """Send with retries. Returns (response, an earlier attempt had an unknown outcome).
        `safe`: the request may be repeated after it was sent (see the module docstring)."""
        content = None
        if body is not None:
            content = _JSON(body).encode()
            headers = {**(headers or {}), "Content-Type": SCIM_JSON}
        ambiguous = False

        async def attempt(last: bool) -> tuple[httpx.Response, bool]:
            nonlocal ambiguous
            try:
                response = await self.send(self._build(method, path, query, content, headers))
            except ConnectorError as error:
                if not retryable(error, idempotent=safe):
                    raise
                ambiguous = ambiguous or isinstance(error, Ambiguous)
                raise RetryLater(error) from error
            if not last and retryable(response, idempotent=safe):
                ambiguous = ambiguous or response.status_code != 429
                raise RetryLater(self._error(response), response)
            return response, ambiguous

        return await self.retrying(attempt)

    def _error(self, response: httpx.Response) -> ScimError:
        return scim_error(response, self.excerpt)

    def _check(self, response: httpx.Response) -> None:
        """ScimError unless a 2xx answer."""
        if response.status_code >= 300:
            raise self._error(response)

    def _json(self, response: httpx.Response) -> Any:
        """The JSON body of a 2xx answer (None when empty); ScimError otherwise."""
        self._check(response)
        content = response.content
        if not content.strip():
            return None
        try:
            return json.loads(content)
        except ValueError:
            ctype = response.headers.get("content-type", "no content type")
            raise ScimError(
                f"SCIM {response.status_code}: expected a JSON body, got {ctype}: {self.excerpt(response.text, 120)}",
                status=response.status_code,
                detail=self.excerpt(response.text),
                method=response.request.method,
                url=self.mask(safe_url(response.request.url)),
            ) from None

    async def _call(self, method: str, path: str, *, safe: bool = True, **kwargs: Any) -> Any:
        response, _ = await self._request(method, path, safe=safe, **kwargs)
        return self._json(response)

    # -- generic resource operations ----------------------------------------------------------

    async def _create(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self.params(params, CreateParams)
        body = prepare_resource(kind_name, params.payload, "RESOURCE_CREATION_REQUEST")
        return await self._post_resource(_kind(kind_name), body)

    async def _post_resource(self, kind: _Kind, body: dict[str, Any]) -> dict[str, Any]:
        """POST a validated body, never blindly re-sent: after an ambiguous failure the resource is
        looked up first (see the module docstring)."""
        content = _JSON(body).encode()
        headers = {"Content-Type": SCIM_JSON}
        first_sent: float | None = None  # when the first attempt that may have arrived was sent
        ambiguous_error: ConnectorError | None = None

        async def resolve(error: ConnectorError) -> dict[str, Any]:
            """The resource an ambiguous attempt may have created, or RetryLater to send again."""
            nonlocal ambiguous_error
            ambiguous_error = error
            found = await self._lookup(kind, body, error, first_sent)
            if found is not None:
                return found
            error.resend_safe = True  # the server has no such resource: sending again cannot duplicate
            raise RetryLater(error) from error

        async def attempt(last: bool) -> dict[str, Any]:
            nonlocal first_sent
            sent_at = time.time()
            try:
                response = await self.send(self._build("POST", kind.endpoint, None, content, headers))
            except NotSent as error:
                raise RetryLater(error) from error
            except Ambiguous as error:
                first_sent = first_sent or sent_at
                return await resolve(error)
            status = response.status_code
            if status == 429 and not last:
                raise RetryLater(self._error(response), response)
            if status in RETRY_STATUSES:
                first_sent = first_sent or sent_at
                return await resolve(self._error(response))
            if status == 409 and ambiguous_error is not None:
                # An earlier attempt may have created it after all.
                found = await self._lookup(kind, body, self._error(response), first_sent)
                if found is not None:
                    return found
            return self._json(response)

        return await self.retrying(attempt)

    async def _lookup(self, kind: _Kind, body: dict[str, Any], error: ConnectorError,
                      sent_at: float | None) -> dict[str, Any] | None:
        """After an ambiguous create: the resource if the server has it, None if it still has not
        after `LOOKUPS` lookups with backoff (a server's index may lag behind its writes). Raises
        `error` when a lookup itself fails (the outcome stays unknown), and a 409 when the
        resource is older than the first attempt (it was there before: not ours to report)."""
        value = body.get(kind.key)
        if not isinstance(value, str) or not value:
            error.resend_safe = False  # nothing to look it up by: it may have been created
            raise error
        query = {"filter": f"{kind.key} eq {filter_value(value)}"}
        for number in range(1, LOOKUPS + 1):
            try:
                response, _ = await self._request("GET", kind.endpoint, query=query, safe=True)
                page = self._json(response)
            except ConnectorError as exc:
                log.warning("could not check whether the %s %r was created: %s", kind.name, value, exc.message)
                error.resend_safe = False  # the outcome stays unknown: sending again could duplicate
                raise error from exc
            for resource in (page or {}).get("Resources") or []:
                if isinstance(resource, dict) and str(resource.get(kind.key, "")).lower() == value.lower():
                    if _created_before(resource, response, sent_at):
                        raise ScimError(
                            f"SCIM 409 uniqueness: a {kind.name} with {kind.key} {value!r} already existed "
                            "before this create (the create's answer was lost)",
                            status=409, scim_type="uniqueness", method="POST",
                            url=self.mask(safe_url(response.request.url.copy_with(query=None))),
                        ) from error
                    log.info("the %s %r was created by an earlier attempt", kind.name, value)
                    return resource
            if number < LOOKUPS:
                await self.backoff(number)
        return None

    async def _get(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self.params(params, GetParams)
        kind = _kind(kind_name)
        return await self._call("GET", f"{kind.endpoint}/{quote(params.id, safe='')}", query=_attributes_query(params))

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


def _created_before(resource: dict[str, Any], response: httpx.Response, sent_at: float | None) -> bool:
    """Whether `resource` was created before `sent_at` (our clock), judged on the server's clock:
    the lookup's Date header tells how far the two clocks are apart."""
    created = (resource.get("meta") or {}).get("created") if isinstance(resource.get("meta"), dict) else None
    date = response.headers.get("date")
    if sent_at is None or not isinstance(created, str) or not date:
        return False  # nothing to judge by: take it as ours, as before
    try:
        created_at = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        server_now = email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return False
    server_sent_at = sent_at + (server_now - time.time())
    return created_at < server_sent_at - CLOCK_TOLERANCE


def _status_int_like(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
