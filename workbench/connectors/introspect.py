"""Schema introspection of connector models: the one place that walks pydantic annotations, for
`workbench connectors show`, the app's generated forms and the secret fields of a spec."""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any


def describe_fields(model: Any, prefix: str = "") -> list[dict[str, Any]]:
    """A flat description of a pydantic model's fields: name (alias, dotted for nested models),
    type, required, default, description, secret, and `variants` for discriminated unions."""
    from pydantic import BaseModel, SecretBytes, SecretStr

    out: list[dict[str, Any]] = []
    for name, info in model.model_fields.items():
        key = prefix + (info.alias or name)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        annotation = info.annotation
        row: dict[str, Any] = {
            "name": key,
            "type": type_name(annotation),
            "required": info.is_required(),
            "description": (info.description or "").strip(),
            "secret": bool(extra.get("secret")) or _is_secret_type(annotation, SecretStr, SecretBytes),
        }
        if not info.is_required():
            default = default_of(info)
            row["default"] = _jsonable(None if default is MISSING else default)
        nested = models_in(annotation, BaseModel)
        if len(nested) == 1:
            out.append(row)
            out.extend(describe_fields(nested[0], key + ("[]." if _is_list(annotation) else ".")))
            continue
        if len(nested) > 1:
            variants = []
            for sub in nested:
                tag = tag_of(sub)
                variants.append({"type": tag or sub.__name__, "fields": describe_fields(sub)})
            row["variants"] = variants
        out.append(row)
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)


def _is_secret_type(annotation: Any, *secret_types: type) -> bool:
    if annotation in secret_types:
        return True
    return any(_is_secret_type(a, *secret_types) for a in getattr(annotation, "__args__", ()) or ())


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None)) and origin is not dict


def models_in(annotation: Any, base: type) -> list[type]:
    """The `base` subclasses an annotation can hold: itself, a union's members, a list's items."""
    if isinstance(annotation, type) and issubclass(annotation, base):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is dict:
        return []
    out: list[type] = []
    for arg in typing.get_args(annotation):
        for m in models_in(arg, base):
            if m not in out:
                out.append(m)
    return out


def tag_of(model: Any, tag_key: str = "type") -> str | None:
    """The tag of a discriminated union's member: its `Literal` or default `type`."""
    info = model.model_fields.get(tag_key)
    if info is None:
        return None
    if typing.get_origin(info.annotation) is typing.Literal:
        args = typing.get_args(info.annotation)
        return str(args[0]) if args else None
    return info.default if isinstance(info.default, str) else None


def type_name(annotation: Any) -> str:
    """A short readable name for a type annotation: `str`, `int | None`, `list[str]`, `dict[str, str]`."""
    import types
    if annotation is None or annotation is type(None):
        return "null"
    if annotation is typing.Any:
        return "any"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = []
        for a in args:
            n = type_name(a)
            if n not in names:
                names.append(n)
        # a discriminated union of models reads better as its tags
        return " | ".join(names)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        base = getattr(origin, "__name__", str(origin))
        if args:
            return f"{base}[{', '.join(type_name(a) for a in args)}]"
        return base
    if isinstance(annotation, type):
        from pydantic import BaseModel

        if issubclass(annotation, BaseModel):
            tag = tag_of(annotation)
            return tag or annotation.__name__
        return {"str": "str", "int": "int", "float": "float", "bool": "bool"}.get(annotation.__name__, annotation.__name__)
    return str(annotation)


# -- form descriptions (the app's generated forms) ------------------------------------------------


MISSING: Any = object()


@dataclass
class Variant:
    tag: str
    label: str
    fields: list[FieldSpec]


@dataclass
class FieldSpec:
    key: str
    kind: str  # text | integer | number | boolean | choice | list | mapping | any | model | union
    required: bool = False
    default: Any = MISSING
    description: str = ""
    secret: bool = False
    choices: tuple[str, ...] = ()
    item_kind: str = "any"  # the kind of a list's items
    children: list[FieldSpec] = field(default_factory=list)  # a nested model
    variants: list[Variant] = field(default_factory=list)  # a discriminated union
    discriminator: str = "type"
    skeleton: Any = None  # for a mapping: the keys a new value usually has (json_schema_extra)
    attributes: tuple = ()  # for a mapping of a connector's type (scim.User): its Attributes (base.Attribute)

    @property
    def is_scalar(self) -> bool:
        return self.kind not in ("model", "union")

    @property
    def config_type(self) -> str:
        """The configurable type that fits this field."""
        if self.kind == "list":
            return "int[]" if self.item_kind == "integer" else "string[]"
        return {"integer": "int", "number": "float", "boolean": "boolean"}.get(self.kind, "string")


def fields_of(model: Any) -> list[FieldSpec]:
    out = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        spec = _spec_for(info.annotation, info.alias or name, info.metadata)
        spec.required = info.is_required()
        spec.description = (info.description or "").strip()
        spec.secret = spec.secret or bool(extra.get("secret"))
        spec.skeleton = extra.get("skeleton")
        if not spec.required:
            spec.default = default_of(info)
        out.append(spec)
    return out


def default_of(info: Any) -> Any:
    """A field's default as JSON-like data (a model default dumped), MISSING when it has none."""
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    default = info.default
    if default is PydanticUndefined and info.default_factory is not None:
        try:
            default = info.default_factory()
        except TypeError:
            return MISSING
    if isinstance(default, BaseModel):
        return default.model_dump(mode="json", by_alias=True)
    return MISSING if default is PydanticUndefined else default


def _spec_for(annotation: Any, key: str, metadata: list | None = None) -> FieldSpec:
    from pydantic import BaseModel, SecretStr

    discriminator = next((m.discriminator for m in metadata or () if getattr(m, "discriminator", None)), None)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        inner_meta = [a for a in args[1:]]
        return _spec_for(args[0], key, list(metadata or []) + inner_meta)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _spec_for(options[0], key, metadata)
        models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
        if models and len(models) == len(options):
            tag_key = discriminator if isinstance(discriminator, str) else "type"
            variants = []
            for m in models:
                tag = _tag(m, tag_key)
                variants.append(Variant(tag, _label(m, tag), [f for f in fields_of(m) if f.key != tag_key]))
            return FieldSpec(key, "union", variants=variants, discriminator=tag_key)
        return FieldSpec(key, "any")
    if origin is typing.Literal:
        return FieldSpec(key, "choice", choices=tuple(str(a) for a in args))
    if origin in (list, tuple, set, frozenset):
        item = _spec_for(args[0], key) if args else FieldSpec(key, "any")
        return FieldSpec(key, "list", item_kind=item.kind if item.is_scalar else "any")
    if origin is dict:
        return FieldSpec(key, "mapping")
    if annotation is SecretStr:
        return FieldSpec(key, "text", secret=True)
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return FieldSpec(key, "model", children=fields_of(annotation))
        if issubclass(annotation, bool):
            return FieldSpec(key, "boolean")
        if issubclass(annotation, int):
            return FieldSpec(key, "integer")
        if issubclass(annotation, float):
            return FieldSpec(key, "number")
        if issubclass(annotation, str):
            return FieldSpec(key, "text")
    return FieldSpec(key, "any")


def _tag(model: Any, tag_key: str) -> str:
    return tag_of(model, tag_key) or model.__name__


_KNOWN_LABELS = {
    "oauth2-client-credentials": "OAuth2 client credentials",
    "bearer": "Bearer token",
    "basic": "Basic (user name and password)",
    "none": "None",
}


def _label(model: Any, tag: str = "") -> str:
    """A known label, else the docstring's first phrase ("OAuth2 client credentials: ...")."""
    if tag in _KNOWN_LABELS:
        return _KNOWN_LABELS[tag]
    doc = (model.__doc__ or "").strip()
    first = re.split(r"[:.\n]", doc, maxsplit=1)[0].strip()
    return first[:1].upper() + first[1:] if first else model.__name__


# -- text <-> values ----------------------------------------------------------------------------
