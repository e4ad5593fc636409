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
`Retry-After` up to `MAX_RETRY_AFTER` seconds):

- Any request is retried when it was never sent (connect error, connect/pool timeout) and on 429.
- Safe requests are also retried after a failure once sent (read/write timeout, dropped
  connection) and on 502/503/504: GET, POST /.search (a read), PUT (same body, same state),
  DELETE (a 404 after an ambiguous attempt counts as deleted), and PATCH *only with
  `version`*: PATCH is not idempotent (an `add` to a multi-valued attribute would apply twice),
  but with If-Match a replay after success fails with 412 instead of applying twice.
- createUser/createGroup are never blindly re-sent: after an ambiguous failure (sent, then a
  timeout/dropped connection/502/503/504) the resource is looked up by `userName`
  (`displayName`); found → returned (no duplicate), not found → the create is retried (no lost
  create). A 409 on such a retry is resolved by the same lookup. A failed lookup re-raises the
  original error: the outcome is unknown and sending again could duplicate.
- bulk and PATCH without `version` are retried only when never sent, or on 429.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from workbench.connectors.base import Connection, ConnectorError, ValidationFailed
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
from workbench.connectors.urls import safe_url

log = logging.getLogger(__name__)

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

MAX_RETRY_AFTER = 30.0  # seconds: a Retry-After above this is capped
MAX_BACKOFF = 30.0
MAX_PAGES = 10_000  # all=true stops after this many pages, whatever the server says
RETRY_STATUSES = frozenset({502, 503, 504})


class ScimError(ConnectorError):
    """The server answered with an error. `status` is always an int; `scim_type` and `detail` come
    from a SCIM Error body, or `detail` is a short excerpt of a non-SCIM body."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        scim_type: str | None = None,
        detail: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, status=status, scim_type=scim_type, detail=detail)
        self.method = method
        self.url = url

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.method and self.url:
            out["request"] = f"{self.method} {self.url}"
        return out


# -- payload validation (scim2-models) --------------------------------------------------------


@dataclass
class _Plan:
    """The request-context checks of scim2-models for one model class, precomputed: required
    fields, multi-valued fields with a `primary` sub-attribute, and sub-models with checks."""

    required: tuple[str, ...] = ()
    primary: tuple[str, ...] = ()
    nested: tuple[tuple[str, _Plan], ...] = ()

    def ok(self, obj: Any) -> bool:
        for name in self.required:
            value = getattr(obj, name)
            if value is None or value == []:
                return False
        for name in self.primary:
            value = getattr(obj, name)
            if value and sum(1 for item in value if getattr(item, "primary", None) is True) > 1:
                return False
        for name, plan in self.nested:
            value = getattr(obj, name)
            if value is None:
                continue
            for item in value if isinstance(value, list) else (value,):
                if not plan.ok(item):
                    return False
        return True


def _plan(model: Any, seen: frozenset[Any] = frozenset()) -> _Plan:
    from pydantic import BaseModel as PydanticModel
    from scim2_models import Required

    required, primary, nested = [], [], []
    for name in model.model_fields:
        if name != "schemas" and model.get_field_annotation(name, Required) == Required.true:
            required.append(name)
        root = model.get_field_root_type(name)
        if isinstance(root, type) and issubclass(root, PydanticModel) and root not in seen:
            if model.get_field_multiplicity(name) and "primary" in root.model_fields:
                primary.append(name)
            sub = _plan(root, seen | {model})
            if sub.required or sub.primary or sub.nested:
                nested.append((name, sub))
    return _Plan(tuple(required), tuple(primary), tuple(nested))


@dataclass
class _Kind:
    name: str  # "User"
    endpoint: str  # "Users"
    core: str
    key: str  # the attribute to look a resource up by after an ambiguous create
    model: Any = None
    patch_model: Any = None
    plan: _Plan | None = None
    known_keys: dict[str, str] = field(default_factory=dict)  # lowercased -> canonical attribute name or URN
    known_schemas: frozenset[str] = frozenset()  # lowercased


READ_ONLY = frozenset({"id", "meta", "groups"})  # lowercased; servers assign these

_KINDS: dict[str, _Kind] = {
    "User": _Kind("User", "Users", USER_SCHEMA, "userName"),
    "Group": _Kind("Group", "Groups", GROUP_SCHEMA, "displayName"),
}


def _kind(name: str) -> _Kind:
    """The kind with its scim2-models classes, built once (parametrized classes are costly)."""
    kind = _KINDS[name]
    if kind.model is None:
        from scim2_models import EnterpriseUser, Group, PatchOp, User

        # User[EnterpriseUser] accepts payloads with or without the enterprise extension.
        model = User[EnterpriseUser] if name == "User" else Group
        keys = {}
        for field_name, info in model.model_fields.items():
            alias = info.validation_alias if isinstance(info.validation_alias, str) else None
            canonical = info.serialization_alias or info.alias or alias or field_name
            keys[(alias or info.alias or field_name).lower()] = canonical
        kind.known_keys = keys
        schemas = {kind.core.lower()}
        if name == "User":
            schemas.add(ENTERPRISE_SCHEMA.lower())
        kind.known_schemas = frozenset(schemas)
        kind.patch_model = PatchOp[model]
        kind.plan = _plan(model)
        kind.model = model
    return kind


def _ctx(name: str) -> Any:
    from scim2_models import Context

    return getattr(Context, name)


def _describe_errors(errors: list[dict[str, Any]]) -> list[str]:
    out = []
    for error in errors:
        parts: list[str] = []
        for item in error.get("loc", ()):
            if isinstance(item, int):
                parts.append(f"[{item}]")
            else:
                parts.append(("." if parts else "") + str(item))
        where = "".join(parts) or str((error.get("ctx") or {}).get("field_name") or "")
        message = str(error.get("msg", "invalid"))
        out.append(f"{where}: {message}" if where else message)
    return out


def _validation_failed(what: str, exc: PydanticValidationError) -> ValidationFailed:
    problems = _describe_errors(exc.errors(include_input=False))
    first = problems[0] if problems else "invalid"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ValidationFailed(f"invalid {what}: {first}{more}", detail="; ".join(problems))


def prepare_resource(kind_name: str, payload: Any, context: str) -> dict[str, Any]:
    """Validate a User/Group payload with scim2-models in the request `context`
    ("RESOURCE_CREATION_REQUEST" or "RESOURCE_REPLACEMENT_REQUEST") and serialize it back.

    `schemas` is added when missing. Attributes scim2-models does not know (a custom extension,
    an attribute of a vendor schema) are kept as they were, and an unknown `urn:` key is added to
    `schemas`. Read-only attributes (`id`, `meta`, `groups`) are left out, as the context says.
    Raises `ValidationFailed` naming the field.
    """
    kind = _kind(kind_name)
    if not isinstance(payload, dict):
        raise ValidationFailed(f"invalid {kind.name} payload: expected an object, got {type(payload).__name__}")
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    given_schemas: list[str] = []
    for key, value in payload.items():
        lowered = key.lower()
        if lowered == "schemas":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
                raise ValidationFailed(f"invalid {kind.name} payload: schemas must be a list of URNs")
            given_schemas = value
        elif lowered in kind.known_keys:
            known[key] = value
        else:
            extra[key] = value
    schemas = [s for s in given_schemas if s.lower() in kind.known_schemas]
    if kind.core.lower() not in (s.lower() for s in schemas):
        schemas.insert(0, kind.core)
    if kind.name == "User" and any(k.lower() == ENTERPRISE_SCHEMA.lower() for k in known):
        if ENTERPRISE_SCHEMA.lower() not in (s.lower() for s in schemas):
            schemas.append(ENTERPRISE_SCHEMA)
    known["schemas"] = schemas
    ctx = _ctx(context)
    try:
        # Fast path: type validation without the request context, then the context's checks
        # (required attributes, one primary per list) from a precomputed plan: about 3x cheaper
        # than validating in the context, which walks every field's annotations. On any doubt,
        # the full validation in the context decides, and names the field.
        obj = kind.model.model_validate(known, scim_ctx=None)
        if not kind.plan.ok(obj):
            kind.model.model_validate(known, scim_ctx=ctx)
    except PydanticValidationError as exc:
        raise _validation_failed(f"{kind.name} payload", exc) from None
    # Send what the user wrote, not the model's dump: the dump costs more than the validation,
    # and the payload is already valid. Read-only attributes are left out, as the context says.
    # Attribute names are case-insensitive (RFC 7643 §2.1); send the canonical spelling.
    out = {kind.known_keys.get(key.lower(), key): value for key, value in known.items() if key.lower() not in READ_ONLY}
    if extra or len(given_schemas) != len(schemas):
        final_schemas = list(out.get("schemas") or schemas)
        lowered_schemas = {s.lower() for s in final_schemas}
        for schema in [*given_schemas, *(k for k in extra if k.lower().startswith("urn:"))]:
            if schema.lower() not in lowered_schemas:
                final_schemas.append(schema)
                lowered_schemas.add(schema.lower())
        out["schemas"] = final_schemas
        out.update(extra)
    return out


def prepare_patch(kind_name: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
    """A PatchOp body, validated with scim2-models (`PatchOp[User[EnterpriseUser]]` / `PatchOp[Group]`).
    Operations on a path under an extension scim2-models does not know are kept as they are."""
    kind = _kind(kind_name)
    checked: list[tuple[int, dict[str, Any]]] = []
    ops: list[dict[str, Any] | None] = []
    for i, op in enumerate(operations):
        path = op.get("path")
        if isinstance(path, str) and path.lower().startswith("urn:") and not any(
            path.lower().startswith(s) for s in kind.known_schemas
        ):
            ops.append(op)  # a vendor extension: the server decides
        else:
            ops.append(None)
            checked.append((i, op))
    if checked:
        ctx = _ctx("RESOURCE_PATCH_REQUEST")
        try:
            dumped = kind.patch_model.model_validate(
                {"schemas": [PATCH_OP], "Operations": [op for _, op in checked]}, scim_ctx=ctx
            ).model_dump(scim_ctx=ctx)
        except PydanticValidationError as exc:
            raise _validation_failed(f"{kind.name} PATCH operations", exc) from None
        for (i, _), op in zip(checked, dumped["Operations"], strict=True):
            ops[i] = op
    return {"schemas": [PATCH_OP], "Operations": ops}


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


# -- errors -----------------------------------------------------------------------------------

_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)
_SPACES = re.compile(r"\s+")


def excerpt(text: str, limit: int = 200) -> str:
    """A short one-line excerpt of a (possibly HTML) body."""
    text = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _status_int(value: Any) -> int | None:
    try:
        status = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return status if 100 <= status <= 599 else None


def scim_error(response: httpx.Response) -> ScimError:
    """A `ScimError` for a non-2xx answer, whatever its body (SCIM Error, other JSON, HTML, empty)."""
    status = response.status_code
    request = response.request
    method, url = request.method, safe_url(request.url)
    scim_type = detail = None
    body: Any = None
    content = response.content
    if content.strip():
        try:
            body = json.loads(content)
        except ValueError:
            body = None
    if isinstance(body, dict):
        # SCIM says status is a string; some servers send an int. The HTTP status is the truth
        # when the body's is missing or unreadable.
        status = _status_int(body.get("status")) or status
        raw_type = body.get("scimType")
        scim_type = str(raw_type) if raw_type else None
        for key in ("detail", "message", "title"):
            if body.get(key):
                detail = excerpt(str(body[key]), 500)
                break
        else:
            if body.get("error"):  # an OAuth2-style error (a gateway in front of the server)
                detail = str(body["error"])
                if body.get("error_description"):
                    detail += f" ({body['error_description']})"
                detail = excerpt(detail, 500)
    elif content.strip():
        detail = excerpt(response.text)
    head = f"SCIM {status}" + (f" {scim_type}" if scim_type else "")
    if detail:
        message = f"{head}: {detail}"
    else:
        reason = response.reason_phrase or "error"
        message = f"{head}: {reason} (empty body)" if not content.strip() else f"{head}: {reason}"
    return ScimError(message, status=status, scim_type=scim_type, detail=detail, method=method, url=url)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


# Transport failures: was the request sent?
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_AMBIGUOUS = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def _filter_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


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


class ScimConnection(Connection):
    """A SCIM 2.0 client over one pooled `httpx.AsyncClient` (created on first use)."""

    # Injectable for tests (fault injection, recorded sleeps).
    transport: httpx.AsyncBaseTransport | None = None
    sleep = staticmethod(asyncio.sleep)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http: httpx.AsyncClient | None = None
        self._auth: Any = None

    # -- plumbing -----------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            config = self.config
            self._auth = config.auth.to_httpx_auth(on_exchange=self._report)
            headers = {"Accept": f"{SCIM_JSON}, application/json"}
            headers.update(config.headers)
            self._http = httpx.AsyncClient(
                base_url=config.serviceUrl.rstrip("/") + "/",
                auth=self._auth,
                timeout=config.timeout,
                verify=config.verifyTls,
                headers=headers,
                transport=self.transport,
                event_hooks={"request": [self._on_request], "response": [self._on_response]},
            )
        return self._http

    def _report(self, method: str, url: str, status: int | None, duration_ms: float) -> None:
        hook = self.on_exchange
        if hook is not None:
            try:
                hook(method, safe_url(url), status, duration_ms)
            except Exception:  # an observer must not break the run
                log.exception("on_exchange hook failed")

    async def _on_request(self, request: httpx.Request) -> None:
        request.extensions["workbench_started"] = time.perf_counter()

    async def _on_response(self, response: httpx.Response) -> None:
        if self.on_exchange is not None:
            request = response.request
            started = request.extensions.get("workbench_started", time.perf_counter())
            self._report(request.method, safe_url(request.url), response.status_code, (time.perf_counter() - started) * 1000)

    async def aclose(self) -> None:
        client, self._http = self._http, None
        if client is not None:
            await client.aclose()
        auth, self._auth = self._auth, None
        if auth is not None and hasattr(auth, "aclose"):
            await auth.aclose()

    async def _send_once(
        self, method: str, path: str, query: dict[str, Any] | None, body: bytes | None, headers: dict[str, str] | None
    ) -> httpx.Response:
        """One exchange. Transport errors become ConnectorError (naming the URL, never a secret),
        with the httpx exception as __cause__ so callers can tell sent from not sent."""
        client = self._client()
        request = client.build_request(method, path, params=query, content=body, headers=headers)
        started = time.perf_counter()
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            self._report(method, str(request.url), None, (time.perf_counter() - started) * 1000)
            raise self._transport_error(exc, method, request.url) from exc
        return response

    def _transport_error(self, exc: httpx.HTTPError, method: str, url: httpx.URL) -> ConnectorError:
        where = f"{method} {safe_url(url)}"
        if isinstance(exc, httpx.TimeoutException):
            what = {
                httpx.ConnectTimeout: "timed out connecting",
                httpx.PoolTimeout: "timed out waiting for a pooled connection",
                httpx.WriteTimeout: "timed out sending the request",
            }.get(type(exc), "timed out waiting for the response")
            return ConnectorError(f"{where}: {what} (timeout {self.config.timeout:g} s)")
        if isinstance(exc, httpx.ConnectError):
            return ConnectorError(f"{where}: cannot connect ({exc or type(exc).__name__})")
        return ConnectorError(f"{where}: {type(exc).__name__}: {exc}")

    async def _backoff(self, attempt: int, response: httpx.Response | None = None) -> None:
        delay = _retry_after(response) if response is not None else None
        if delay is None:
            delay = min(self.config.retry.backoff * (2 ** (attempt - 1)), MAX_BACKOFF)
        if delay > 0:
            await self.sleep(delay)

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
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            headers = {**(headers or {}), "Content-Type": SCIM_JSON}
        attempts = self.config.retry.attempts
        ambiguous = False
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = await self._send_once(method, path, query, content, headers)
            except ConnectorError as error:
                cause = error.__cause__
                retry = isinstance(cause, _NOT_SENT) or (safe and isinstance(cause, _AMBIGUOUS))
                if not retry or last:
                    raise
                ambiguous = ambiguous or isinstance(cause, _AMBIGUOUS)
                log.debug("retrying %s %s after %s (attempt %d/%d)", method, path, error, attempt, attempts)
                await self._backoff(attempt)
                continue
            status = response.status_code
            if not last and (status == 429 or (safe and status in RETRY_STATUSES)):
                ambiguous = ambiguous or status != 429
                log.debug("retrying %s %s after HTTP %d (attempt %d/%d)", method, path, status, attempt, attempts)
                await self._backoff(attempt, response)
                continue
            return response, ambiguous
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        """The JSON body of a 2xx answer (None when empty); ScimError otherwise."""
        if response.status_code >= 300:
            raise scim_error(response)
        content = response.content
        if not content.strip():
            return None
        try:
            return json.loads(content)
        except ValueError:
            ctype = response.headers.get("content-type", "no content type")
            raise ScimError(
                f"SCIM {response.status_code}: expected a JSON body, got {ctype}: {excerpt(response.text, 120)}",
                status=response.status_code,
                detail=excerpt(response.text),
                method=response.request.method,
                url=safe_url(response.request.url),
            ) from None

    async def _call(self, method: str, path: str, *, safe: bool = True, **kwargs: Any) -> Any:
        response, _ = await self._request(method, path, safe=safe, **kwargs)
        return self._json(response)

    @staticmethod
    def _coerce(params: Any, model: type[BaseModel]) -> Any:
        if isinstance(params, model):
            return params
        if isinstance(params, BaseModel):
            params = params.model_dump(by_alias=True, exclude_unset=True)
        try:
            return model.model_validate(params or {})
        except PydanticValidationError as exc:
            raise _validation_failed("params", exc) from None

    # -- generic resource operations ----------------------------------------------------------

    async def _create(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self._coerce(params, CreateParams)
        kind = _kind(kind_name)
        body = prepare_resource(kind_name, params.payload, "RESOURCE_CREATION_REQUEST")
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": SCIM_JSON}
        attempts = self.config.retry.attempts
        ambiguous_error: ConnectorError | None = None
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = await self._send_once("POST", kind.endpoint, None, content, headers)
            except ConnectorError as error:
                cause = error.__cause__
                if isinstance(cause, _NOT_SENT):
                    if last:
                        raise
                    await self._backoff(attempt)
                    continue
                if not isinstance(cause, _AMBIGUOUS):
                    raise
                ambiguous_error = error
                found = await self._lookup(kind, body, error)
                if found is not None:
                    return found
                if last:
                    raise
                await self._backoff(attempt)
                continue
            status = response.status_code
            if status == 429 and not last:
                await self._backoff(attempt, response)
                continue
            if status in RETRY_STATUSES:
                error = scim_error(response)
                ambiguous_error = error
                found = await self._lookup(kind, body, error)
                if found is not None:
                    return found
                if last:
                    raise error
                await self._backoff(attempt, response)
                continue
            if status == 409 and ambiguous_error is not None:
                # An earlier attempt may have created it after all.
                found = await self._lookup(kind, body, scim_error(response))
                if found is not None:
                    return found
            return self._json(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _lookup(self, kind: _Kind, body: dict[str, Any], error: ConnectorError) -> dict[str, Any] | None:
        """After an ambiguous create: the resource if the server has it, None if it does not.
        Raises `error` when the lookup itself fails (the outcome stays unknown)."""
        value = body.get(kind.key)
        if not isinstance(value, str) or not value:
            raise error
        query = {"filter": f"{kind.key} eq {_filter_value(value)}"}
        try:
            page = await self._call("GET", kind.endpoint, query=query)
        except ConnectorError as exc:
            log.warning("could not check whether the %s %r was created: %s", kind.name, value, exc.message)
            raise error from exc
        resources = (page or {}).get("Resources") or []
        for resource in resources:
            if isinstance(resource, dict) and str(resource.get(kind.key, "")).lower() == value.lower():
                log.info("the %s %r was created by an earlier attempt", kind.name, value)
                return resource
        return None

    async def _get(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self._coerce(params, GetParams)
        kind = _kind(kind_name)
        return await self._call("GET", f"{kind.endpoint}/{quote(params.id, safe='')}", query=_attributes_query(params))

    async def _list(self, endpoint: str, params: Any, *, search: bool) -> dict[str, Any]:
        params = self._coerce(params, ListParams)
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
        params = self._coerce(params, ReplaceParams)
        kind = _kind(kind_name)
        body = prepare_resource(kind_name, params.payload, "RESOURCE_REPLACEMENT_REQUEST")
        headers = {"If-Match": params.version} if params.version else None
        return await self._call("PUT", f"{kind.endpoint}/{quote(params.id, safe='')}", body=body, headers=headers)

    async def _patch(self, kind_name: str, params: Any) -> dict[str, Any]:
        params = self._coerce(params, PatchParams)
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
        params = self._coerce(params, DeleteParams)
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
        params = self._coerce(params, BulkParams)
        operations = []
        for i, op in enumerate(params.operations):
            item: dict[str, Any] = {"method": op.method, "path": op.path}
            if op.bulkId is not None:
                item["bulkId"] = op.bulkId
            elif op.method == "POST":
                raise ValidationFailed(f"invalid bulk operation [{i}]: POST needs a bulkId")
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
        segments = [s for s in op.path.split("/") if s]
        kind_name = {"users": "User", "groups": "Group"}.get(segments[0].lower()) if segments else None
        if op.method == "DELETE" or op.data is None:
            if op.method in ("POST", "PUT", "PATCH"):
                raise ValidationFailed(f"invalid bulk operation [{i}]: {op.method} needs data")
            return None
        if kind_name is None:
            return op.data  # another resource type: the server decides
        try:
            if op.method == "POST":
                return prepare_resource(kind_name, op.data, "RESOURCE_CREATION_REQUEST")
            if op.method == "PUT":
                return prepare_resource(kind_name, op.data, "RESOURCE_REPLACEMENT_REQUEST")
            data = op.data
            ops = data.get("Operations") if isinstance(data, dict) else data
            if not isinstance(ops, list):
                raise ValidationFailed(f"invalid bulk operation [{i}]: PATCH data needs Operations")
            return prepare_patch(kind_name, ops)
        except ValidationFailed as exc:
            raise ValidationFailed(f"bulk operation [{i}]: {exc.message}", detail=exc.detail) from None

    async def getServiceProviderConfig(self, params: Any = None) -> dict[str, Any]:
        self._coerce(params, NoParams)
        return await self._call("GET", "ServiceProviderConfig")

    async def getResourceTypes(self, params: Any = None) -> dict[str, Any]:
        self._coerce(params, NoParams)
        result = await self._call("GET", "ResourceTypes")
        if isinstance(result, dict):
            result.setdefault("Resources", [])
        return result

    async def getSchemas(self, params: Any = None) -> dict[str, Any]:
        self._coerce(params, NoParams)
        result = await self._call("GET", "Schemas")
        if isinstance(result, dict):
            result.setdefault("Resources", [])
        return result


def _status_int_like(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
