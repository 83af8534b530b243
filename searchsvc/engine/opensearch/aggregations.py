"""Facets from aggregations, in the shape the embedded engine's facets.py gives them.

Counts by source and topic come from terms aggregations asked for every value
the generation holds (so they are exact on any number of shards), then cut to
the most frequent MAX_FACET_VALUES, ties alphabetical. The timeline comes from
a date histogram: by day when the generation spans a year or less, else by
month, with the matches' first and last day so that facets.bucket_counts picks
the same interval; a month histogram over matches that span two months or
less is asked again by day.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from searchsvc.engine.embedded.facets import MAX_FACET_VALUES, MAX_TOPIC_TERMS, bucket_counts

MAX_TERMS = 10_000  # values asked per terms aggregation; past it, counts may be cut
DAILY_SPAN_DAYS = 366  # generations spanning at most this are counted by day at once
_DAY_INTERVAL_DAYS = 62  # bucket_counts' own: a span this short is charted by day
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def requested(info: dict) -> dict:
    """The aggregations one search asks for, given the generation's info."""
    aggs: dict = {"first": {"min": {"field": "date"}}, "last": {"max": {"field": "date"}}}
    sources = len(info["labels"])
    if sources:
        aggs["source"] = _terms("source", sources)
    if 0 < info["topics"] <= MAX_TOPIC_TERMS:
        aggs["topic"] = _terms("topic", info["topics"])
    first, last = info.get("first_date"), info.get("last_date")
    if first is not None:
        daily = (last - first) <= DAILY_SPAN_DAYS * 86_400_000
        aggs["dates"] = histogram("day" if daily else "month")
    return aggs


def histogram(interval: str) -> dict:
    return {
        "date_histogram": {"field": "date", "calendar_interval": interval, "min_doc_count": 1},
        "meta": {"interval": interval},
    }


def _terms(field: str, size: int) -> dict:
    size = min(size, MAX_TERMS)
    return {"terms": {"field": field, "size": size, "shard_size": size}}


def needs_days(aggregations: dict) -> tuple[int, int] | None:
    """(first, last) in ms when the matches were counted by month but must be charted by day."""
    dates = aggregations.get("dates")
    first, last = _day(aggregations, "first"), _day(aggregations, "last")
    if dates is None or first is None or _interval(dates) == "day":
        return None
    if (last - first).days > _DAY_INTERVAL_DAYS:
        return None
    return aggregations["first"]["value"], aggregations["last"]["value"]


def facets(aggregations: dict, info: dict, days: dict | None = None) -> dict:
    """{"source": [...], "topic": [...], "date": {"interval", "buckets"}} from a response's
    aggregations (`days`: the by-day histogram asked again, when needs_days said so)."""
    labels = info["labels"]
    sources = _counts(aggregations.get("source"))
    topics = _counts(aggregations.get("topic"))
    return {
        "source": [
            {"value": value, "label": labels.get(value, value), "count": count}
            for value, count in _most_common(sources)
        ],
        "topic": [{"value": value, "count": count} for value, count in _most_common(topics)],
        "date": bucket_counts(_days(aggregations, days)),
    }


def _counts(aggregation: dict | None) -> dict[str, int]:
    if not aggregation:
        return {}
    return {bucket["key"]: bucket["doc_count"] for bucket in aggregation["buckets"]}


def _most_common(counts: dict[str, int]) -> list[tuple[str, int]]:
    """facets._most_common: the most frequent, ties in alphabetical order."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_FACET_VALUES]


def _days(aggregations: dict, days: dict | None) -> Counter:
    """Matching articles per day, or per month with the first and last day exact: either
    gives bucket_counts the span, and so the interval, the embedded engine finds."""
    histogram = days or aggregations.get("dates")
    first, last = _day(aggregations, "first"), _day(aggregations, "last")
    if histogram is None or first is None:
        return Counter()
    counted = Counter()
    for bucket in histogram["buckets"]:
        if bucket["doc_count"]:
            counted[_ms_to_date(bucket["key"])] += bucket["doc_count"]
    if _interval(histogram) == "month":
        # Month starts stand for their months; the first and last month stand at the
        # matches' real first and last day (every interval chosen is a month or longer).
        for month_start, day in ((_month(first), first), (_month(last), last)):
            if month_start in counted and month_start != day:
                counted[day] += counted.pop(month_start)
    return counted


def _interval(histogram: dict) -> str:
    return histogram.get("meta", {}).get("interval", "day")


def _day(aggregations: dict, name: str) -> date | None:
    value = (aggregations.get(name) or {}).get("value")
    return None if value is None else _ms_to_date(value)


def _month(day: date) -> date:
    return date(day.year, day.month, 1)


def _ms_to_date(ms: float) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + int(ms // 86_400_000))
