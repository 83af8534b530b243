"""Counts of the matching articles by source, topic and time bucket.

Computed without scoring: the matching document numbers, counted over
arrays of each document's source, day and topics, read once per generation
and kept, with recent answers, in the generation's state.
"""

from __future__ import annotations

import calendar
import hashlib
import heapq
from collections import Counter
from datetime import date

import numpy as np
from whoosh import query as Q

from searchsvc.engine.embedded.datecolumn import index_dates
from searchsvc.engine.embedded.state import GenerationState, state_of

MAX_FACET_VALUES = 12  # values listed per facet, most frequent first
MAX_TOPIC_TERMS = 2_000  # topic vocabularies larger than this are not faceted
_DAY = 86_400_000_000  # microseconds: the date column counts them from datetime.min
_MAX_ORDINAL = date.max.toordinal()


class _Columns:
    """Per-generation arrays by document number: source, day, topics.

    Reading a Whoosh column costs about a microsecond a document, so it is
    done once per generation (25 ms each on Reuters, 21k articles); every
    search then counts its matches with array operations.
    """

    def __init__(self, state: GenerationState, reader):
        count = reader.doc_count_all()
        self.sources: list[str] = []  # folded source names; code n is sources[n - 1]
        self.labels: dict[str, str] = {}
        self.source_codes = np.zeros(count, dtype=np.int32)  # 0: no source
        if reader.has_column("source"):
            codes: dict[str, int] = {}
            for docnum, value in enumerate(reader.column_reader("source")):
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                if value:
                    folded = value.lower()
                    if folded not in codes:
                        self.sources.append(folded)
                        codes[folded] = len(self.sources)
                    self.source_codes[docnum] = codes[folded]
                    self.labels.setdefault(folded, value)
        ordinals = index_dates(state, reader) // _DAY + 1  # undated documents hold 0: ordinal 1
        valid = (ordinals > 1) & (ordinals <= _MAX_ORDINAL)
        self.days = np.where(valid, ordinals, 0)  # proleptic ordinal; 0 when undated
        # Each (document, topic) pair, as two parallel arrays.
        self.topics: list[str] = []
        docs: list[int] = []
        codes_of_pairs: list[int] = []
        if "topic" in reader.indexed_field_names():
            for number, term in enumerate(reader.lexicon("topic")):
                if number >= MAX_TOPIC_TERMS:
                    self.topics, docs, codes_of_pairs = [], [], []
                    break
                self.topics.append(term.decode("utf-8") if isinstance(term, bytes) else term)
                for docnum in reader.postings("topic", term).all_ids():
                    docs.append(docnum)
                    codes_of_pairs.append(number)
        self.topic_docs = np.asarray(docs, dtype=np.int64)
        self.topic_codes = np.asarray(codes_of_pairs, dtype=np.int64)


def facet_counts(searcher, query: Q.Query, docs: np.ndarray, counts: str = "articles") -> dict:
    """{"source": [...], "topic": [...], "date": {"interval", "buckets"}} for `docs`.

    `docs` are the document numbers `query` matches (one per story when `counts`
    is "stories"), ascending; the answer is kept by query and what is counted (for
    paging and repeats) and shared: treat it as read-only.
    """
    state = state_of(searcher)
    # A digest, not the text: a long query's repr runs to kilobytes.
    key = hashlib.blake2b(f"{counts} {query!r}".encode(), digest_size=16).digest()
    cached = state.facet_answers.get(key)
    if cached is not None:
        return cached
    reader = searcher.reader()
    columns = state.per_index(reader, "facet columns", _Columns, state, reader)
    docs = np.asarray(docs, dtype=np.int64)
    counted = {
        "source": _sources(columns, docs),
        "topic": _topics(columns, docs),
        "date": bucket_counts(_days(columns, docs)),
    }
    state.facet_answers.put(key, counted, estimated_bytes(counted))
    return counted


def estimated_bytes(counted: dict) -> int:
    """About what one cached answer holds: measured, 400 bytes a listed value or bucket."""
    values = len(counted["source"]) + len(counted["topic"]) + len(counted["date"]["buckets"])
    return 1_000 + 400 * values


def _sources(columns: _Columns, docs: np.ndarray) -> list[dict]:
    """Counted case-blind (the filter is), labelled as the corpus first spells it."""
    counts = np.bincount(columns.source_codes[docs], minlength=len(columns.sources) + 1)
    found = {
        columns.sources[code - 1]: int(counts[code]) for code in np.flatnonzero(counts[1:]) + 1
    }
    return [
        {"value": value, "label": columns.labels[value], "count": count}
        for value, count in _most_common(found)
    ]


def _topics(columns: _Columns, docs: np.ndarray) -> list[dict]:
    if not len(columns.topic_docs):
        return []
    matched = np.zeros(len(columns.days), dtype=bool)
    matched[docs] = True
    counts = np.bincount(
        columns.topic_codes[matched[columns.topic_docs]], minlength=len(columns.topics)
    )
    found = {columns.topics[code]: int(counts[code]) for code in np.flatnonzero(counts)}
    return [{"value": v, "count": c} for v, c in _most_common(found)]


def _most_common(counts: dict[str, int]) -> list[tuple[str, int]]:
    """The most frequent values, ties in alphabetical order (not in document order)."""
    return heapq.nsmallest(MAX_FACET_VALUES, counts.items(), key=lambda item: (-item[1], item[0]))


def _days(columns: _Columns, docs: np.ndarray) -> Counter:
    """Documents per day, building one date per distinct day, not per document."""
    days, counts = np.unique(columns.days[docs], return_counts=True)
    pairs = zip(days.tolist(), counts.tolist(), strict=True)
    return Counter({date.fromordinal(day): count for day, count in pairs if day})


def date_buckets(days: list[date]) -> dict:
    """Counts per year, month or day, whichever gives a readable chart for the span.

    Buckets run continuously from the first to the last date (empty ones
    included) so a chart of them is a true time axis.
    """
    return bucket_counts(Counter(days))


def bucket_counts(days: Counter) -> dict:
    """date_buckets() from documents counted per day."""
    if not days:
        return {"interval": None, "buckets": []}
    first, last = min(days), max(days)
    span = (last - first).days
    if span > 150 * 366:
        interval = "decade"
    elif span > 3 * 366:
        interval = "year"
    else:
        interval = "month" if span > 62 else "day"
    counts: Counter = Counter()
    for day, count in days.items():
        counts[_bucket_start(day, interval)] += count
    buckets = []
    current = _bucket_start(first, interval)
    while current <= last:
        end = _bucket_end(current, interval)
        buckets.append(
            {
                "value": _label(current, interval),
                "since": current.isoformat(),
                "until": end.isoformat(),
                "count": counts.get(current, 0),
            }
        )
        if end >= date.max:
            break
        current = date.fromordinal(end.toordinal() + 1)
    return {"interval": interval, "buckets": buckets}


def _bucket_start(day: date, interval: str) -> date:
    if interval == "decade":
        return date(max(1, day.year - day.year % 10), 1, 1)
    if interval == "year":
        return date(day.year, 1, 1)
    if interval == "month":
        return date(day.year, day.month, 1)
    return day


def _bucket_end(start: date, interval: str) -> date:
    if interval == "decade":
        return date(min(start.year - start.year % 10 + 9, 9999), 12, 31)
    if interval == "year":
        return date(start.year, 12, 31)
    if interval == "month":
        return date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])
    return start


def _label(start: date, interval: str) -> str:
    if interval == "decade":
        return f"{start.year:04d}s"
    if interval == "year":
        return f"{start.year:04d}"
    if interval == "month":
        return f"{start.year:04d}-{start.month:02d}"
    return start.isoformat()
