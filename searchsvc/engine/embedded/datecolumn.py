"""Date ranges answered from the date column, cached per reader.

Whoosh turns a date range into an OR over many numeric terms (a few hundred
for a month) and reads every one of their posting lists: most of a
`date:1987-03` query's time, and more on every segment of a large index.
The date column holds the same value as the indexed term (microseconds), so
a range is one comparison over an array of every document's date, read once
per segment. The matching documents are kept per reader (a new generation
brings new readers) and match as Whoosh's own constant-score matcher would,
with the same score. Their total size is bounded (RANGE_CACHE_BYTES), least
recently used out first; the date columns are one array per live reader.
"""

from __future__ import annotations

import copy
import threading
import weakref
from array import array
from collections import OrderedDict

import numpy as np
from whoosh import matching
from whoosh import query as Q

RANGE_CACHE_BYTES = 16 * 1024 * 1024  # matching documents of date ranges, per process

_columns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class _RangeCache:
    """Matching documents by segment reader and range, within a byte budget."""

    def __init__(self, budget: int):
        self.budget = budget
        self.used = 0
        self._by_reader: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._order: OrderedDict = OrderedDict()  # (reader ref, key) -> bytes

    def get(self, reader, key) -> array | None:
        with _lock:
            found = self._by_reader.get(reader, {}).get(key)
            if found is not None:
                self._order.move_to_end((weakref.ref(reader), key))
            return found

    def put(self, reader, key, ids: array) -> None:
        size = ids.itemsize * len(ids)
        if size > self.budget:
            return
        with _lock:
            self._by_reader.setdefault(reader, {})[key] = ids
            self._order[(weakref.ref(reader), key)] = size
            self.used += size
            while self.used > self.budget:
                (ref, old), freed = self._order.popitem(last=False)
                self.used -= freed
                owner = ref()
                if owner is not None:
                    self._by_reader.get(owner, {}).pop(old, None)


_ranges = _RangeCache(RANGE_CACHE_BYTES)


class CachedDateRange(Q.DateRange):
    """A DateRange whose matching documents are computed once per index reader."""

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        if not self._from_column(reader):
            return super().matcher(searcher, context)
        ids = self._ids(reader)
        if not ids:
            return matching.NullMatcher()
        return matching.ListMatcher(ids, all_weights=self.boost)

    def estimate_size(self, ixreader) -> int:
        # An AND sizes its clauses to order them; Whoosh's own estimate expands
        # the range into its terms and sums their frequencies on every query.
        if not self._from_column(ixreader):
            return super().estimate_size(ixreader)
        return len(self._ids(ixreader))

    def _from_column(self, reader) -> bool:
        # One segment at a time (as arrayrank and Whoosh's collectors ask); else Whoosh's own.
        return self.constantscore and reader.is_atomic() and reader.has_column(self.fieldname)

    def _ids(self, reader) -> array:
        key = (self.fieldname, self.start, self.end, self.startexcl, self.endexcl)
        ids = _ranges.get(reader, key)
        if ids is None:
            ids = array("I", self._matching(reader).astype(np.uint32).tobytes())
            _ranges.put(reader, key, ids)
        return ids

    def _matching(self, reader) -> np.ndarray:
        """The live documents of one segment whose date is in the range, ascending."""
        values, dated = date_column(reader, self.fieldname)
        keep = dated.copy()
        if self.start is not None:
            keep &= values > self.start if self.startexcl else values >= self.start
        if self.end is not None:
            keep &= values < self.end if self.endexcl else values <= self.end
        if reader.has_deletions():
            keep[list(reader.deleted_docs_set)] = False
        return np.flatnonzero(keep)


def date_column(reader, fieldname: str = "date") -> tuple[np.ndarray, np.ndarray]:
    """One segment's date column as (values, has a date), read once per reader.

    Values are microseconds from 0001-01-01 (Whoosh's datetime_to_long, the
    indexed value); a document without a date holds the column's default.
    """
    found = _columns.get(reader, {}).get(fieldname)
    if found is None:
        column = reader.column_reader(fieldname, translate=False)
        raw = np.fromiter(column, dtype=np.uint64, count=reader.doc_count_all())
        default = reader.schema[fieldname].column_type.default_value()
        dated = raw != np.uint64(default)
        values = np.where(dated, raw, 0).astype(np.int64)
        found = (values, dated)
        with _lock:
            _columns.setdefault(reader, {})[fieldname] = found
    return found


_index_dates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def index_dates(reader) -> np.ndarray:
    """Every document's date_column() value across a whole index reader; 0 when undated."""
    dates = _index_dates.get(reader)
    if dates is None:
        dates = np.zeros(reader.doc_count_all(), dtype=np.int64)
        for leaf, offset in reader.leaf_readers():
            if leaf.has_column("date"):
                values, _ = date_column(leaf)
                dates[offset : offset + len(values)] = values
        with _lock:
            _index_dates[reader] = dates
    return dates


def cached_ranges(query: Q.Query) -> Q.Query:
    """`query` with every DateRange answered from the cache; anything else unchanged."""

    def swap(node: Q.Query) -> Q.Query:
        if type(node) is Q.DateRange:
            node = copy.copy(node)
            node.__class__ = CachedDateRange
        return node

    return query.accept(swap)
