"""SCIM payloads validated before any request: `prepare_resource` (a User or Group to create or
replace) and `prepare_patch` (PatchOp operations). A resource passes the plain rules generated
from scim2-models (request_rules.py), and PATCH operations theirs (patch_rules.py), or
scim2-models itself decides, imported then (~0.2 s)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from workbench.connectors.base import RuntimeObject, ValidationFailed, validation_failed
from workbench.connectors.scim.patch_rules import plain_operations
from workbench.connectors.scim.request_rules import KNOWN_KEYS, model_accepts

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@dataclass
class _Kind:
    name: str  # "User"
    endpoint: str  # "Users"
    core: str
    key: str  # the attribute to look a resource up by after an ambiguous create
    known_keys: dict[str, str]  # lowercased -> canonical attribute name or URN
    schemas: frozenset[str]  # the schemas scim2-models validates with, as spelled there
    known_schemas: frozenset[str] = frozenset()  # lowercased
    model: Any = None  # the scim2-models classes, imported when a payload needs them
    patch_model: Any = None

    def __post_init__(self) -> None:
        self.known_schemas = frozenset(s.lower() for s in self.schemas)


READ_ONLY = frozenset({"id", "meta", "groups"})  # lowercased; servers assign these

_KINDS: dict[str, _Kind] = {
    "User": _Kind("User", "Users", USER_SCHEMA, "userName", KNOWN_KEYS["User"], frozenset({USER_SCHEMA, ENTERPRISE_SCHEMA})),
    "Group": _Kind("Group", "Groups", GROUP_SCHEMA, "displayName", KNOWN_KEYS["Group"], frozenset({GROUP_SCHEMA})),
}


def _kind(name: str) -> _Kind:
    return _KINDS[name]


def _models(kind: _Kind) -> _Kind:
    """The kind with its scim2-models classes, built once (parametrized classes are costly)."""
    if kind.model is None:
        # Heavy (~0.2 s): only for a payload or PATCH operations the plain rules leave to scim2-models.
        from scim2_models import EnterpriseUser, Group, PatchOp, User

        # User[EnterpriseUser] accepts payloads with or without the enterprise extension.
        model = User[EnterpriseUser] if kind.name == "User" else Group
        kind.patch_model = PatchOp[model]
        kind.model = model
    return kind


def _ctx(name: str) -> Any:
    from scim2_models import Context

    return getattr(Context, name)


def _split(kind: _Kind, payload: dict[str, Any]) -> tuple[dict, dict, list[str], list[str]]:
    """(attributes scim2-models knows, with `schemas`; the others; the schemas given; the schemas
    it validates with). ValidationFailed when `schemas` is not a list of URNs."""
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
    return known, extra, given_schemas, schemas


def _validate(kind: _Kind, known: dict[str, Any], context: str) -> None:
    """Raises pydantic's ValidationError. The plain rules accept most valid payloads without
    scim2-models. Else scim2-models validates the types without the request context, and the
    rules check the context's own (required attributes, one primary per list): about 3x cheaper
    than validating in the context. On any doubt, that validation decides, and names the field."""
    schemas_known = all(s in kind.schemas for s in known["schemas"])
    if schemas_known and model_accepts(kind.name, known):
        return
    model = _models(kind).model
    model.model_validate(known, scim_ctx=None)
    if not (schemas_known and model_accepts(kind.name, known, types=False)):
        model.model_validate(known, scim_ctx=_ctx(context))


def not_an_object(value: Any) -> list[dict[str, Any]]:
    """pydantic's own error for a value that should be an object (a dict)."""
    return [{"loc": (), "type": "dict_type", "msg": "Input should be a valid dictionary", "input": value}]


def resource_errors(kind_name: str, payload: Any, context: str) -> list[dict[str, Any]]:
    """What `prepare_resource` would refuse in `payload`, as pydantic-style error dicts (`loc`
    the payload's own keys, `type`, `msg`, `ctx`, `input`), [] when it would send it. The one
    validation of a payload: `prepare_resource` raises on the same errors, and `workbench check`
    reports them."""
    kind = _kind(kind_name)
    if not isinstance(payload, dict):
        return not_an_object(payload)
    if type(payload) is RuntimeObject:  # `check` of a payload known only at run time: the run checks it
        return []
    try:
        known, _, _, _ = _split(kind, payload)
    except ValidationFailed:
        schemas = next((v for k, v in payload.items() if k.lower() == "schemas"), None)
        return [{"loc": ("schemas",), "type": "value_error", "msg": "must be a list of URNs",
                 "ctx": {"error": "must be a list of URNs"}, "input": schemas}]
    try:
        _validate(kind, known, context)
    except PydanticValidationError as exc:
        spelled = {key.lower(): key for key in payload}
        out = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            ctx = err.get("ctx") or {}
            if not loc and ctx.get("field_name"):  # scim2-models' context checks name the field
                loc = (str(ctx["field_name"]),)
            if loc and isinstance(loc[0], str):
                loc = (spelled.get(loc[0].lower(), loc[0]), *loc[1:])
            out.append({**err, "loc": loc})
        return out
    return []


def prepare_resource(kind_name: str, payload: Any, context: str) -> dict[str, Any]:
    """Validate a User/Group payload in the request `context` ("RESOURCE_CREATION_REQUEST" or
    "RESOURCE_REPLACEMENT_REQUEST"): the plain rules accept it (request_rules.py), or scim2-models
    decides. What is sent is the payload as written, with canonical attribute names.

    `schemas` is added when missing. Attributes scim2-models does not know (a custom extension,
    an attribute of a vendor schema) are kept as they were, and an unknown `urn:` key is added to
    `schemas`. Read-only attributes (`id`, `meta`, `groups`) are left out, as the context says.
    Raises `ValidationFailed` naming the field.
    """
    kind = _kind(kind_name)
    if not isinstance(payload, dict):
        raise ValidationFailed(f"invalid {kind.name} payload: expected an object, got {type(payload).__name__}")
    known, extra, given_schemas, schemas = _split(kind, payload)
    try:
        _validate(kind, known, context)
    except PydanticValidationError as exc:
        raise validation_failed(f"{kind.name} payload", exc) from None
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


BULK_ID_NEEDED = "invalid bulk operation [{i}]: POST needs a bulkId"


def bulk_data(i: int, method: str, path: str, data: Any) -> Any:
    """A bulk operation's `data` as it is sent: a User or Group payload prepared, a PatchOp for
    PATCH, None for DELETE; ValidationFailed naming the operation otherwise."""
    segments = [s for s in path.split("/") if s]
    kind_name = {"users": "User", "groups": "Group"}.get(segments[0].lower()) if segments else None
    if method == "DELETE" or data is None:
        if method in ("POST", "PUT", "PATCH"):
            raise ValidationFailed(f"invalid bulk operation [{i}]: {method} needs data")
        return None
    if kind_name is None:
        return data  # another resource type: the server decides
    try:
        if method == "POST":
            return prepare_resource(kind_name, data, "RESOURCE_CREATION_REQUEST")
        if method == "PUT":
            return prepare_resource(kind_name, data, "RESOURCE_REPLACEMENT_REQUEST")
        ops = data.get("Operations") if isinstance(data, dict) else data
        if not isinstance(ops, list):
            raise ValidationFailed(f"invalid bulk operation [{i}]: PATCH data needs Operations")
        return prepare_patch(kind_name, ops)
    except ValidationFailed as exc:
        raise ValidationFailed(f"bulk operation [{i}]: {exc.message}", detail=exc.detail) from None


def bulk_errors(operations: list[Any]) -> list[dict[str, Any]]:
    """What `bulk` refuses before it sends, as error dicts at each operation."""
    out: list[dict[str, Any]] = []
    for i, op in enumerate(operations):
        if not isinstance(op, dict) or not isinstance(op.get("method"), str) or not isinstance(op.get("path"), str):
            continue
        method = op["method"].upper()
        if op.get("bulkId") is None and method == "POST":
            message = BULK_ID_NEEDED.format(i=i)
            out.append({"loc": (i, "bulkId"), "type": "value_error", "msg": message, "ctx": {"error": "is required for POST"}})
            continue
        try:
            bulk_data(i, method, op["path"], op.get("data"))
        except ValidationFailed as exc:
            text = exc.message.split(": ", 1)[1] if exc.message.startswith("bulk operation [") else exc.message
            out.append({"loc": (i, "data"), "type": "value_error", "msg": text, "ctx": {"error": text}})
    return out


_RESOURCE_OPS = {
    "createUser": ("User", "RESOURCE_CREATION_REQUEST"),
    "createGroup": ("Group", "RESOURCE_CREATION_REQUEST"),
    "ensureUser": ("User", "RESOURCE_CREATION_REQUEST"),
    "ensureGroup": ("Group", "RESOURCE_CREATION_REQUEST"),
    "replaceUser": ("User", "RESOURCE_REPLACEMENT_REQUEST"),
    "replaceGroup": ("Group", "RESOURCE_REPLACEMENT_REQUEST"),
}


def param_errors(operation: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The deeper checks of an operation's params (`OperationSpec.checks`): a User or Group
    payload against its resource schema, as the operation checks it before it sends anything.
    `data` is the params as written (already valid against the params model)."""
    if operation in ("patchUser", "patchGroup") and isinstance(data, dict) and isinstance(data.get("operations"), list):
        # As the operation sends them: op, and path and value when given.
        ops = [{k: op[k] for k in ("op", "path", "value") if op.get(k) is not None}
               for op in data["operations"] if isinstance(op, dict)]
        if len(ops) != len(data["operations"]):
            return []
        return [{**err, "loc": ("operations", *err["loc"])} for err in patch_errors(operation[5:], ops)]
    if operation == "bulk" and isinstance(data, dict) and isinstance(data.get("operations"), list):
        return [{**err, "loc": ("operations", *err["loc"])} for err in bulk_errors(data["operations"])]
    if operation in ("syncUsers", "syncGroups") and isinstance(data, dict) and isinstance(data.get("desired"), list):
        for index, item in enumerate(data["desired"]):  # the sync stops at the first one it refuses
            errors = resource_errors(operation[4:-1], item, "RESOURCE_CREATION_REQUEST")
            if errors:
                return [{**err, "loc": ("desired", index, *err["loc"])} for err in errors]
        return []
    target = _RESOURCE_OPS.get(operation)
    if target is None or not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        return []
    kind_name, context = target
    errors = [{**err, "loc": ("payload", *err["loc"])} for err in resource_errors(kind_name, data["payload"], context)]
    if not errors and operation.startswith("ensure"):
        from workbench.connectors.scim.diff import value_at

        match_on = data.get("matchOn") or _KINDS[kind_name].key
        value = value_at(data["payload"], match_on) if isinstance(match_on, str) else None
        if isinstance(match_on, str) and (value is None or isinstance(value, (dict, list))):
            message = f"has no {match_on} value to match on"
            errors.append({"loc": ("payload",), "type": "value_error", "msg": message, "ctx": {"error": message}})
    return errors


def _patch(kind: _Kind, operations: list[dict[str, Any]]) -> dict[str, Any]:
    """The PatchOp body; raises pydantic's ValidationError (with `checked`'s indexes mapped in
    `patch_errors`). Operations on a path under an extension scim2-models does not know are kept
    as they are. The others pass the plain rules (patch_rules.py), which give what scim2-models
    would dump, or scim2-models validates and dumps them all."""
    checked: list[tuple[int, dict[str, Any]]] = []
    ops: list[dict[str, Any] | None] = []
    for i, op in enumerate(operations):
        path = op.get("path") if isinstance(op, dict) else None
        if isinstance(path, str) and path.lower().startswith("urn:") and not any(
            path.lower().startswith(s) for s in kind.known_schemas
        ):
            ops.append(op)  # a vendor extension: the server decides
        else:
            ops.append(None)
            checked.append((i, op))
    if checked:
        dumped = plain_operations(kind.name, [op for _, op in checked])
        if dumped is None:
            ctx = _ctx("RESOURCE_PATCH_REQUEST")
            try:
                dumped = _models(kind).patch_model.model_validate(
                    {"schemas": [PATCH_OP], "Operations": [op for _, op in checked]}, scim_ctx=ctx
                ).model_dump(scim_ctx=ctx)["Operations"]
            except PydanticValidationError as exc:
                exc.checked = [i for i, _ in checked]  # type: ignore[attr-defined]
                raise
        for (i, _), op in zip(checked, dumped, strict=True):
            ops[i] = op
    return {"schemas": [PATCH_OP], "Operations": ops}


def prepare_patch(kind_name: str, operations: list[dict[str, Any]]) -> dict[str, Any]:
    """A PatchOp body, as scim2-models (`PatchOp[User[EnterpriseUser]]` / `PatchOp[Group]`) dumps
    it in a PATCH request: the plain rules accept the common operations without it (patch_rules.py),
    or it validates them. Operations on a path under an extension scim2-models does not know are
    kept as they are."""
    kind = _kind(kind_name)
    try:
        return _patch(kind, operations)
    except PydanticValidationError as exc:
        raise validation_failed(f"{kind.name} PATCH operations", exc) from None


def patch_errors(kind_name: str, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What `prepare_patch` would refuse, as pydantic-style error dicts with `loc` from the
    operations list: (2, "op")."""
    try:
        _patch(_kind(kind_name), operations)
    except PydanticValidationError as exc:
        checked = getattr(exc, "checked", [])
        out = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if len(loc) >= 2 and loc[0] == "Operations" and isinstance(loc[1], int) and loc[1] < len(checked):
                loc = (checked[loc[1]], *loc[2:])
            elif loc[:1] == ("Operations",):
                loc = loc[1:]
            out.append({**err, "loc": loc})
        return out
    return []

