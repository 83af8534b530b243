"""A generation's term statistics, read from its terms index, as the embedded code reads an index.

searchsvc's query parser, shaping, feedback, snippet scoring and related-article
terms ask a Whoosh reader for document frequencies, prefix expansions and
lengths. StatsReader answers the same questions from the statistics counted
when the generation was loaded, so that code runs unchanged, with the same
answers, over a cluster: fetched in batches, cached per generation.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

from searchsvc.engine.embedded.querying import MAX_SCANNED_TERMS
from searchsvc.engine.opensearch.documents import stem
from searchsvc.index.schema import article_schema

CACHE_TERMS = 200_000  # stems whose statistics a process keeps per generation
_schema = None
_FIELDS = {"title": 0, "body": 1}  # -> position in a cached (t, b, p, bf) tuple
_NONE = (0, 0, 0, 0)


def schema():
    """The embedded article schema: the parser analyses each field as it says."""
    global _schema
    if _schema is None:
        _schema = article_schema()
    return _schema


def term_id(term: str) -> str:
    """A term document's _id (an _id holds 512 bytes; longer terms are found by their field)."""
    key = "t:" + term
    return key if len(key.encode("utf-8", "surrogatepass")) <= 500 else ""


class TermStats:
    """Per-stem (headline df, body df, paragraph df, body occurrences) of one generation."""

    def __init__(self, call, terms_index: str):
        self.call = call  # engine.Cluster.call: the client call with errors mapped
        self.index = terms_index
        self._known: dict[str, tuple[int, int, int, int]] = {}
        self._lock = threading.Lock()

    def get(self, term: str) -> tuple[int, int, int, int]:
        term = stem(term)
        found = self._known.get(term)
        if found is None:
            self.prefetch([term])
            found = self._known.get(term, _NONE)
        return found

    def prefetch(self, terms: Iterable[str]) -> None:
        """Fetch, in one round trip, the statistics of those of `terms` not yet known."""
        wanted = sorted({stem(t) for t in terms if t} - self._known.keys())
        if not wanted:
            return
        found = dict.fromkeys(wanted, _NONE)
        ids = {term_id(term): term for term in wanted}
        if "" in ids:  # a stem too long for an _id: looked up by its field
            long = [t for t in wanted if not term_id(t)]
            body = {"query": {"terms": {"term": long}}, "size": len(long)}
            for hit in self.call("search", index=self.index, body=body)["hits"]["hits"]:
                found[hit["_source"]["term"]] = _row(hit["_source"])
            ids.pop("")
        if ids:
            answer = self.call("mget", index=self.index, body={"ids": list(ids)})
            for doc in answer["docs"]:
                if doc.get("found"):
                    found[ids[doc["_id"]]] = _row(doc["_source"])
        self._remember(found)

    def expand_prefix(self, field: str, prefix: str) -> list[str]:
        """The stems starting with `prefix` that `field` holds, in byte order, as the
        embedded lexicon lists them (at most the query's whole scanning budget)."""
        position = _FIELDS.get(field)
        if position is None or not prefix:
            return []
        body = {
            "query": {
                "bool": {
                    "filter": [
                        {"prefix": {"term": stem(prefix)}},
                        {"range": {"tb"[position]: {"gt": 0}}},
                    ]
                }
            },
            "sort": [{"term": "asc"}],
            "size": MAX_SCANNED_TERMS,
            "_source": ["term", "t", "b", "p", "bf"],
        }
        hits = self.call("search", index=self.index, body=body)["hits"]["hits"]
        rows = {hit["_source"]["term"]: _row(hit["_source"]) for hit in hits}
        self._remember(rows)
        return list(rows)

    def _remember(self, rows: dict) -> None:
        with self._lock:
            if len(self._known) + len(rows) > CACHE_TERMS:
                self._known.clear()  # rare; a cleared cache costs round trips, not answers
            self._known.update(rows)


def _row(source: dict) -> tuple[int, int, int, int]:
    return (source.get("t", 0), source.get("b", 0), source.get("p", 0), source.get("bf", 0))


class StatsReader:
    """The part of a Whoosh reader and searcher that searchsvc's query code uses."""

    def __init__(self, stats: TermStats, info: dict, records: dict | None = None):
        self.stats = stats
        self.info = info
        self.schema = schema()
        self.records = records or {}  # docnum -> record JSON, for feedback's top articles

    # Reader and searcher at once: parse() passes a reader, shaping a searcher.
    def reader(self) -> StatsReader:
        return self

    def get_parent(self) -> StatsReader:
        return self

    def doc_count_all(self) -> int:
        return self.info["articles"]

    doc_count = doc_count_all

    def field_length(self, fieldname: str) -> int:
        return self.info["lengths"].get(fieldname, 0)

    def doc_frequency(self, fieldname: str, text) -> int:
        position = _FIELDS.get(fieldname)
        if position is None:
            return 0
        return self.stats.get(_text(text))[position]

    def frequency(self, fieldname: str, text) -> int:
        """Occurrences in the whole collection (bodies only: what related articles ask)."""
        return self.stats.get(_text(text))[3] if fieldname == "body" else 0

    def __contains__(self, key) -> bool:
        fieldname, text = key
        return self.doc_frequency(fieldname, text) > 0

    def expand_prefix(self, fieldname: str, prefix) -> list[bytes]:
        return [t.encode("utf-8") for t in self.stats.expand_prefix(fieldname, _text(prefix))]

    def lexicon(self, fieldname: str) -> list[bytes]:
        return []  # a wildcard needs two letters before its `*` (querying.py): never asked

    def stored_fields(self, docnum: int) -> dict:
        return {"record": self.records.get(docnum, "{}")}


class ParagraphReader:
    """The paragraph index as snippets.ParagraphStats reads it: BM25F's IDF and lengths."""

    def __init__(self, stats: TermStats, info: dict):
        self.stats = stats
        self.count = info["paragraphs"]
        self.length = info["paragraph_length"]
        self.weighting = self

    def avg_field_length(self, fieldname: str) -> float:
        return self.length / (self.count or 1)

    def idf(self, searcher, fieldname: str, text: str) -> float:
        # whoosh.scoring.WeightingModel.idf, over the paragraph counts.
        return math.log(self.count / (self.stats.get(text)[2] + 1)) + 1


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
