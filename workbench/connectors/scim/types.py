"""The types the SCIM connector exports to data mappers: `scim.User`, `scim.Group` and
`scim.EnterpriseUser`. Their attributes come from scim2-models' schemas (imported on first use);
their checks are the connector's own (`payload.resource_errors`), so a mapper's output is refused
by `check` exactly when `createUser` would refuse it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from workbench.connectors.base import Attribute


def _attribute(attr: Any) -> Attribute:
    mutability = str(getattr(getattr(attr, "mutability", None), "value", "") or "")
    return Attribute(
        name=attr.name,
        type=str(getattr(attr.type, "value", attr.type) or "string"),
        multi_valued=bool(attr.multi_valued),
        required=bool(getattr(attr.required, "value", attr.required)),
        description=attr.description or "",
        canonical=tuple(attr.canonical_values or ()),
        read_only=mutability == "readOnly",
        sub=tuple(_attribute(sub) for sub in attr.sub_attributes or ()),
    )


@lru_cache(maxsize=8)
def attributes(name: str) -> tuple[Attribute, ...]:
    """The type's attributes; a User also has the enterprise extension, as one complex attribute
    named by its URN (the path prefix of its attributes)."""
    from scim2_models import EnterpriseUser, Group, User

    model = {"User": User, "Group": Group, "EnterpriseUser": EnterpriseUser}[name]
    schema = model.to_schema()
    out = [_attribute(attr) for attr in schema.attributes if attr.name not in ("id", "meta", "groups")]
    if name != "EnterpriseUser":  # a common attribute (RFC 7643 §3.1): the source system's id
        out.insert(1 if name == "User" else 0, Attribute("externalId", description="The id of the resource in the "
                                                         "provisioning client (an HR system's employee id)"))
    if name == "User":
        ext = EnterpriseUser.to_schema()
        out.append(Attribute(ext.id, "complex", description=ext.description or "Enterprise User extension",
                             sub=tuple(_attribute(attr) for attr in ext.attributes)))
    return tuple(out)


def type_errors(name: str, value: Any) -> list[dict[str, Any]]:
    """What the connector would refuse in a value of the type, as pydantic-style error dicts."""
    from workbench.connectors.scim.payload import resource_errors

    if name in ("User", "Group"):
        return resource_errors(name, value, "RESOURCE_CREATION_REQUEST")
    from pydantic import ValidationError
    from scim2_models import EnterpriseUser

    if not isinstance(value, dict):
        return [{"loc": (), "type": "dict_type", "msg": "Input should be a valid dictionary", "input": value}]
    try:
        EnterpriseUser.model_validate(value)
    except ValidationError as exc:
        return [{**err, "loc": tuple(err["loc"])} for err in exc.errors(include_url=False)]
    return []
