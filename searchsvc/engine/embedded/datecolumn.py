"""Date ranges answered from the date column, cached per generation.

Whoosh turns a date range into an OR over many numeric terms (a few hundred
for a month) and reads every one of their posting lists: most of a
`date:1987-03` query's time, and more on every segment of a large index.
The date column holds the same value as the indexed term (microseconds), so
a range is one comparison over an array of every document's date, read once
per segment. The matching documents are kept in the generation's state
(GenerationState.date_ranges, bounded, least recently used out first) and
match as Whoosh's own constant-score matcher would, with the same score.
"""

from __future__ import annotations

import copy
from array import array

import numpy as np
from whoosh import matching
from whoosh import query as Q

from searchsvc.engine.embedded.state import GenerationState, state_of


class CachedDateRange(Q.DateRange):
    """A DateRange whose matching documents are computed once per generation."""

    # The generation's state, bound by arrayrank.rank(); unbound, the searcher's.
    state: GenerationState | None = None

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        if not self._from_column(reader):
            return super().matcher(searcher, context)
        ids = self._ids(state_of(searcher) if self.state is None else self.state, reader)
        if not ids:
            return matching.NullMatcher()
        return matching.ListMatcher(ids, all_weights=self.boost)

    def estimate_size(self, ixreader) -> int:
        # An AND sizes its clauses to order them; Whoosh's own estimate expands
        # the range into its terms and sums their frequencies on every query.
        if not self._from_column(ixreader):
            return super().estimate_size(ixreader)
        return len(self._ids(GenerationState() if self.state is None else self.state, ixreader))

    def _from_column(self, reader) -> bool:
        # One segment at a time (as arrayrank and Whoosh's collectors ask); else Whoosh's own.
        return self.constantscore and reader.is_atomic() and reader.has_column(self.fieldname)

    def _ids(self, state: GenerationState, reader) -> array:
        bounds = (self.fieldname, self.start, self.end, self.startexcl, self.endexcl)
        key = (state.segment_key(reader), *bounds)
        ids = state.date_ranges.get(key)
        if ids is None:
            ids = array("I", self._matching(state, reader).astype(np.uint32).tobytes())
            if key[0] is not None:
                state.date_ranges.put(key, ids, ids.itemsize * len(ids))
        return ids

    def _matching(self, state: GenerationState, reader) -> np.ndarray:
        """The live documents of one segment whose date is in the range, ascending."""
        values, dated = date_column(state, reader, self.fieldname)
        keep = dated.copy()
        if self.start is not None:
            keep &= values > self.start if self.startexcl else values >= self.start
        if self.end is not None:
            keep &= values < self.end if self.endexcl else values <= self.end
        if reader.has_deletions():
            keep[list(reader.deleted_docs_set)] = False
        return np.flatnonzero(keep)


def date_column(
    state: GenerationState, reader, fieldname: str = "date"
) -> tuple[np.ndarray, np.ndarray]:
    """One segment's date column as (values, has a date), read once per generation.

    Values are microseconds from 0001-01-01 (Whoosh's datetime_to_long, the
    indexed value); a document without a date holds the column's default.
    """
    return state.per_segment(reader, ("dates", fieldname), _read, reader, fieldname)


def _read(reader, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
    column = reader.column_reader(fieldname, translate=False)
    raw = np.fromiter(column, dtype=np.uint64, count=reader.doc_count_all())
    default = reader.schema[fieldname].column_type.default_value()
    dated = raw != np.uint64(default)
    return np.where(dated, raw, 0).astype(np.int64), dated


def index_dates(state: GenerationState, reader) -> np.ndarray:
    """Every document's date_column() value across a whole index reader; 0 when undated."""
    return state.per_index(reader, "dates", _index_dates, state, reader)


def _index_dates(state: GenerationState, reader) -> np.ndarray:
    dates = np.zeros(reader.doc_count_all(), dtype=np.int64)
    for leaf, offset in reader.leaf_readers():
        if leaf.has_column("date"):
            values, _ = date_column(state, leaf)
            dates[offset : offset + len(values)] = values
    return dates


def cached_ranges(query: Q.Query) -> Q.Query:
    """`query` with every DateRange answered from the cache; anything else unchanged."""

    def swap(node: Q.Query) -> Q.Query:
        if type(node) is Q.DateRange:
            node = copy.copy(node)
            node.__class__ = CachedDateRange
        return node

    return query.accept(swap)


def bound_to(node: Q.Query, state: GenerationState) -> Q.Query:
    """A CachedDateRange node bound to `state` (a copy), so that estimate_size(), which
    Whoosh calls with a reader alone, reads the generation's cache; else `node`."""
    if type(node) is CachedDateRange and node.state is not state:
        node = copy.copy(node)
        node.state = state
    return node
