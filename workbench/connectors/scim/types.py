"""The types the SCIM connector exports to data mappers: `scim.User`, `scim.Group` and
`scim.EnterpriseUser`. Their attributes are scim2-models' schemas (schema_data.py, generated from
them); their checks are the connector's own (`payload.resource_errors`), so a mapper's output is
refused by `check` exactly when `createUser` would refuse it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from workbench.connectors.base import Attribute
from workbench.connectors.scim.payload import not_an_object, resource_errors
from workbench.connectors.scim.request_rules import model_accepts
from workbench.connectors.scim.schema_data import SCHEMAS


def _attribute(row: tuple) -> Attribute:
    name, type_, multi_valued, required, description, canonical, read_only, sub = row
    return Attribute(name, type_, multi_valued, required, description, canonical, read_only,
                     tuple(_attribute(item) for item in sub))


@lru_cache(maxsize=8)
def attributes(name: str) -> tuple[Attribute, ...]:
    """The type's attributes; a User also has the enterprise extension, as one complex attribute
    named by its URN (the path prefix of its attributes)."""
    out = [_attribute(row) for row in SCHEMAS[name]["attributes"] if row[0] not in ("id", "meta", "groups")]
    if name != "EnterpriseUser":  # a common attribute (RFC 7643 §3.1): the source system's id
        out.insert(1 if name == "User" else 0, Attribute("externalId", description="The id of the resource in the "
                                                         "provisioning client (an HR system's employee id)"))
    if name == "User":
        ext = SCHEMAS["EnterpriseUser"]
        out.append(Attribute(ext["id"], "complex", description=ext["description"] or "Enterprise User extension",
                             sub=tuple(_attribute(row) for row in ext["attributes"])))
    return tuple(out)


def type_errors(name: str, value: Any) -> list[dict[str, Any]]:
    """What the connector would refuse in a value of the type, as pydantic-style error dicts."""
    if name in ("User", "Group"):
        return resource_errors(name, value, "RESOURCE_CREATION_REQUEST")
    if not isinstance(value, dict):
        return not_an_object(value)
    if model_accepts("EnterpriseUser", value):
        return []
    # Heavy (~0.2 s): only when the plain rules are unsure.
    from pydantic import ValidationError
    from scim2_models import EnterpriseUser

    try:
        EnterpriseUser.model_validate(value)
    except ValidationError as exc:
        return [{**err, "loc": tuple(err["loc"])} for err in exc.errors(include_url=False)]
    return []
