"""Articles -> analysed documents -> the documents the cluster indexes, ranking quantities baked in.

Loading a generation is two passes. The first analyses each article once
(searchsvc's NLTK analyzer: stems, positions kept) into a plain dict and
counts the collection's statistics (Totals). The second bakes, per article
and stem, what searchsvc's BM25F needs and the cluster cannot compute from
its own statistics, with the whole generation's average lengths:

- f_w / f_1: the word's headline and text frequencies, each normalised by its
  field's length (B per field, lengths quantised to a byte as the embedded
  index stores them), headline weighted by the title boost (f_w) or by 1 (f_1);
- g_title / g_body: one field's normalised frequency (for title:, phrases);
- lead: the word's occurrences among the text's first `lead_words` words.

The index's similarity saturates them as BM25 does, times the query's weight,
which is the IDF (from the generation's own document frequencies, so the same
on every shard) times the clause's boost.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from whoosh.util.numeric import length_to_byte

from searchsvc.engine.opensearch.mapping import FLOOR, LEAD_FIELD, MAX_TERM_CHARS, RESOLUTION
from searchsvc.index.codec import BYTE_LENGTHS
from searchsvc.index.schema import article_schema
from searchsvc.model.articles import Article
from searchsvc.text.analysis import term_spans
from searchsvc.text.vocabulary import article_words

_EPOCH = datetime(1970, 1, 1)
_MAX_FREQUENCY = 2**31 - 1  # Lucene's term frequency is an int
_topic_field = None


def doc_id(article_id: str) -> str:
    """The OpenSearch _id of an article: ids may be longer than the 512 bytes _id allows."""
    encoded = article_id.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


def stem(term: str) -> str:
    """A stem as the cluster holds it: cut at MAX_TERM_CHARS (Lucene's term limit)."""
    return term[:MAX_TERM_CHARS]


def epoch_millis(moment: datetime) -> int:
    """A datetime as milliseconds since 1970 (negative before); a time zone is dropped,
    as Whoosh's date field drops it."""
    delta = moment.replace(tzinfo=None) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def analyse(article: Article, content_hash: str) -> dict:
    """One article, analysed: what the spool keeps between the two passes."""
    record = article.to_dict()
    del record["origin"]  # as schema.article_document: where it was read changes nothing served
    title = article.title if not article.title_derived else ""
    paragraphs = [[stem(t) for t, _, _ in term_spans(p)] for p in article.paragraphs]
    sort_date = article.sort_date
    return {
        "key": doc_id(article.id),
        # A path that is not UTF-8 gives an id with lone surrogates: the record keeps it
        # (escaped: the cluster takes UTF-8 only), the searchable copy has it replaced.
        "id": article.id.encode("utf-8", "replace").decode("utf-8"),
        "hash": content_hash,
        "record": json.dumps(record, ensure_ascii=True),
        "title": " ".join(stem(t) for t, _, _ in term_spans(title)),
        "body": " ".join(t for paragraph in paragraphs for t in paragraph),
        "paras": [len(paragraph) for paragraph in paragraphs],
        "date": epoch_millis(sort_date) if sort_date is not None else None,
        "source": article.source or None,
        "topic": topics(article),
    }


def topics(article: Article) -> list[str]:
    """The article's topics as the embedded index's `topic` field splits and folds them."""
    global _topic_field
    values = article.extra.get("topics")
    if not (isinstance(values, list) and values and all(isinstance(t, str) for t in values)):
        return []
    if _topic_field is None:
        _topic_field = article_schema()["topic"]
    joined = ",".join(t.replace(",", " ") for t in values)
    return list(dict.fromkeys(stem(t) for t in _topic_field.process_text(joined, mode="index")))


@dataclass
class Totals:
    """The collection's statistics, counted over the analysed documents of a generation."""

    articles: int = 0
    title_length: int = 0
    body_length: int = 0
    paragraphs: int = 0
    paragraph_length: int = 0
    title_df: Counter = field(default_factory=Counter)
    body_df: Counter = field(default_factory=Counter)
    paragraph_df: Counter = field(default_factory=Counter)
    body_cf: Counter = field(default_factory=Counter)
    words: Counter = field(default_factory=Counter)  # surface words, for did-you-mean
    labels: dict = field(default_factory=dict)  # folded source -> its first spelling
    _first_seen: dict = field(default_factory=dict)  # folded source -> seq of that spelling
    topics: set = field(default_factory=set)
    first_date: int | None = None
    last_date: int | None = None
    longest_title: int = 0
    longest_body: int = 0
    most_stems: int = 0  # distinct stems of one article, headline and text together

    def add(self, doc: dict) -> None:
        title, body = doc["title"].split(), doc["body"].split()
        self.articles += 1
        self.title_length += len(title)
        self.body_length += len(body)
        self.longest_title = max(self.longest_title, len(title))
        self.longest_body = max(self.longest_body, len(body))
        self.most_stems = max(self.most_stems, len(set(title) | set(body)))
        self.title_df.update(set(title))
        counts = Counter(body)
        self.body_df.update(counts.keys())
        self.body_cf.update(counts)
        start = 0
        for length in doc["paras"]:
            self.paragraph_df.update(set(body[start : start + length]))
            start += length
        self.paragraphs += len(doc["paras"])
        self.paragraph_length += len(body)
        self.words.update(article_words(json.loads(doc["record"])))
        if doc["source"]:
            # Labelled as the corpus first spells it: by indexing order, whatever the
            # order documents are counted in.
            folded, seq = doc["source"].lower(), doc.get("seq", self.articles)
            if seq < self._first_seen.get(folded, seq + 1):
                self._first_seen[folded] = seq
                self.labels[folded] = doc["source"]
        self.topics.update(doc["topic"])
        if doc["date"] is not None:
            first, last = self.first_date, self.last_date
            self.first_date = doc["date"] if first is None else min(first, doc["date"])
            self.last_date = doc["date"] if last is None else max(last, doc["date"])

    def average(self, name: str) -> float:
        """The embedded index's average length: total over articles, 1 when there is none."""
        total = self.title_length if name == "title" else self.body_length
        return (total / self.articles if self.articles else 0.0) or 1.0


@dataclass(frozen=True)
class Baking:
    """What a generation's baked fields were computed with (kept in its info).

    A baked frequency f is sent as u = round(resolution * ln(1 + f / FLOOR)): as
    precise, relatively, for a word said once in a long article as for a headline
    word (a linear scale lost the former), and small enough that an article's
    frequencies sum below Lucene's limit (2**31 per field) however long it is.
    """

    title_weight: float
    k1: float
    title_b: float
    body_b: float
    lead_words: int
    average_title: float
    average_body: float
    resolution: float

    @classmethod
    def choose(cls, totals: Totals, ranking, title_weight: float) -> Baking:
        """The settings in force, and the finest resolution at which no article's encoded
        frequencies can sum past Lucene's limit."""
        baking = cls(title_weight, ranking.k1, ranking.title_b, ranking.body_b,
                     ranking.lead_words, totals.average("title"), totals.average("body"),
                     RESOLUTION)  # fmt: skip
        # Each field's share of the sum grows with its length (a tenth more for the
        # byte-rounded lengths), and n * ln(1 + F / (n * FLOOR)) with the number of
        # distinct stems n and the frequencies' sum F: the collection's longest
        # headline and text and its most stems bound every article's encoded sum.
        stems = max(totals.most_stems, 1)
        heaviest = 1.1 * baking.frequency_sum(totals.longest_title, totals.longest_body)
        bound = stems * math.log1p(heaviest / (stems * FLOOR))
        resolution = RESOLUTION
        while bound * resolution >= _MAX_FREQUENCY / 2 and resolution > 1:  # room to round
            resolution /= 2
        return cls(**{**baking.__dict__, "resolution": resolution})

    def norm(self, name: str, length: int) -> float:
        b = self.title_b if name == "title" else self.body_b
        average = self.average_title if name == "title" else self.average_body
        return (1 - b) + b * quantised(length) / average

    def frequency_sum(self, title: int, body: int) -> float:
        """The most f_w a document of these lengths can sum to (each token counted once)."""
        weight = max(self.title_weight, 1.0)
        return weight * title / self.norm("title", title) + body / self.norm("body", body)

    def bake(self, doc: dict) -> dict:
        """The document the cluster indexes, from an analysed one."""
        title, body = doc["title"].split(), doc["body"].split()
        title_tf, body_tf = Counter(title), Counter(body)
        title_norm, body_norm = self.norm("title", len(title)), self.norm("body", len(body))
        g_title = {term: tf / title_norm for term, tf in title_tf.items()}
        g_body = {term: tf / body_norm for term, tf in body_tf.items()}
        f_w, f_1 = {}, {}
        for term in title_tf.keys() | body_tf.keys():
            # ranking.WordMatcher's sum, headline first.
            in_title = title_tf.get(term, 0)
            in_body = body_tf.get(term, 0)
            f_w[term] = self.title_weight * in_title / title_norm + in_body / body_norm
            f_1[term] = in_title / title_norm + in_body / body_norm
        lead = Counter(body[: self.lead_words]) if self.lead_words else Counter()
        # A version of a story (near-duplicates) says which; a lone article has no story.
        story = {name: doc[name] for name in ("story", "story_place") if name in doc}
        return {
            **story,
            "id": doc["id"],
            "hash": doc["hash"],
            "record": doc["record"],
            "title": doc["title"],
            "body": doc["body"],
            "paras": doc["paras"],
            "date": doc["date"],
            "source": doc["source"].lower() if doc["source"] else None,
            "topic": doc["topic"],
            "f_w": self._encoded(f_w),
            "f_1": self._encoded(f_1),
            "g_title": self._encoded(g_title),
            "g_body": self._encoded(g_body),
            LEAD_FIELD: " ".join(f"{term}|{count}" for term, count in lead.items()),
        }

    def _encoded(self, values: dict) -> str:
        resolution = self.resolution
        return " ".join(
            f"{term}|{max(1, round(resolution * math.log1p(value / FLOOR)))}"
            for term, value in values.items()
            if value > 0
        )


def quantised(length: int) -> int:
    """A field length as the embedded index reads it back: one byte, 0 read as 1."""
    return BYTE_LENGTHS[length_to_byte(length)] or 1
