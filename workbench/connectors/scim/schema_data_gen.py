"""Generates `schema_data.py` from scim2-models, as plain data: what a User, Group or
EnterpriseUser payload must be in a creation or replacement request, and what a PATCH path may
name (`RULES`, for `request_rules.py` and `patch_rules.py`), and the attributes of their SCIM
schemas (`SCHEMAS`, for `types.py`), so neither `run` nor `check` imports scim2-models for them.

    .venv/bin/python -m workbench.connectors.scim.schema_data_gen    # rewrites the data file

tests/test_scim_request_rules.py regenerates it and compares, so an upgrade of scim2-models
that changes its models fails the tests until the file is generated again.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.networks import EmailStr
from scim2_models import EnterpriseUser, Group, Mutability, Required, User
from scim2_models.attributes import ExtensibleStringEnum

DATA_FILE = Path(__file__).with_name("schema_data.py")
# The annotations on a field that do not constrain its value in a request (serializers only dump).
_SCIM_MARKS = ("Required", "Mutability", "Returned", "CaseExact", "Uniqueness", "WrapSerializer", "PlainSerializer")


def _kind(model: Any, field_name: str) -> tuple[str, str | None]:
    """(kind, sub-model name): "string", "boolean", "email", "complex", or "other" for anything
    the plain validator leaves to scim2-models (references, dates, binary, constrained values)."""
    info = model.model_fields[field_name]
    if any(type(mark).__name__ not in _SCIM_MARKS for mark in info.metadata):
        return "other", None
    root = model.get_field_root_type(field_name)
    if root is bool:
        return "boolean", None
    if root is str or (isinstance(root, type) and issubclass(root, ExtensibleStringEnum)):
        return "string", None
    if root is EmailStr:
        return "email", None
    if isinstance(root, type) and issubclass(root, BaseModel):
        return "complex", root.__name__
    return "other", None


def _model_rules(model: Any, name: str, out: dict[str, Any], top: bool) -> None:
    attrs: dict[str, tuple] = {}
    required: list[str] = []
    read_only: list[str] = []
    for field_name in model.model_fields:
        scim_name = model.__scim_info__.validation_names[field_name]
        kind, sub = _kind(model, field_name)
        if field_name == "schemas" and not top:
            kind = "other"  # an extension's schemas must hold its URN: left to scim2-models
        multi = bool(model.get_field_multiplicity(field_name))
        primary = False
        if sub is not None:
            root = model.get_field_root_type(field_name)
            primary = multi and "primary" in root.model_fields
            if sub not in out:
                out[sub] = {"class": root}  # claimed before the walk: a model may refer back to itself
                _model_rules(root, sub, out, top=False)
            elif out[sub].get("class", root) is not root:
                raise ValueError(f"two sub-models named {sub}: the rules name them by class name")
        attrs[scim_name.lower()] = (scim_name, kind, multi, sub, primary)
        # An omitted `schemas` is tolerated (scim2-models checks it is not empty only when given).
        if field_name != "schemas" and model.get_field_annotation(field_name, Required) == Required.true:
            required.append(scim_name)
        if model.get_field_annotation(field_name, Mutability) == Mutability.read_only:
            read_only.append(scim_name)  # a PATCH path cannot name it (patch_rules.py)
    out[name] = {"class": model, **out.get(name, {}), "attributes": attrs, "required": tuple(required),
                 "read_only": tuple(read_only)}


def _known_keys(model: Any) -> dict[str, str]:
    """Lowercased top-level key -> its canonical spelling, as `payload.py` splits a payload."""
    keys = {}
    for field_name, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else None
        canonical = info.serialization_alias or info.alias or alias or field_name
        keys[(alias or info.alias or field_name).lower()] = canonical
    return keys


def _schema_attribute(attr: Any) -> tuple:
    """(name, type, multi-valued, required, description, canonical values, read-only, sub-attributes)."""
    mutability = str(getattr(getattr(attr, "mutability", None), "value", "") or "")
    return (attr.name, str(getattr(attr.type, "value", attr.type) or "string"), bool(attr.multi_valued),
            bool(getattr(attr.required, "value", attr.required)), attr.description or "",
            tuple(attr.canonical_values or ()), mutability == "readOnly",
            tuple(_schema_attribute(sub) for sub in attr.sub_attributes or ()))


def build() -> tuple[dict[str, Any], dict[str, Any]]:
    """(RULES, SCHEMAS)."""
    # User[EnterpriseUser] holds the extension as a sub-model: the rules of `scim.EnterpriseUser`.
    tops = {"User": User[EnterpriseUser], "Group": Group}
    models: dict[str, Any] = {}
    for name, model in tops.items():
        models[name] = {}
        _model_rules(model, name, models, top=True)
    for rules_of in models.values():
        del rules_of["class"]
    # The schema URNs (lowercased) a PATCH path may be qualified with, and the model each names.
    path_schemas = {name: {str(model.__schema__).lower(): name, **{
        urn.lower(): extension.__name__ for urn, extension in model.get_extension_models().items()}}
        for name, model in tops.items()}
    rules = {"version": version("scim2-models"), "models": models,
             "known_keys": {name: _known_keys(model) for name, model in tops.items()}, "path_schemas": path_schemas}
    schemas = {}
    for name, model in (("User", User), ("Group", Group), ("EnterpriseUser", EnterpriseUser)):
        schema = model.to_schema()
        schemas[name] = {"id": schema.id, "description": schema.description or "",
                         "attributes": tuple(_schema_attribute(attr) for attr in schema.attributes)}
    return rules, schemas


def _lines(value: dict[str, Any], indent: str = "    ") -> str:
    """A dict of dicts, one entry of the innermost level a line (the data file stays readable)."""
    out = ["{"]
    for key in sorted(value):
        item = value[key]
        if isinstance(item, dict) and any(isinstance(v, (dict, tuple)) for v in item.values()):
            out.append(f"{indent}{key!r}: {_lines(item, indent + '    ')},")
        elif isinstance(item, tuple) and item and all(isinstance(v, tuple) for v in item):
            out.append(f"{indent}{key!r}: (")
            out += [f"{indent}    {row!r}," for row in item]
            out.append(f"{indent}),")
        else:
            out.append(f"{indent}{key!r}: {item!r},")
    out.append(indent[4:] + "}")
    return "\n".join(out)


def render(data: tuple[dict[str, Any], dict[str, Any]]) -> str:
    rules, schemas = data
    return (
        '"""Generated by `python -m workbench.connectors.scim.schema_data_gen` from scim2-models: do not edit.\n\n'
        "RULES, per model: attributes (lowercased name -> (name, kind, multi-valued, sub-model, has\n"
        "primary)), the required ones and the read-only ones; the top-level keys payload.py knows, per\n"
        "resource; the schema URNs a PATCH path may start with, per resource. SCHEMAS: each\n"
        "type's SCIM schema, its attributes as (name, type, multi-valued, required, description,\n"
        'canonical values, read-only, sub-attributes)."""\n\n'
        "# fmt: off\n"
        f"RULES = {_lines(rules)}\n\n"
        f"SCHEMAS = {_lines(schemas)}\n"
    )


def main() -> int:
    DATA_FILE.write_text(render(build()), encoding="utf-8")
    print(f"wrote {DATA_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
