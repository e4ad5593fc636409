"""A data mapper's target paths: SCIM attribute paths (RFC 7644 §3.10) such as `userName`,
`name.givenName`, `emails[type eq "work"].value` (a value filter: the matching element is
created or updated) and `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department`
(an extension's attributes sit under its URN; `:department` works too).

`parse_target` checks a path against the output type's attributes (`connectors.base.Attribute`)
and spells names as the schema does (SCIM names are case-insensitive). `assign` writes a value
at a path; the compiled mappers (mappers.py) build the same shape faster.

Headless: never imports textual.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_\-]*")
_FILTER = re.compile(r"""\s*([A-Za-z_][A-Za-z0-9_\-]*)\s+eq\s+("(?:[^"\\]|\\.)*"|true|false|-?\d+(?:\.\d+)?)\s*""",
                     re.IGNORECASE)


class PathError(ValueError):
    """A target path that cannot be written; `warning` when it is only not in the schema."""

    def __init__(self, message: str, *, warning: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.warning = warning


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    filter: tuple[tuple[str, Any], ...] | None = None  # (("type", "work"),): the matching element


@dataclass(frozen=True, slots=True)
class TargetPath:
    text: str
    segments: tuple[Segment, ...]
    unknown: str = ""  # a name the schema does not have (a warning: sent as written)

    @property
    def top(self) -> str:
        return self.segments[0].name


def _value(text: str) -> Any:
    if text.startswith('"'):
        return json.loads(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return float(text) if "." in text else int(text)


def _split_urn(text: str, attributes: Sequence[Any]) -> tuple[str, str]:
    """(the URN, the rest) of a path that starts with `urn:`."""
    lowered = text.lower()
    for attr in attributes:
        name = attr.name.lower()
        if name.startswith("urn:") and lowered.startswith(name) and lowered[len(name):len(name) + 1] in (".", ":", ""):
            return attr.name, text[len(name) + 1:]
    urn, _, rest = text.rpartition(":")
    return urn, rest


def _segments(text: str, rest: str) -> list[Segment]:
    out: list[Segment] = []
    i = 0
    while True:
        match = _NAME.match(rest, i)
        if match is None:
            raise PathError(f"{text!r} is not an attribute path (expected a name at {rest[i:i + 10]!r})")
        name, i = match.group(), match.end()
        flt = None
        if rest.startswith("[", i):
            end = rest.find("]", i)
            if end < 0:
                raise PathError(f"{text!r}: '[' is not closed")
            flt = []
            for part in re.split(r"\s+and\s+", rest[i + 1:end], flags=re.IGNORECASE):
                found = _FILTER.fullmatch(part)
                if found is None:
                    raise PathError(f'{text!r}: a value filter reads like [type eq "work"] (attribute eq value)')
                flt.append((found.group(1), _value(found.group(2))))
            flt, i = tuple(flt), end + 1
        out.append(Segment(name, flt))
        if i == len(rest):
            return out
        if rest[i] != ".":
            raise PathError(f"{text!r} is not an attribute path (unexpected {rest[i]!r})")
        i += 1


def parse_target(text: str, attributes: Sequence[Any] = (), type_name: str = "") -> TargetPath:
    """The path, its names spelled as the schema spells them. Raises PathError: a syntax error,
    a value filter on a single-valued attribute, a sub-attribute of a simple one."""
    text = str(text).strip()
    if not text:
        raise PathError("an empty target path")
    segments: list[Segment] = []
    rest = text
    if text.lower().startswith("urn:"):
        urn, rest = _split_urn(text, attributes)
        if ":core:" in urn.lower():
            urn = ""  # the core schema's URN: its attributes are the top level
        elif not rest:
            raise PathError(f"{text!r}: name an attribute of the extension ({urn}.department)")
        if urn:
            segments.append(Segment(urn))
    segments += _segments(text, rest)
    return _resolve(text, segments, attributes, type_name)


def _resolve(text: str, segments: list[Segment], attributes: Sequence[Any], type_name: str) -> TargetPath:
    known: Sequence[Any] | None = attributes or None
    out: list[Segment] = []
    unknown = ""
    for index, seg in enumerate(segments):
        attr = None
        if known is not None:
            attr = next((a for a in known if a.name.lower() == seg.name.lower()), None)
            if attr is None and not unknown:
                where = f"{type_name} " if type_name else ""
                close = difflib.get_close_matches(seg.name, [a.name for a in known], n=1)
                unknown = f"{where}has no attribute {seg.name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                if index:  # a complex attribute's sub-attributes are all in the schema
                    parent = out[-1].name
                    raise PathError(f"{text!r}: {parent} has no sub-attribute {seg.name!r}"
                                    + (f" (did you mean {close[0]!r}?)" if close else ""))
        if attr is not None:
            last = index == len(segments) - 1
            if seg.filter is not None and not attr.multi_valued:
                raise PathError(f"{text!r}: {attr.name} is single-valued; a value filter needs a multi-valued attribute")
            if not last and not attr.sub:
                raise PathError(f"{text!r}: {attr.name} has no sub-attributes")
            flt = seg.filter
            if flt is not None and attr.sub:
                flt = tuple((_spelled(k, attr.sub), v) for k, v in flt)
            seg = Segment(attr.name, flt)
        out.append(seg)
        known = attr.sub if attr is not None and attr.sub else None
    return TargetPath(text, tuple(out), unknown)


def _spelled(name: str, attributes: Sequence[Any]) -> str:
    return next((a.name for a in attributes if a.name.lower() == name.lower()), name)


def attribute_at(path: TargetPath, attributes: Sequence[Any]) -> Any:
    """The schema's attribute a path ends on, or None."""
    attr = None
    known = attributes
    for seg in path.segments:
        attr = next((a for a in known if a.name == seg.name), None)
        if attr is None:
            return None
        known = attr.sub
    return attr


def assign(out: dict, path: TargetPath, value: Any) -> tuple:
    """Write `value` at `path` in `out`; returns where it went as keys (("emails", 0, "value")).
    A value filter finds the element whose attributes match, else appends one with them."""
    node: Any = out
    where: list = []
    segments = path.segments
    for index, seg in enumerate(segments):
        last = index == len(segments) - 1
        if seg.filter is None:
            if last:
                node[seg.name] = value
                where.append(seg.name)
                return tuple(where)
            child = node.get(seg.name)
            if not isinstance(child, dict):
                child = node[seg.name] = {}
            node = child
            where.append(seg.name)
            continue
        items = node.get(seg.name)
        if not isinstance(items, list):
            items = node[seg.name] = []
        element = next((e for e in items if isinstance(e, dict) and all(e.get(k) == v for k, v in seg.filter)), None)
        if element is None:
            element = dict(seg.filter)
            items.append(element)
        where += [seg.name, items.index(element)]
        if last:
            if isinstance(value, dict):
                element.update(value)
            return tuple(where)
        node = element
    return tuple(where)
