"""The SCIM 2.0 connector spec: metadata and pydantic schemas only.

The implementation (`ScimConnection`) lives in `workbench.connectors.scim.client` and is imported
only when a run opens the connection.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.connectors.auth import AuthConfig, NoAuthConfig
from workbench.connectors.base import ConnectorSpec, HeaderMap, OperationSpec, TypeSpec, http_url

__all__ = ["SPEC", "ScimConnectionConfig", "RetryConfig"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RetryConfig(_Model):
    attempts: int = Field(3, ge=1, le=10, description="Attempts in all, including the first")
    backoff: float = Field(0.5, ge=0, le=60, description="Seconds before the first retry; doubles each retry")


class ScimConnectionConfig(_Model):
    # The auth table holds secrets: a ValidationError must not echo the input (see parse_auth).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, hide_input_in_errors=True)

    serviceUrl: str = Field(description="The SCIM base URL, e.g. https://api.asgardeo.io/t/<org>/scim2")
    auth: AuthConfig = Field(default_factory=NoAuthConfig, description="How to authenticate")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds per HTTP request, a deadline for all of it")
    retry: RetryConfig = Field(default_factory=RetryConfig, description="Retries of safe requests")
    verifyTls: bool = Field(True, description="Verify the server's TLS certificate")
    maxResponseMiB: float = Field(50, gt=0, le=4096, description="Largest answer body to read, in MiB")
    headers: HeaderMap = Field(default_factory=dict, description="Extra headers on every request")
    pageSize: int = Field(100, ge=1, le=1000, description="Resources per page when listing them all "
                          "(capped by the server's filter.maxResults)")

    @field_validator("serviceUrl")
    @classmethod
    def _url(cls, value: str) -> str:
        return http_url(value)


# -- params ---------------------------------------------------------------------------------


def _attribute_list(value: Any) -> Any:
    # "userName, emails" reads better in TOML than a list; accept both.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _attributes_field() -> Any:
    return Field(None, description="Only return these attributes (a list, or comma-separated)")


def _excluded_field() -> Any:
    return Field(None, description="Do not return these attributes (a list, or comma-separated)")


class CreateParams(_Model):
    payload: dict[str, Any] = Field(description="The SCIM resource (schemas is added when missing)")


# The attributes a new resource usually has: forms offer them as fields to fill in.
USER_SKELETON = {
    "userName": "", "displayName": "", "name": {"givenName": "", "familyName": ""},
    "emails": [{"value": "", "type": "work", "primary": True}], "title": "", "active": True,
}
GROUP_SKELETON = {"displayName": "", "members": [{"value": ""}]}


class CreateUserParams(CreateParams):
    payload: dict[str, Any] = Field(
        description="The SCIM User: userName is required (schemas is added when missing)",
        json_schema_extra={"skeleton": USER_SKELETON},
    )


class CreateGroupParams(CreateParams):
    payload: dict[str, Any] = Field(
        description="The SCIM Group: displayName is required (schemas is added when missing)",
        json_schema_extra={"skeleton": GROUP_SKELETON},
    )


class EnsureParams(_Model):
    payload: dict[str, Any] = Field(description="The desired resource (schemas is added when missing)")
    matchOn: str | None = Field(
        None, description="The attribute that identifies it on the server: userName/displayName by default, "
        "or externalId, or any attribute path")
    clearMissing: bool = Field(False, description="A null in the payload clears that attribute")


class EnsureUserParams(EnsureParams):
    payload: dict[str, Any] = Field(
        description="The desired SCIM User: created when absent, updated when it differs",
        json_schema_extra={"skeleton": USER_SKELETON},
    )


class EnsureGroupParams(EnsureParams):
    payload: dict[str, Any] = Field(
        description="The desired SCIM Group: created when absent, updated when it differs",
        json_schema_extra={"skeleton": GROUP_SKELETON},
    )


class SyncParams(_Model):
    desired: list[dict[str, Any]] = Field(description="The resources the server should have in scope (e.g. from a CSV)")
    scope: str = Field(min_length=1, description='The SCIM filter of the resources this sync manages, e.g. '
                       '\'externalId pr\': never all of them')
    matchOn: str | None = Field(None, description="The key shared by source and server (userName/displayName by default)")
    deprovision: Literal["deactivate", "delete", "none"] = Field(
        "deactivate", description="What happens to a resource in scope that the source no longer has")
    maxChanges: int | str | None = Field(
        None, description='Refuse a plan that changes more than this: a count, or a percentage of those in scope ("10%")')
    force: bool = Field(False, description="Apply a plan over maxChanges")
    planOnly: bool = Field(False, description="Compute and return the plan; send no write request")
    concurrency: int = Field(4, ge=1, le=64, description="Changes applied at once")
    clearMissing: bool = Field(False, description="A null in a desired resource clears that attribute")


class GetParams(_Model):
    id: str = Field(min_length=1, description="The resource id")
    attributes: list[str] | None = _attributes_field()
    excludedAttributes: list[str] | None = _excluded_field()

    _split = field_validator("attributes", "excludedAttributes", mode="before")(_attribute_list)


class ListParams(_Model):
    filter: str | None = Field(None, description='A SCIM filter, e.g. userName eq "bjensen"')
    startIndex: int | None = Field(None, ge=1, description="1-based index of the first result")
    count: int | None = Field(None, ge=0, description="Results per page")
    attributes: list[str] | None = _attributes_field()
    excludedAttributes: list[str] | None = _excluded_field()
    sortBy: str | None = Field(None, description="Attribute to sort by")
    sortOrder: Literal["ascending", "descending"] | None = Field(None, description="Sort order")
    all: bool = Field(False, description="Follow every page and return all the resources")

    _split = field_validator("attributes", "excludedAttributes", mode="before")(_attribute_list)


class ReplaceParams(_Model):
    id: str = Field(min_length=1, description="The resource id")
    payload: dict[str, Any] = Field(description="The full resource")
    version: str | None = Field(None, description="Send If-Match with this ETag (meta.version)")


class PatchOperation(_Model):
    op: str = Field(description="add, remove or replace")
    path: str | None = Field(None, description="The attribute path")
    value: Any = Field(None, description="The value")


class PatchParams(_Model):
    id: str = Field(min_length=1, description="The resource id")
    operations: list[PatchOperation] = Field(min_length=1, description="PATCH operations")
    version: str | None = Field(None, description="Send If-Match with this ETag (meta.version)")
    attributes: list[str] | None = Field(
        None, description="Ask the server to return the patched resource with these attributes"
    )

    _split = field_validator("attributes", mode="before")(_attribute_list)


class DeleteParams(_Model):
    id: str = Field(min_length=1, description="The resource id")
    version: str | None = Field(None, description="Send If-Match with this ETag (meta.version)")


class BulkOperation(_Model):
    method: Literal["POST", "PUT", "PATCH", "DELETE"] = Field(description="HTTP method")
    path: str = Field(min_length=1, description='e.g. "/Users" or "/Users/<id>"')
    bulkId: str | None = Field(None, description="Required for POST; referenced as bulkId:<id>")
    version: str | None = Field(None, description="If-Match ETag")
    data: Any = Field(None, description="The resource (POST/PUT) or a PatchOp / list of operations (PATCH)")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class BulkParams(_Model):
    operations: list[BulkOperation] = Field(min_length=1, description="Bulk operations")
    failOnErrors: int | None = Field(None, ge=1, description="Stop after this many errors")


class NoParams(_Model):
    pass


# -- operations -------------------------------------------------------------------------------


# The payload against its resource schema (scim2-models, imported only when there is one to check).
_PAYLOAD_CHECKS = "workbench.connectors.scim.payload:param_errors"


def _resource_ops(kind: str, plural: str, key: str) -> dict[str, OperationSpec]:
    lower = kind.lower()
    ops = [
        OperationSpec(
            f"create{kind}",
            f"Create {kind}",
            f"POST /{plural}. The payload is validated before sending; after an ambiguous failure "
            f"the {lower} is looked up by {key} instead of blindly re-sent. Returns the created {lower}.",
            CreateUserParams if kind == "User" else CreateGroupParams,
            result=kind,
            idempotent=False,
            checks=_PAYLOAD_CHECKS,
            payload_type=kind,
        ),
        OperationSpec(
            f"ensure{kind}",
            f"Ensure {kind}",
            f"Make the {lower} on the server match the payload, idempotently: created when absent "
            f"(matched on {key} or matchOn), a minimal PATCH (or PUT without PATCH support) when it "
            f"differs, nothing when equal. Returns {{status: created|updated|unchanged, changed, resource}}.",
            EnsureUserParams if kind == "User" else EnsureGroupParams,
            result="EnsureResult",
            checks=_PAYLOAD_CHECKS,
            payload_type=kind,
        ),
        OperationSpec(f"get{kind}", f"Get {kind}", f"GET /{plural}/<id>. Returns the {lower}.", GetParams, result=kind,
                      reads_only=True),
        OperationSpec(
            f"list{plural}",
            f"List {plural}",
            f"GET /{plural} with filter, paging and sorting. Returns the ListResponse "
            "(Resources is always present; all=true follows every page).",
            ListParams,
            result="ListResponse",
            reads_only=True,
        ),
        OperationSpec(
            f"search{plural}",
            f"Search {plural}",
            f"POST /{plural}/.search (a SearchRequest body). Returns the ListResponse.",
            ListParams,
            result="ListResponse",
            reads_only=True,
        ),
        OperationSpec(
            f"replace{kind}",
            f"Replace {kind}",
            f"PUT /{plural}/<id> (If-Match when version is given). Returns the {lower}.",
            ReplaceParams,
            result=kind,
            checks=_PAYLOAD_CHECKS,
            payload_type=kind,
        ),
        OperationSpec(
            f"patch{kind}",
            f"Patch {kind}",
            f"PATCH /{plural}/<id> with a PatchOp. Returns the {lower} when the server sends it, "
            '{"id": ...} (plus meta.version when an ETag came back) on 204 No Content.',
            PatchParams,
            result=kind,
            idempotent=False,
            checks=_PAYLOAD_CHECKS,
        ),
        OperationSpec(
            f"delete{kind}",
            f"Delete {kind}",
            f'DELETE /{plural}/<id> (If-Match when version is given). Returns {{"id": ...}}.',
            DeleteParams,
            result="object",
        ),
    ]
    return {op.name: op for op in ops}


_OPERATIONS: dict[str, OperationSpec] = {
    **_resource_ops("User", "Users", "userName"),
    **_resource_ops("Group", "Groups", "displayName"),
    "syncUsers": OperationSpec(
        "syncUsers",
        "Sync Users",
        "Reconcile the users in scope with the desired ones: create, update (minimal PATCH), deprovision "
        "(deactivate or delete), with a maxChanges guard; planOnly returns the plan and writes nothing. "
        "Returns the report: counts, create, update (with per-attribute changes), deprovision, failed.",
        SyncParams,
        result="SyncReport",
        idempotent=False,
        checks=_PAYLOAD_CHECKS,
        result_lines="workbench.connectors.scim.sync:plan_lines",
        payload_type="User",
    ),
    "syncGroups": OperationSpec(
        "syncGroups",
        "Sync Groups",
        "Reconcile the groups in scope with the desired ones, members added and removed one by one. "
        "Returns the report, as syncUsers does.",
        SyncParams,
        result="SyncReport",
        idempotent=False,
        checks=_PAYLOAD_CHECKS,
        result_lines="workbench.connectors.scim.sync:plan_lines",
        payload_type="Group",
    ),
    "bulk": OperationSpec(
        "bulk",
        "Bulk",
        "POST /Bulk with several operations (bulkId references allowed). Returns the BulkResponse.",
        BulkParams,
        result="BulkResponse",
        idempotent=False,
        checks=_PAYLOAD_CHECKS,
    ),
    "getServiceProviderConfig": OperationSpec(
        "getServiceProviderConfig",
        "Get Service Provider Config",
        "GET /ServiceProviderConfig: what the server supports (patch, bulk, filter, etag...).",
        NoParams,
        result="ServiceProviderConfig",
        reads_only=True,
    ),
    "getResourceTypes": OperationSpec(
        "getResourceTypes",
        "Get Resource Types",
        "GET /ResourceTypes. Returns the ListResponse.",
        NoParams,
        result="ListResponse",
        reads_only=True,
    ),
    "getSchemas": OperationSpec(
        "getSchemas", "Get Schemas", "GET /Schemas. Returns the ListResponse.", NoParams, result="ListResponse",
        reads_only=True,
    ),
}

SPEC = ConnectorSpec(
    id="scim",
    name="SCIM 2.0",
    package="workbench/scim",
    version="0.1.0",
    description="Provision users and groups on any SCIM 2.0 service provider (RFC 7643/7644).",
    category="Identity",
    connection=ScimConnectionConfig,
    operations=_OPERATIONS,
    implementation="workbench.connectors.scim.client:ScimConnection",
    keywords=("scim", "identity", "provisioning", "users", "groups", "idp", "iam", "rfc7644"),
    icon="👤",
    types={name: TypeSpec(name, description, "workbench.connectors.scim.types:attributes",
                          "workbench.connectors.scim.types:type_errors")
           for name, description in (("User", "A SCIM 2.0 User (RFC 7643 §4.1), with the enterprise extension"),
                                     ("Group", "A SCIM 2.0 Group (RFC 7643 §4.2)"),
                                     ("EnterpriseUser", "The enterprise User extension (RFC 7643 §4.3)"))},
)
