"""The schema walk: pydantic's error locations as the values' key paths.

A discriminated union's tag (`auth.oauth2-client-credentials.authMethod`) is dropped because
the model's discriminator says it is one, not because it looks like one; a smart union's member
label (`str`, `list[str]`) likewise. The validation (`workbench.project.validation`) maps every
error through `locate` and asks `keys_of` for "did you mean".

Headless: never imports textual.
"""

from __future__ import annotations

import types as _types
import typing
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from workbench.connectors.messages import MISSING


def _unwrap(annotation: Any, disc: Any = None) -> tuple[Any, Any]:
    """Strip Annotated (keeping its discriminator) and Optional."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            args = typing.get_args(annotation)
            annotation = args[0]
            for meta in args[1:]:
                d = getattr(meta, "discriminator", None)
                if d is not None:
                    disc = d
            continue
        if origin in (typing.Union, _types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation, disc


def disc_key(disc: Any) -> str | None:
    if isinstance(disc, str):
        return disc
    inner = getattr(disc, "discriminator", None)
    return inner if isinstance(inner, str) else None


def _member_for(members: list, disc: Any, part: Any) -> Any:
    """The member of a discriminated union whose tag is `part`, or MISSING."""
    from workbench.connectors.introspect import tag_of

    key = disc_key(disc)
    for member in members:
        if typing.get_origin(member) is typing.Annotated:
            for meta in typing.get_args(member)[1:]:
                if getattr(meta, "tag", MISSING) == part and type(meta).__name__ == "Tag":
                    return typing.get_args(member)[0]
            member = typing.get_args(member)[0]
        if key and isinstance(member, type) and issubclass(member, BaseModel) and tag_of(member, key) == part:
            return member
    return MISSING


def _label_matches(member: Any, part: str) -> bool:
    """Whether `part` is pydantic's label of a smart union's member (`str`, `list[str]`, `Model`)."""
    base, _ = _unwrap(member)
    name = getattr(base, "__name__", None) or getattr(typing.get_origin(base), "__name__", "")
    return part == name or part.startswith((f"{name}[", "function-", "json-or-python["))


@lru_cache(maxsize=512)
def _fields_by_key(model: type[BaseModel]) -> dict[str, Any]:
    out = {}
    for name, info in model.model_fields.items():
        out[name] = info
        if info.alias:
            out[info.alias] = info
    return out


@lru_cache(maxsize=4096)
def locate(model: Any, loc: tuple) -> tuple[tuple, Any, Any]:
    """pydantic's error location as the values' key path, with the annotation and the
    discriminator at the end: ("auth", "oauth2-client-credentials", "authMethod") ->
    ("auth", "authMethod"), since `auth` is a union discriminated by `type`."""
    out: list = []
    annotation, disc = model, None
    for part in loc:
        annotation, disc = _unwrap(annotation, disc)
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, _types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if disc is not None:
                member = _member_for(members, disc, part)
                if member is not MISSING:
                    annotation, disc = member, None
                    continue
            elif isinstance(part, str):
                chosen = next((m for m in members if _label_matches(m, part)), MISSING)
                if chosen is not MISSING:
                    annotation, disc = chosen, None
                    continue
            out.append(part)
            annotation, disc = Any, None
            continue
        if part == "[key]":
            continue
        out.append(part)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = _fields_by_key(annotation).get(part) if isinstance(part, str) else None
            if info is None:
                annotation, disc = Any, None
            else:
                annotation, disc = info.annotation, info.discriminator
                for meta in info.metadata:
                    d = getattr(meta, "discriminator", None)
                    if d is not None:
                        disc = d
        elif origin in (list, tuple, set, frozenset):
            args = typing.get_args(annotation)
            annotation, disc = (args[0] if args else Any), None
        elif origin is dict:
            args = typing.get_args(annotation)
            annotation, disc = (args[1] if len(args) == 2 else Any), None
        else:
            annotation, disc = Any, None
    annotation, disc = _unwrap(annotation, disc)
    return tuple(out), annotation, disc


def keys_of(model: Any, parent: tuple, data: Any) -> list[str]:
    """The keys a table at `parent` may have (for "did you mean")."""
    _, annotation, disc = locate(model, parent)
    if typing.get_origin(annotation) in (typing.Union, _types.UnionType) and disc is not None:
        node = value_at(data, parent)
        tag = node.get(disc_key(disc)) if isinstance(node, Mapping) else None
        member = _member_for([a for a in typing.get_args(annotation) if a is not type(None)], disc, tag)
        annotation = member if member is not MISSING else Any
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    return []


def value_at(data: Any, path: tuple) -> Any:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return MISSING
    return node
