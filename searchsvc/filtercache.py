"""Date ranges answered from a per-reader cache of matching documents.

Whoosh turns a date range into an OR over many numeric terms and walks every
posting list on each query: most of a `date:1987-03` query's time. The set of
matching documents only depends on the index reader, so it is kept per
reader (a new generation brings a new reader) and the range then matches as
Whoosh's own constant-score matcher would, with the same score.
"""

from __future__ import annotations

import copy
import threading
import weakref
from array import array

import numpy as np
from whoosh import matching
from whoosh import query as Q

from searchsvc.arrayrank import matching_ids

MAX_RANGES_PER_READER = 256

_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class CachedDateRange(Q.DateRange):
    """A DateRange whose matching documents are computed once per index reader."""

    def matcher(self, searcher, context=None):
        from whoosh.searching import SearchContext

        if not self.constantscore:
            return super().matcher(searcher, context)
        # A tree of unions over the range's terms, which matching_ids reads whole.
        context = (context or SearchContext()).set(needs_current=True)
        reader = searcher.reader()
        key = (self.fieldname, self.start, self.end, self.startexcl, self.endexcl)
        with _lock:
            cache = _caches.setdefault(reader, {})
            ids = cache.get(key)
        if ids is None:
            inner = self._compile_query(reader).matcher(searcher, context)
            if isinstance(inner, matching.NullMatcherClass):
                return inner
            ids = array("I", matching_ids(reader, inner).astype(np.uint32).tobytes())
            with _lock:
                if len(cache) >= MAX_RANGES_PER_READER:
                    cache.clear()
                cache[key] = ids
        if not ids:
            return matching.NullMatcher()
        return matching.ListMatcher(ids, all_weights=self.boost)


def cached_ranges(query: Q.Query) -> Q.Query:
    """`query` with every DateRange answered from the cache; anything else unchanged."""

    def swap(node: Q.Query) -> Q.Query:
        if type(node) is Q.DateRange:
            node = copy.copy(node)
            node.__class__ = CachedDateRange
        return node

    return query.accept(swap)
