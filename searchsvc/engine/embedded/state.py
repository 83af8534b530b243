"""What one open index generation keeps in memory, in one object dropped with it."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

# The bounded caches' budgets, each per generation.
POSTINGS_BYTES = 96 * 1024 * 1024  # decoded posting lists and positions (arrayrank.py)
DATE_RANGES_BYTES = 16 * 1024 * 1024  # documents matching a date range (datecolumn.py)
FACET_ANSWERS_BYTES = 4 * 1024 * 1024  # facet counts by query, for paging (facets.py)
MAX_IDFS = 100_000  # words whose idf is kept (about 10 MB), then forgotten all at once


_MISSING = object()


class BoundedCache:
    """Values by key within a byte budget, least recently used out first."""

    def __init__(self, budget: int):
        self.budget = budget
        self.used = 0
        self._values: OrderedDict = OrderedDict()  # key -> (value, bytes)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._values.get(key)
            if found is None:
                return None
            self._values.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep `value` (about `size` bytes), unless it alone is over the budget."""
        if size > self.budget:
            return
        with self._lock:
            if key in self._values:
                return
            self._values[key] = (value, size)
            self.used += size
            while self.used > self.budget:
                _, (_, freed) = self._values.popitem(last=False)
                self.used -= freed

    def __len__(self) -> int:
        return len(self._values)


class GenerationState:
    """Everything cached for one open generation, shared by every searcher that reads it.

    IndexSnapshot makes one per generation and hands it to its searchers through
    their weighting (state_of); a new generation swapped in brings a new one, and
    this one goes with the old snapshot. Per-segment values are keyed by segment
    (id and deletions), which a generation never changes after it is written, so
    searchers opened later in its life share what earlier ones read.

    Holds (tracemalloc on Reuters, 20,841 articles in 105,614 paragraphs, after
    the 350 benchmark queries twice; per million paragraphs, at Reuters' five a story):
    - per segment: every article's headline and text length, as ints and as
      floats (scoring), 7 MB; its date, 3 MB;
    - per index: facet columns (source, day, topic pairs), 5 MB; average lengths
      and the lead share, a few bytes;
    - the vocabulary for spelling and completion (words.json): 6 MB on Reuters,
      58 MB if it grew as the text does (it grows more slowly);
    - bounded, whatever the size: decoded posting lists (POSTINGS_BYTES; 11 MB
      after those queries), date ranges' documents (DATE_RANGES_BYTES), facet
      answers (FACET_ANSWERS_BYTES; 2.5 MB after them), idfs (MAX_IDFS words).
    So about 15 MB a million paragraphs and the vocabulary, and at most 126 MB of caches.
    """

    def __init__(self, path: Path | None = None, articles=None):
        self.path = path  # the generation's directory (words.json); None for an ad hoc index
        self.articles = articles  # its article index, to count words in the background
        self.postings = BoundedCache(POSTINGS_BYTES)
        self.date_ranges = BoundedCache(DATE_RANGES_BYTES)
        self.facet_answers = BoundedCache(FACET_ANSWERS_BYTES)
        self.idfs: dict = {}  # (field, word) -> idf, as the searchers' weighting gives it
        self.vocabulary = None  # Vocabulary, once loaded or counted (typos.py)
        self.vocabulary_pending = False  # counted in a background thread
        self.lock = threading.Lock()
        self._values: dict = {}  # (segment or index key, name) -> value, computed once
        # The same values by reader, found in one lookup (scorers ask for them per word,
        # and a key costs Whoosh a few calls); a reader opened later finds them by key.
        self._segment_values: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._index_values: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._segment_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def per_segment(self, reader, name: Hashable, compute: Callable[..., Any], *args) -> Any:
        """compute(*args) for one segment's reader, computed once per segment."""
        known = self._segment_values.get(reader)
        if known is not None and name in known:
            return known[name]
        value = self._once(self.segment_key(reader), name, compute, args)
        with self.lock:
            self._segment_values.setdefault(reader, {})[name] = value
        return value

    def per_index(self, reader, name: Hashable, compute: Callable[..., Any], *args) -> Any:
        """compute(*args) for a whole index's reader, computed once per set of segments."""
        known = self._index_values.get(reader)
        if known is not None and name in known:
            return known[name]
        keys = tuple(segment_key(leaf) for leaf, _ in reader.leaf_readers())
        value = self._once(None if None in keys else keys, name, compute, args)
        with self.lock:
            self._index_values.setdefault(reader, {})[name] = value
        return value

    def segment_key(self, reader) -> tuple[str, int] | None:
        """segment_key(reader), remembered for as long as the reader lives."""
        key = self._segment_keys.get(reader, _MISSING)
        if key is _MISSING:
            key = segment_key(reader)
            with self.lock:
                self._segment_keys[reader] = key
        return key

    def _once(self, key, name: Hashable, compute: Callable[..., Any], args: tuple) -> Any:
        if key is None:  # no segment (an empty index): nothing worth keeping
            return compute(*args)
        found = self._values.get((key, name), _MISSING)
        if found is _MISSING:
            found = compute(*args)
            with self.lock:
                found = self._values.setdefault((key, name), found)
        return found

    def idf(self, searcher, fieldname: str, text) -> float:
        """searcher.idf(), from this table rather than the searcher's own: one table for
        every searcher of the generation, and a bounded one."""
        key = (fieldname, text)
        value = self.idfs.get(key)
        if value is None:
            if len(self.idfs) >= MAX_IDFS:
                self.idfs.clear()  # rare; only costs recomputing
            value = self.idfs[key] = searcher.weighting.idf(searcher, fieldname, text)
        return value


def segment_key(reader) -> tuple[str, int] | None:
    """What identifies a segment reader's data: the segment and how many of its documents
    are deleted (deletions only grow); None for a reader of no segment."""
    segment = reader.segment()
    return None if segment is None else (segment.segment_id(), segment.deleted_count())


def state_of(searcher) -> GenerationState:
    """The state of the generation `searcher` reads, carried by its weighting (snapshot.py);
    for a searcher opened outside a snapshot, a new one, kept as long as the caller keeps it."""
    state = getattr(searcher.weighting, "state", None)
    return state if state is not None else GenerationState()
