"""Counts of the matching articles by source, topic and time bucket.

Computed from the sortable columns (source, date) and the topic postings over
the set of matching documents, without scoring: one pass over the matches.
"""

from __future__ import annotations

import calendar
from collections import Counter
from datetime import date, datetime

from whoosh import query as Q
from whoosh.util.times import long_to_datetime

MAX_FACET_VALUES = 12  # values listed per facet, most frequent first
MAX_TOPIC_TERMS = 2_000  # topic vocabularies larger than this are not faceted
_EPOCH_FLOOR = datetime(1, 1, 2)  # earlier values are column defaults, not dates


def facet_counts(searcher, query: Q.Query) -> dict:
    """{"source": [...], "topic": [...], "date": {"interval", "buckets"}} for `query`."""
    docs = list(query.docs(searcher))
    reader = searcher.reader()
    return {
        "source": _sources(reader, docs),
        "topic": _topics(reader, docs),
        "date": date_buckets(_dates(reader, docs)),
    }


def _sources(reader, docs: list[int]) -> list[dict]:
    """Counted case-blind (the filter is), labelled as the corpus first spells it."""
    if not docs or not reader.has_column("source"):
        return []
    column = reader.column_reader("source")
    counts: Counter = Counter()
    labels: dict[str, str] = {}
    for d in docs:
        value = column[d]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if value:
            folded = value.lower()
            counts[folded] += 1
            labels.setdefault(folded, value)
    return [
        {"value": value, "label": labels[value], "count": count}
        for value, count in counts.most_common(MAX_FACET_VALUES)
    ]


def _topics(reader, docs: list[int]) -> list[dict]:
    if not docs or "topic" not in reader.indexed_field_names():
        return []
    wanted = set(docs)
    counts = Counter()
    for number, term in enumerate(reader.lexicon("topic")):
        if number >= MAX_TOPIC_TERMS:
            return []
        hits = sum(1 for d in reader.postings("topic", term).all_ids() if d in wanted)
        if hits:
            counts[term.decode("utf-8") if isinstance(term, bytes) else term] = hits
    return [{"value": v, "count": c} for v, c in counts.most_common(MAX_FACET_VALUES)]


def _dates(reader, docs: list[int]) -> list[date]:
    if not docs or not reader.has_column("date"):
        return []
    # Raw values: a document without a date holds a default outside datetime's range.
    column = reader.column_reader("date", translate=False)
    days = []
    for d in docs:
        try:
            value = long_to_datetime(column[d])
        except (OverflowError, ValueError, TypeError):
            continue
        if value >= _EPOCH_FLOOR:
            days.append(value.date())
    return days


def date_buckets(days: list[date]) -> dict:
    """Counts per year, month or day, whichever gives a readable chart for the span.

    Buckets run continuously from the first to the last date (empty ones
    included) so a chart of them is a true time axis.
    """
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
    counts = Counter(_bucket_start(day, interval) for day in days)
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
