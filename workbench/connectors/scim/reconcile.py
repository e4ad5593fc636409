"""Idempotent provisioning over a `ScimConnection`: `ensure` (one resource: create, a minimal
update, or nothing) and `sync` (a whole set in scope: plan, guard, apply). The comparison is
`diff.py`'s, the plan `sync.py`'s; this module sends the requests."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from workbench.connectors.base import ConnectorError, ValidationFailed
from workbench.connectors.scim import EnsureParams, SyncParams
from workbench.connectors.scim.diff import diff, merged, same_value, value_at
from workbench.connectors.scim.errors import ScimError, filter_value
from workbench.connectors.scim.payload import PATCH_OP, _Kind, _kind, prepare_resource
from workbench.connectors.scim.sync import CREATE, UNCHANGED, UPDATE, Change, Plan, make_plan, parse_limit

if TYPE_CHECKING:
    from workbench.connectors.scim.client import ScimConnection


# How servers answer a create of a resource that exists: 409 as RFC 7644 says, and 400 or 500 on
# some. After any of them, a lookup decides: found means another writer was first (update it).
DUPLICATE_STATUSES = frozenset({400, 409, 500})
DEACTIVATE = [{"op": "replace", "path": "active", "value": False}]


class Reconciler:
    """ensureUser/ensureGroup and syncUsers/syncGroups of one connection."""

    def __init__(self, conn: ScimConnection) -> None:
        self.conn = conn
        self._config: dict[str, Any] | None = None  # the ServiceProviderConfig, once asked

    async def ensure(self, kind_name: str, params: Any) -> dict[str, Any]:
        """Create when absent, a minimal update when different, nothing when equal; a 409 on
        the create (another writer was first) becomes a lookup and an update."""
        params = self.conn.params(params, EnsureParams)
        kind = _kind(kind_name)
        body = prepare_resource(kind_name, params.payload, "RESOURCE_CREATION_REQUEST")
        match_on = params.matchOn or kind.key
        value = value_at(body, match_on)
        if value is None or isinstance(value, (dict, list)):
            raise ValidationFailed(f"ensure{kind_name}: the payload has no {match_on} value to match on")
        current = await self.find(kind, match_on, value)
        if current is None:
            try:
                return {"status": "created", "changed": [], "resource": await self.conn._post_resource(kind, body)}
            except ScimError as exc:
                current = await self.find(kind, match_on, value) if exc.status in DUPLICATE_STATUSES else None
                if current is None:
                    raise
        return await self.update(kind, body, current, params.clearMissing)

    async def find(self, kind: _Kind, match_on: str, value: Any) -> dict[str, Any] | None:
        """The one resource whose `match_on` is `value`; a 409 when several match."""
        literal = filter_value(value) if isinstance(value, str) else json.dumps(value)
        page = await self.conn._call("GET", kind.endpoint, query={"filter": f"{match_on} eq {literal}"})
        found = [r for r in (page or {}).get("Resources") or []
                 if isinstance(r, dict) and same_value(match_on, value_at(r, match_on), value)]
        if len(found) > 1:
            raise ScimError(f"SCIM 409: {len(found)} {kind.endpoint} match {match_on} eq {literal}; "
                            "an ensure needs one", status=409, scim_type="uniqueness")
        return found[0] if found else None

    async def update(self, kind: _Kind, body: dict[str, Any], current: dict[str, Any],
                     clear_missing: bool, *, fetch: bool = True) -> dict[str, Any]:
        """A minimal PATCH (a PUT without PATCH support); nothing when `body` matches `current`."""
        ops, changed = diff(body, current, clear_missing=clear_missing)
        if not ops:
            return {"status": "unchanged", "changed": [], "resource": current}
        return {"status": "updated", "changed": changed,
                "resource": await self.send_update(kind, ops, body, current, clear_missing, fetch=fetch)}

    async def send_update(self, kind: _Kind, ops: list[dict[str, Any]], body: dict[str, Any],
                          current: dict[str, Any], clear_missing: bool, *, fetch: bool) -> dict[str, Any]:
        """Send `ops` (the diff of `body` against `current`) as a PATCH, or the merged resource as
        a PUT to a server without PATCH. Returns the resource; without `fetch` (a sync's report
        needs none) the answer of a PATCH is only checked, not parsed or read back."""
        rid = quote(str(current.get("id", "")), safe="")
        path = f"{kind.endpoint}/{rid}"
        if await self._patch_supported():
            # The operations come from a resource prepare_resource validated, and attribute names
            # it knows: validating them again as a PatchOp would double the client's cost per change.
            patch = {"schemas": [PATCH_OP], "Operations": ops}
            # replace and remove apply once however often they are sent; an add may not.
            safe = all(op["op"] in ("replace", "remove") for op in ops)
            response, _ = await self.conn._request("PATCH", path, body=patch, safe=safe)
            if not fetch:
                self.conn._check(response)
                return {"id": current.get("id")}
            resource = self.conn._json(response)
            return resource if resource is not None else await self.conn._call("GET", path)
        full = prepare_resource(kind.name, merged(body, current, clear_missing=clear_missing),
                                "RESOURCE_REPLACEMENT_REQUEST")
        version = (current.get("meta") or {}).get("version")
        return await self.conn._call("PUT", path, body=full, headers={"If-Match": version} if version else None)

    async def _service_config(self) -> dict[str, Any]:
        """The ServiceProviderConfig, asked once per connection; {} when the server does not
        answer it (then PATCH is taken as supported, as RFC 7644 requires)."""
        if self._config is None:
            try:
                config = await self.conn._call("GET", "ServiceProviderConfig")
            except ScimError:
                config = None
            self._config = config if isinstance(config, dict) else {}
        return self._config

    async def _patch_supported(self) -> bool:
        return bool(((await self._service_config()).get("patch") or {}).get("supported", True))

    async def sync(self, kind_name: str, params: Any) -> dict[str, Any]:
        """Plan, guard, and (unless `planOnly`) apply; the report holds the plan and what failed."""
        params = self.conn.params(params, SyncParams)
        plan = await self.plan(kind_name, params)
        report = plan.to_dict()
        limit = parse_limit(params.maxChanges, plan.in_scope)
        if limit is not None and plan.changing > limit and not params.force:
            raise ConnectorError(
                f"the plan changes {plan.changing} of the {plan.in_scope} {_kind(kind_name).endpoint} in scope, over "
                f"maxChanges {params.maxChanges} ({limit}); check the source, or set force = true (workbench run --force)",
                detail=json.dumps(plan.counts))
        report["applied"] = not params.planOnly
        report["failed"] = [] if params.planOnly else await self.apply(_kind(kind_name), plan, params)
        return report

    async def plan(self, kind_name: str, params: SyncParams) -> Plan:
        """The plan: reads only (the ServiceProviderConfig, then every page of the scope)."""
        kind = _kind(kind_name)
        desired = []
        for index, item in enumerate(params.desired):
            try:
                desired.append(prepare_resource(kind_name, item, "RESOURCE_CREATION_REQUEST"))
            except ValidationFailed as exc:
                raise ValidationFailed(f"desired[{index}]: {exc.message}", detail=exc.detail) from None
        page_size = self.conn.config.pageSize
        max_results = ((await self._service_config()).get("filter") or {}).get("maxResults")
        if isinstance(max_results, int) and max_results > 0:
            page_size = min(page_size, max_results)
        try:
            listing = await self.conn._list(kind.endpoint, {"filter": params.scope, "all": True, "count": page_size},
                                            search=False)
        except ScimError as exc:
            if exc.status not in (400, 501):
                raise
            raise ScimError(f"the server cannot list the scope {params.scope!r} ({exc.message}); a sync needs a "
                            "filter it supports, e.g. on an attribute it filters by, such as userName sw \"a\"",
                            status=exc.status, scim_type=exc.scim_type) from None
        return make_plan(kind_name, desired, listing["Resources"], match_on=params.matchOn or kind.key,
                         deprovision=params.deprovision, clear_missing=params.clearMissing)

    async def delete(self, kind: _Kind, rid: str) -> None:
        """DELETE, then make sure it is gone: some servers only deactivate on DELETE, and a sync
        that believed them would send the same DELETE on every run."""
        await self.conn._delete(kind.name, {"id": rid})
        try:
            still = await self.conn._call("GET", f"{kind.endpoint}/{quote(str(rid), safe='')}")
        except ScimError as exc:
            if exc.status == 404:
                return
            raise
        if isinstance(still, dict):
            raise ScimError(f"the server answered the DELETE but kept the {kind.name.lower()}"
                            f"{' (now inactive)' if still.get('active') is False else ''}: it does not delete "
                            "on DELETE; use deprovision = \"deactivate\"", status=409)

    async def apply(self, kind: _Kind, plan: Plan, params: SyncParams) -> list[dict[str, Any]]:
        """Apply the plan's changes, `concurrency` at a time; failures are collected, not fatal."""
        failed: list[dict[str, Any]] = []
        match_on = params.matchOn or kind.key
        todo = iter([c for c in plan.changes if c.action != UNCHANGED])

        async def worker() -> None:  # a few workers taking the next change: no task per change
            for change in todo:
                await one(change)

        async def one(change: Change) -> None:
            try:
                if change.action == CREATE:
                    try:
                        await self.conn._post_resource(kind, change.desired)
                    except ScimError as exc:  # another writer created it since the plan
                        current = await self.find(kind, match_on, value_at(change.desired, match_on)) \
                            if exc.status in DUPLICATE_STATUSES else None
                        if current is None:
                            raise
                        await self.update(kind, change.desired, current, params.clearMissing, fetch=False)
                elif change.action == UPDATE:  # the plan's operations: no second diff
                    await self.send_update(kind, change.ops, change.desired, change.current, params.clearMissing,
                                           fetch=False)
                elif params.deprovision == "delete":
                    await self.delete(kind, change.current["id"])
                else:
                    await self.send_update(kind, DEACTIVATE, {"active": False}, change.current, False, fetch=False)
            except ConnectorError as exc:
                failed.append({"key": change.key, "action": change.action, "error": exc.message})

        await asyncio.gather(*(worker() for _ in range(params.concurrency)))
        return failed
