"""Searching the connector catalogue: a fuzzy ranking over id, name, package, description,
keywords, category and operation names/labels.

`SearchIndex` precomputes lowercased haystacks once, narrows the candidates incrementally while
the user types (a longer query can only match a subset of what its prefix matched), caches
recent answers and caps the hits with a heap instead of sorting everything, so a keystroke over
thousands of specs costs a few milliseconds (see `bench/palette.py`).
"""

from __future__ import annotations

import heapq
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from workbench.connectors.base import ConnectorSpec
from workbench.connectors.registry import all_specs

_lock = threading.Lock()

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


def clear_cache() -> None:
    """Forget the cached indexes (the registry's specs changed)."""
    with _lock:
        _index_cache.clear()
