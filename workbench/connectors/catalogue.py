"""The connector catalogue: built-in specs plus the `workbench.connectors` entry-point group.

Only metadata is imported here (each connector package's `__init__` exposes a light `SPEC`); the
implementation is imported by `spec.load()` when a run opens a connection.

Search is a fuzzy ranking over id, name, package, description, keywords, category and operation
names/labels. `SearchIndex` precomputes lowercased haystacks once, narrows the candidates
incrementally while the user types (a longer query can only match a subset of what its prefix
matched), caches recent answers and caps the hits with a heap instead of sorting everything, so a
keystroke over thousands of specs costs a few milliseconds (see `bench/palette.py`).
"""

from __future__ import annotations

import difflib
import heapq
import importlib
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any

from workbench.connectors.base import ConnectorSpec

ENTRY_POINT_GROUP = "workbench.connectors"

# Built-ins, in catalogue order. They are also registered as entry points in pyproject, but must
# work from a source checkout without installation metadata, hence this list (deduped by id).
BUILTINS: tuple[str, ...] = (
    "workbench.connectors.scim:SPEC",
    "workbench.connectors.http:SPEC",
    "workbench.connectors.file:SPEC",
)


class ConnectorLoadWarning(UserWarning):
    """A third-party connector entry point could not be loaded and was skipped."""


class UnknownConnector(KeyError):
    """No connector with that id. `suggestions` holds close ids (difflib)."""

    def __init__(self, connector_id: str, suggestions: Sequence[str] = ()) -> None:
        self.connector_id = connector_id
        self.suggestions = list(suggestions)
        message = f"unknown connector {connector_id!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


# ---------------------------------------------------------------------------------------------
# Loading


_lock = threading.Lock()
_specs: list[ConnectorSpec] | None = None
_by_id: dict[str, ConnectorSpec] = {}


def _load_ref(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _as_spec(obj: Any) -> ConnectorSpec:
    # An entry point names a ConnectorSpec; a zero-argument factory returning one is accepted too.
    if not isinstance(obj, ConnectorSpec) and callable(obj):
        obj = obj()
    if not isinstance(obj, ConnectorSpec):
        raise TypeError(f"expected a ConnectorSpec, got {type(obj).__name__}")
    return obj


def _entry_points() -> Iterable[Any]:
    try:
        return metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception as exc:  # noqa: BLE001 - broken installation metadata must not crash
        warnings.warn(f"cannot read connector entry points: {exc}", ConnectorLoadWarning, stacklevel=3)
        return ()


def _discover() -> list[ConnectorSpec]:
    specs: list[ConnectorSpec] = []
    seen: dict[str, ConnectorSpec] = {}
    for ref in BUILTINS:
        spec = _as_spec(_load_ref(ref))  # a broken built-in is a bug: let it raise
        seen[spec.id] = spec
        specs.append(spec)
    third_party: list[ConnectorSpec] = []
    for ep in _entry_points():
        label = f"{getattr(ep, 'name', '?')} = {getattr(ep, 'value', '?')}"
        try:
            spec = _as_spec(ep.load())
        except Exception as exc:  # noqa: BLE001 - any plugin failure is skipped, never fatal
            warnings.warn(
                f"skipping connector entry point {label}: {type(exc).__name__}: {exc}",
                ConnectorLoadWarning,
                stacklevel=3,
            )
            continue
        other = seen.get(spec.id)
        if other is not None:
            if other is not spec and other.implementation != spec.implementation:
                warnings.warn(
                    f"skipping connector entry point {label}: id {spec.id!r} is already "
                    f"provided by {other.implementation}",
                    ConnectorLoadWarning,
                    stacklevel=3,
                )
            continue
        seen[spec.id] = spec
        third_party.append(spec)
    third_party.sort(key=lambda s: s.id)
    return specs + third_party


def all_specs() -> list[ConnectorSpec]:
    """Every connector: built-ins first (scim, http, file), then third-party ones by id."""
    global _specs, _by_id
    if _specs is None:
        with _lock:
            if _specs is None:
                found = _discover()
                _by_id = {s.id: s for s in found}
                _specs = found
    return list(_specs)


def refresh() -> None:
    """Forget the discovered specs and the cached index (e.g. after installing a plugin)."""
    global _specs, _by_id
    with _lock:
        _specs = None
        _by_id = {}
        _index_cache.clear()


def get(connector_id: str) -> ConnectorSpec:
    all_specs()
    try:
        return _by_id[connector_id]
    except KeyError:
        pass
    ids = list(_by_id)
    lowered = {i.lower(): i for i in ids}
    if connector_id.lower() in lowered:
        suggestions = [lowered[connector_id.lower()]]
    else:
        suggestions = difflib.get_close_matches(connector_id, ids, n=3, cutoff=0.6)
        if not suggestions:
            suggestions = [
                lowered[m] for m in difflib.get_close_matches(connector_id.lower(), list(lowered), n=3, cutoff=0.5)
            ]
    raise UnknownConnector(connector_id, suggestions)


# ---------------------------------------------------------------------------------------------
# Search

# Per-term weights: where a term matched, best first.
_W_ID_EXACT = 1000
_W_ID_PREFIX = 700
_W_NAME_EXACT = 650
_W_NAME_WORD_PREFIX = 500
_W_ID_SUB = 420
_W_KEYWORD_EXACT = 400
_W_NAME_SUB = 350
_W_KEYWORD_PREFIX = 300
_W_OP_PREFIX = 260
_W_CATEGORY = 220
_W_PACKAGE = 200
_W_OP_SUB = 160
_W_KEYWORD_SUB = 150
_W_DESCRIPTION_WORD = 110
_W_DESCRIPTION_SUB = 80
_W_FUZZY = 40  # a subsequence of id/name/ops, e.g. "scmcr"

_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class _Entry:
    """One spec's lowercased haystacks. Word-prefix tests are substring tests on strings where
    every word is preceded by a space (" " + term in " create user ..."): no loops, and no
    allocation of GC-tracked objects while typing (which would trigger collections)."""

    __slots__ = (
        "spec",
        "id",
        "name",
        "name_words",
        "package",
        "category",
        "keywords",
        "keyword_words",
        "ops",
        "op_words",
        "description",
        "desc_words",
        "everything",
        "short",
    )

    def __init__(self, spec: ConnectorSpec) -> None:
        self.spec = spec
        self.id = spec.id.lower()
        self.name = spec.name.lower()
        self.name_words = " " + " ".join(w for w in _WORD_SPLIT.split(self.name) if w)
        self.package = spec.package.lower()
        self.category = spec.category.lower()
        self.keywords = tuple(k.lower() for k in spec.keywords)
        self.keyword_words = " " + " ".join(self.keywords)
        op_texts: list[str] = []
        for op in spec.operations.values():
            op_texts.append(op.name.lower())
            op_texts.append(op.label.lower())
            op_texts.append(_CAMEL_SPLIT.sub(" ", op.name).lower())
        self.ops = "\x00".join(op_texts)
        self.op_words = " " + " ".join(dict.fromkeys(w for t in op_texts for w in _WORD_SPLIT.split(t) if w))
        self.description = spec.description.lower()
        self.desc_words = frozenset(w for w in _WORD_SPLIT.split(self.description) if w)
        # One string to reject non-matching specs with a single `in` test.
        self.everything = "\x00".join(
            (self.id, self.name, self.package, self.category, self.keyword_words, self.ops, self.description)
        )
        # Where a fuzzy (subsequence) match is allowed: short, meaningful fields only (not the
        # operations: long, and they would make almost any short subsequence match).
        self.short = "\x00".join((self.id, self.name, self.keyword_words))

    def term_score(self, term: str, spaced: str, fuzzy: re.Pattern[str] | None) -> int:
        """The best weight for one query term (`spaced` is " " + term), 0 if it does not match."""
        if term not in self.everything:
            if fuzzy is not None and fuzzy.search(self.short):
                return _W_FUZZY
            return 0
        if term == self.id:
            return _W_ID_EXACT
        if self.id.startswith(term):
            return _W_ID_PREFIX
        if term == self.name:
            return _W_NAME_EXACT
        if spaced in self.name_words:
            return _W_NAME_WORD_PREFIX
        if term in self.id:
            return _W_ID_SUB
        if term in self.keywords:
            return _W_KEYWORD_EXACT
        if term in self.name:
            return _W_NAME_SUB
        if spaced in self.keyword_words:
            return _W_KEYWORD_PREFIX
        if spaced in self.op_words:
            return _W_OP_PREFIX
        if term in self.category:
            return _W_CATEGORY
        if term in self.package:
            return _W_PACKAGE
        if term in self.ops:
            return _W_OP_SUB
        if term in self.keyword_words:
            return _W_KEYWORD_SUB
        if term in self.desc_words:
            return _W_DESCRIPTION_WORD
        if term in self.description:
            return _W_DESCRIPTION_SUB
        return _W_FUZZY  # matched only across a field separator of `everything`


def _fuzzy_pattern_allowed(term: str) -> bool:
    return len(term) >= 3  # one or two letters as a subsequence match nearly everything


def _fuzzy_pattern(term: str) -> re.Pattern[str] | None:
    if not _fuzzy_pattern_allowed(term):
        return None
    return re.compile("[^\x00]*?".join(re.escape(c) for c in term))


# A match is one int: score << _SHIFT | (_MAX_SPECS - position), so that sorting ints sorts by
# score, then catalogue order, and a list of matches holds no GC-tracked objects.
_SHIFT = 24
_MAX_SPECS = (1 << _SHIFT) - 1


class SearchIndex:
    """A search index over a fixed list of specs. Thread-safe for readers; build a new one when the
    catalogue changes.

    `search(query, limit)` splits the query into terms; every term must match (substring, or a
    subsequence of the id/name/keywords for terms of 3+ characters). A spec's score is the sum
    of its terms' best weights; ties keep catalogue order.
    """

    def __init__(self, specs: Iterable[ConnectorSpec], *, cache_size: int = 128) -> None:
        self.specs: list[ConnectorSpec] = list(specs)
        if len(self.specs) > _MAX_SPECS:
            raise ValueError(f"a search index holds at most {_MAX_SPECS} specs")
        self._entries = [_Entry(s) for s in self.specs]
        self._cache_size = cache_size
        # query terms -> every match (encoded ints, see _SHIFT), in catalogue order
        self._matches: OrderedDict[tuple[str, ...], list[int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.specs)

    @staticmethod
    def terms(query: str) -> tuple[str, ...]:
        return tuple(query.lower().split())

    def search(self, query: str, limit: int | None = 20) -> list[ConnectorSpec]:
        return [self.specs[i] for _, i in self.ranked(query, limit)]

    def ranked(self, query: str, limit: int | None = 20) -> list[tuple[int, int]]:
        """(score, position) pairs, best first, at most `limit` (None: no cap)."""
        terms = self.terms(query)
        if not terms:
            n = len(self.specs) if limit is None else min(limit, len(self.specs))
            return [(0, i) for i in range(n)]
        matches = self._match(terms)
        if limit is None or limit >= len(matches):
            best = sorted(matches, reverse=True)
        else:
            best = heapq.nlargest(limit, matches)
        return [(m >> _SHIFT, _MAX_SPECS - (m & _MAX_SPECS)) for m in best]

    def _match(self, terms: tuple[str, ...]) -> list[int]:
        with self._lock:
            hit = self._matches.get(terms)
            if hit is not None:
                self._matches.move_to_end(terms)
                return hit
            candidates = self._narrowest_superset(terms)
        entries = self._entries
        out: list[int] = []
        if len(terms) == 1:  # the common case, without the inner loop
            term = terms[0]
            spaced, pattern = " " + term, _fuzzy_pattern(term)
            for i in candidates:
                score = entries[i].term_score(term, spaced, pattern)
                if score:
                    out.append(score << _SHIFT | (_MAX_SPECS - i))
        else:
            pairs = [(t, " " + t, _fuzzy_pattern(t)) for t in terms]
            for i in candidates:
                entry = entries[i]
                total = 0
                for term, spaced, pattern in pairs:
                    score = entry.term_score(term, spaced, pattern)
                    if not score:
                        break
                    total += score
                else:
                    out.append(total << _SHIFT | (_MAX_SPECS - i))
        with self._lock:
            self._matches[terms] = out
            if len(self._matches) > self._cache_size:
                self._matches.popitem(last=False)
        return out

    def _narrowest_superset(self, terms: tuple[str, ...]) -> Iterable[int]:
        """Candidates for `terms`: the matches of a cached query whose terms are prefixes of the
        new terms, position by position (typing only ever narrows). A short cached term (no fuzzy
        matching) only counts when unchanged, since the longer term may match fuzzily."""
        best: list[int] | None = None
        for cached, found in self._matches.items():
            if len(cached) > len(terms) or (best is not None and len(found) >= len(best)):
                continue
            if all(
                new == old or (new.startswith(old) and _fuzzy_pattern_allowed(old))
                for old, new in zip(cached, terms, strict=False)
            ):
                best = found
        if best is None:
            return range(len(self._entries))
        return [_MAX_SPECS - (m & _MAX_SPECS) for m in best]


_index_cache: OrderedDict[tuple[int, ...], SearchIndex] = OrderedDict()
_INDEX_CACHE_SIZE = 4


def index_for(specs: Sequence[ConnectorSpec] | None = None) -> SearchIndex:
    """A cached `SearchIndex` for these specs (default: the whole catalogue)."""
    if specs is None:
        specs = all_specs()
    key = tuple(map(id, specs))  # the cached index holds the specs, so the ids stay valid
    with _lock:
        index = _index_cache.get(key)
        if index is not None:
            _index_cache.move_to_end(key)
            return index
    index = SearchIndex(specs)
    with _lock:
        _index_cache[key] = index
        while len(_index_cache) > _INDEX_CACHE_SIZE:
            _index_cache.popitem(last=False)
    return index


def search(query: str, limit: int | None = 20, specs: Sequence[ConnectorSpec] | None = None) -> list[ConnectorSpec]:
    """Specs matching `query`, best first, at most `limit` (None: all). An empty query returns the
    specs in catalogue order (still capped by `limit`)."""
    return index_for(specs).search(query, limit)


# ---------------------------------------------------------------------------------------------
# Describing schemas (for `workbench connectors show` and generated forms)


def describe_fields(model: Any, prefix: str = "") -> list[dict[str, Any]]:
    """A flat description of a pydantic model's fields: name (alias, dotted for nested models),
    type, required, default, description, secret, and `variants` for discriminated unions."""
    from pydantic import BaseModel, SecretBytes, SecretStr
    from pydantic_core import PydanticUndefined

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
            default = info.default
            if default is PydanticUndefined and info.default_factory is not None:
                try:
                    default = info.default_factory()  # type: ignore[call-arg]
                except TypeError:
                    default = None
            if isinstance(default, BaseModel):
                default = default.model_dump(mode="json", by_alias=True)
            if default is not PydanticUndefined:
                row["default"] = _jsonable(default)
        nested = _models_in(annotation, BaseModel)
        if len(nested) == 1:
            out.append(row)
            out.extend(describe_fields(nested[0], key + ("[]." if _is_list(annotation) else ".")))
            continue
        if len(nested) > 1:
            variants = []
            for sub in nested:
                tag = _discriminator_value(sub)
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
    import typing

    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None)) and origin is not dict


def _models_in(annotation: Any, base: type) -> list[type]:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, base):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is dict:
        return []
    out: list[type] = []
    for arg in typing.get_args(annotation):
        for m in _models_in(arg, base):
            if m not in out:
                out.append(m)
    return out


def _discriminator_value(model: Any) -> str | None:
    import typing

    info = model.model_fields.get("type")
    if info is None:
        return None
    if typing.get_origin(info.annotation) is typing.Literal:
        args = typing.get_args(info.annotation)
        return str(args[0]) if args else None
    return info.default if isinstance(info.default, str) else None


def type_name(annotation: Any) -> str:
    """A short readable name for a type annotation: `str`, `int | None`, `list[str]`, `dict[str, str]`."""
    import types
    import typing

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
            tag = _discriminator_value(annotation)
            return tag or annotation.__name__
        return {"str": "str", "int": "int", "float": "float", "bool": "bool"}.get(annotation.__name__, annotation.__name__)
    return str(annotation)
