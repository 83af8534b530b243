"""The scoring model: BM25 with lead-paragraph evidence, word coordination and proximity.

Everything here is measured on judged query sets (docs/ranking.md has the table);
the knobs are settings in searchsvc/config.py. Three pieces:

- `NewsWeighting`: per-field BM25 (Whoosh's IDF); a body term found among an
  article's first words (its lead) earns extra, saturating, credit.
- `Coordinated`: an any-word query whose score is scaled by the share of the
  query's words an article matches, computed per document (never pruned, so a
  score does not depend on `limit` or on segment count; see WHOOSH-NOTES #2).
- `proximity_clauses`: optional near-phrase clauses for neighbouring query words.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh import query as Q
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.matching import Matcher
from whoosh.scoring import WeightingModel, WeightLengthScorer, WeightScorer, bm25

from searchsvc.codec import BYTE_LENGTHS, field_length_bytes


@dataclass(frozen=True)
class RankingSettings:
    """The ranking knobs; defaults equal the settings' defaults in searchsvc/config.py."""

    k1: float = 1.2
    body_b: float = 0.75
    title_b: float = 0.75
    lead_words: int = 30  # body positions that count as the lead; 0 turns lead credit off
    lead_weight: float = 1.0  # lead credit, relative to a term's BM25 weight
    coordination: float = 0.0  # exponent on the share of query words matched; 0 = off
    proximity_boost: float = 0.0  # weight of near-phrase clauses; 0 = off
    proximity_slop: int = 3  # how far apart neighbouring words may be
    typo_tolerance: bool = True  # corrections and last-word prefixes, as low-weight clauses

    @classmethod
    def from_config(cls, config) -> RankingSettings:
        names = cls.__dataclass_fields__
        return cls(**{name: config["rank_" + name] for name in names if "rank_" + name in config})


class NewsWeighting(WeightingModel):
    """BM25 per field, plus saturating credit for body words inside the lead."""

    def __init__(self, settings: RankingSettings | None = None):
        self.settings = settings or RankingSettings()

    def supports_block_quality(self) -> bool:
        return True

    def scorer(self, searcher, fieldname: str, text: str, qf: int = 1):
        if not searcher.schema[fieldname].scorable:
            return WeightScorer.for_(searcher, fieldname, text)
        s = self.settings
        b = s.title_b if fieldname == "title" else s.body_b
        lead = fieldname == "body" and s.lead_words > 0 and s.lead_weight > 0
        field = searcher.schema[fieldname]
        lead = lead and field.format.supports("positions")
        return NewsScorer(
            searcher, fieldname, text, b, s.k1, s.lead_words if lead else 0, s.lead_weight
        )


class NewsScorer(WeightLengthScorer):
    def __init__(self, searcher, fieldname, text, b, k1, lead_words, lead_weight):
        self.idf = searcher.idf(fieldname, text)
        self.avgfl = average_field_length(searcher.get_parent(), fieldname) or 1
        self.B, self.K1 = b, k1
        self.lead_words, self.lead_weight = lead_words, lead_weight
        self.setup(searcher, fieldname, text)
        reader = searcher.reader()
        if reader.is_atomic():
            self.dfl = field_lengths(reader, fieldname).__getitem__
        # The most lead credit any document can get, so block-max pruning stays exact.
        self._lead_max = lead_weight * self.idf * (k1 + 1) if lead_words else 0.0
        self._maxquality += self._lead_max

    def _score(self, weight: float, length: int) -> float:
        return bm25(self.idf, weight, length, self.avgfl, self.B, self.K1)

    def score(self, matcher: Any) -> float:
        score = self._score(matcher.weight(), self.dfl(matcher.id()))
        if self.lead_words:
            in_lead = 0
            for position in matcher.value_as("positions"):
                if position >= self.lead_words:
                    break
                in_lead += 1
            if in_lead:
                tf = in_lead * (self.K1 + 1) / (in_lead + self.K1)
                score += self.lead_weight * self.idf * tf
        return score

    def block_quality(self, matcher: Any) -> float:
        return super().block_quality(matcher) + self._lead_max


_lengths: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # segment -> {field: lengths}
_averages: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # index reader -> {field: avg}


def average_field_length(searcher, fieldname: str) -> float | None:
    """The searcher's average length of `fieldname`, computed once per reader.

    Whoosh sums every segment's total for each scorer it builds, that is for
    every query word in every segment: 5% of query time at 10x Reuters.
    """
    reader = searcher.reader()
    per_field = _averages.get(reader)
    if per_field is None:
        per_field = _averages.setdefault(reader, {})
    if fieldname not in per_field:
        per_field[fieldname] = searcher.avg_field_length(fieldname)
    return per_field[fieldname]


def field_lengths(reader, fieldname: str) -> list[int]:
    """Every document's length in `fieldname` in one segment, decoded once per reader.

    Whoosh reads a length from its column file and decodes its byte on every
    score (a tenth of a query's scoring time); a list costs 8 bytes a document.
    """
    per_field = _lengths.get(reader)
    if per_field is None:
        per_field = _lengths.setdefault(reader, {})
    lengths = per_field.get(fieldname)
    if lengths is None:
        column = _length_bytes(reader, fieldname)
        if column is not None:
            lengths = _BYTE_LENGTHS[column].tolist()
        else:
            length = reader.doc_field_length
            lengths = [length(d, fieldname, 1) or 1 for d in range(reader.doc_count_all())]
        per_field[fieldname] = lengths
    return lengths


# A length byte's value as doc_field_length(..., 1) or 1 gives it: no length counts 1.
_BYTE_LENGTHS = np.array([length or 1 for length in BYTE_LENGTHS])


def _length_bytes(reader, fieldname: str) -> np.ndarray | None:
    """A segment's length bytes for `fieldname`, in one read (whoosh3's layout only).

    A document at a time, a 10x Reuters segment took 30 ms a field; the first
    query after a new index generation opened paid it for every segment.
    """
    perdoc = getattr(reader, "_perdoc", None)
    if not isinstance(perdoc, W3PerDocReader):
        return None
    return field_length_bytes(perdoc, fieldname, reader.doc_count_all())


def field_length_array(reader, fieldname: str) -> np.ndarray:
    """field_lengths() as floats, for scoring a whole posting list at once (arrayrank.py)."""
    per_field = _lengths.get(reader)
    lengths = per_field.get((fieldname, "array")) if per_field else None
    if lengths is None:
        lengths = np.asarray(field_lengths(reader, fieldname), dtype=np.float64)
        _lengths[reader][(fieldname, "array")] = lengths
    return lengths


class Coordinated(Q.CompoundQuery):
    """Any of the groups (one per query word); the summed score times the share of
    groups matched, raised to `exponent`."""

    JOINT = " COORD "

    def __init__(self, subqueries, boost: float = 1.0, exponent: float = 1.0):
        super().__init__(subqueries, boost=boost)
        self.exponent = exponent

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.exponent == other.exponent

    def __hash__(self) -> int:
        return super().__hash__() ^ hash(self.exponent)

    def normalize(self) -> Q.Query:
        query = super().normalize()
        if isinstance(query, Coordinated):
            query.exponent = self.exponent
        return query

    def apply(self, fn) -> Q.Query:
        query = super().apply(fn)
        query.exponent = self.exponent
        return query

    def matcher(self, searcher, context=None) -> Matcher:
        matchers = [clause.matcher(searcher, context) for clause in self.subqueries]
        return CoordinationMatcher(
            [m for m in matchers if m.is_active()],
            len(self.subqueries),
            self.exponent,
            self.boost,
        )


class CoordinationMatcher(Matcher):
    """A union that knows, per document, how many of its clauses matched."""

    def __init__(self, children: list[Matcher], clauses: int, exponent: float, boost=1.0):
        self._children = children
        self._clauses = max(clauses, 1)
        self._exponent = exponent
        self._boost = boost

    def children(self) -> list[Matcher]:
        return list(self._children)

    def is_active(self) -> bool:
        return any(child.is_active() for child in self._children)

    def reset(self) -> None:
        for child in self._children:
            child.reset()

    def copy(self) -> Matcher:
        return self.__class__(
            [child.copy() for child in self._children], self._clauses, self._exponent, self._boost
        )

    def id(self) -> int:
        return min(child.id() for child in self._children if child.is_active())

    def next(self) -> None:
        current = self.id()
        for child in self._children:
            if child.is_active() and child.id() == current:
                child.next()

    def skip_to(self, id: int) -> None:
        for child in self._children:
            if child.is_active() and child.id() < id:
                child.skip_to(id)

    def supports(self, astype: str) -> bool:
        return False

    def supports_block_quality(self) -> bool:
        return False  # scores every candidate: exact, whatever the limit or segments

    def max_quality(self) -> float:
        # An upper bound (the share matched is at most 1), for parents that prune.
        return self._boost * sum(c.max_quality() for c in self._children if c.is_active())

    def weight(self) -> float:
        current = self.id()
        return sum(c.weight() for c in self._children if c.is_active() and c.id() == current)

    def score(self) -> float:
        current = self.id()
        total, matched = 0.0, 0
        for child in self._children:
            if child.is_active() and child.id() == current:
                total += child.score()
                matched += 1
        return self._boost * total * (matched / self._clauses) ** self._exponent

    def matching_terms(self, id: int | None = None):
        current = self.id() if id is None else id
        for child in self._children:
            if child.is_active() and child.id() == current:
                yield from child.matching_terms(current)


def body_words(clauses: list[Q.Query], fieldname: str = "body") -> list[str]:
    """The plain words of a query's clauses, in order (phrases and wildcards excluded)."""
    words = []
    for clause in clauses:
        leaves = [clause] if clause.is_leaf() else list(clause.leaves())
        terms = [leaf for leaf in leaves if isinstance(leaf, Q.Term)]
        if len(terms) == len(leaves):
            words += [leaf.text for leaf in terms if leaf.fieldname == fieldname][:1]
    return words


def proximity_clauses(words: list[str], boost: float, slop: int) -> list[Q.Query]:
    """A near-phrase clause for each pair of neighbouring words (repeats skipped)."""
    pairs = []
    for first, second in zip(words, words[1:], strict=False):
        if first != second and (first, second) not in pairs:
            pairs.append((first, second))
    return [Q.Phrase("body", list(pair), slop=slop, boost=boost) for pair in pairs]
