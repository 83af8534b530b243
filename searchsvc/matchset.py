"""Every document a query matches, as a set: totals and facets without scoring.

Whoosh's `Query.docs()` walks the matcher tree a document at a time, a few
Python calls per node per document; for a common word that walk cost more
than ranking the top hits. The same answer comes from set algebra over whole
posting lists: a union for OR, an intersection for AND, a difference for NOT,
with each term's posting list read a block at a time. Matchers this module
does not know (phrases, spans, wildcards' own structures) are walked as Whoosh
walks them, so the answer is always Whoosh's own.
"""

from __future__ import annotations

from whoosh import matching
from whoosh import query as Q
from whoosh.codec.whoosh3 import W3LeafMatcher


def matching_docs(searcher, query: Q.Query) -> set[int]:
    """The top-level document numbers `query` matches (deleted documents excluded)."""
    docs: set[int] = set()
    for subsearcher, offset in searcher.leaf_searchers():
        # needs_current keeps Or as a tree of unions (not a pre-read score array)
        # so that it can be taken apart here. Nothing is scored (Whoosh still
        # builds each term's scorer, a per-term cost, never a per-document one).
        context = subsearcher.context(needs_current=True, weighting=None)
        ids = _ids(query.matcher(subsearcher, context))
        docs.update(ids if offset == 0 else (offset + docnum for docnum in ids))
    return docs


def _ids(matcher) -> set[int]:
    """The ids `matcher` has yet to produce, from its current position on."""
    kind = type(matcher)
    if not matcher.is_active():
        return set()
    if kind is W3LeafMatcher:
        return _leaf_ids(matcher)
    if kind in (matching.UnionMatcher, matching.DisjunctionMaxMatcher):
        return _ids(matcher.a) | _ids(matcher.b)
    if kind is matching.IntersectionMatcher or kind is matching.RequireMatcher:
        return _ids(matcher.a) & _ids(matcher.b)
    if kind is matching.AndNotMatcher:
        return _ids(matcher.a) - _ids(matcher.b)
    if kind is matching.AndMaybeMatcher:
        return _ids(matcher.a)
    if kind in (matching.WrappingMatcher, matching.ConstantScoreWrapperMatcher):
        return _ids(matcher.child)
    if kind is matching.FilterMatcher:
        ids = _ids(matcher.child)
        return ids.difference(matcher._ids) if matcher._exclude else ids.intersection(matcher._ids)
    return set(matcher.all_ids())


def _leaf_ids(matcher: W3LeafMatcher) -> set[int]:
    """A term's remaining postings, a decoded block at a time instead of a posting at a time."""
    ids: set[int] = set()
    matcher.id()  # decodes the current block's ids
    ids.update(matcher._ids[matcher._i :])
    while not matcher._lastblock:
        matcher._next_block()
        matcher.id()
        ids.update(matcher._ids)
    return ids
