"""The scoring model: BM25F over headline and text, with adaptive lead credit.

Everything here is measured on the judged sets of `searchsvc eval --suite`
(docs/ranking.md has the table); the knobs are settings in searchsvc/config.py.

- `Word` / `WordMatcher`: one query word in the headline and the text as one
  BM25F term: the fields' length-normalised frequencies are added (headline
  weighted) before one saturation, with the Robertson/Lucene IDF.
- `NewsWeighting` / `NewsScorer`: BM25 for a word in one field only (`title:x`,
  corrections), with the same IDF.
- Lead credit: a word among an article's first words earns extra, saturating,
  credit, weighted by how much more this collection's leads restate their
  article than the words after them do (`lead_share`, measured once per index).
- `Coordinated` and `proximity_clauses`: measured, off by default.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh import matching
from whoosh import query as Q
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.matching import Matcher
from whoosh.reading import TermNotFound
from whoosh.scoring import WeightingModel, WeightLengthScorer, WeightScorer, bm25

from searchsvc.engine.embedded.state import GenerationState, state_of
from searchsvc.index.codec import BYTE_LENGTHS, field_length_bytes


@dataclass(frozen=True)
class RankingSettings:
    """The ranking knobs; defaults equal the settings' defaults in searchsvc/config.py."""

    k1: float = 1.2
    body_b: float = 0.65
    title_b: float = 0.75
    lead_words: int = 30  # body positions that count as the lead; 0 turns lead credit off
    lead_weight: float = 0.5  # the most lead credit, relative to a word's BM25 weight
    feedback_words: int = 6  # distinct query words from which feedback applies; 0 = off
    feedback_docs: int = 10  # top articles that feedback reads
    feedback_terms: int = 20  # words feedback adds
    feedback_weight: float = 0.5  # their weight, relative to the query's own words
    key_words: int = 64  # most distinct words a long text is searched by
    coordination: float = 0.0  # exponent on the share of query words matched; 0 = off
    proximity_boost: float = 0.0  # weight of near-phrase clauses; 0 = off
    proximity_slop: int = 3  # how far apart neighbouring words may be
    typo_tolerance: bool = True  # corrections and last-word prefixes, as low-weight clauses

    @classmethod
    def from_config(cls, config) -> RankingSettings:
        names = cls.__dataclass_fields__
        return cls(**{name: config["rank_" + name] for name in names if "rank_" + name in config})


class NewsWeighting(WeightingModel):
    """BM25 per field, plus saturating credit for body words inside the lead.

    It carries the generation's state to every searcher and scorer Whoosh makes
    from the searcher it weighs (state.state_of); made without one, it keeps its own.
    """

    def __init__(
        self, settings: RankingSettings | None = None, state: GenerationState | None = None
    ):
        self.settings = settings or RankingSettings()
        self.state = state if state is not None else GenerationState()

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
        weight = s.lead_weight * lead_share(searcher, s.lead_words) if lead else 0.0
        lead_words = s.lead_words if weight else 0
        return NewsScorer(searcher, fieldname, text, b, s.k1, lead_words, weight, self.state)

    def idf(self, searcher, fieldname: str, text) -> float:
        # GenerationState.idf calls this once per word and field, then keeps it.
        return idf(searcher, searcher.get_parent().doc_frequency(fieldname, text))


def idf(searcher, df: int) -> float:
    """Robertson/Lucene IDF over the whole index: rare words weigh more, never below zero.

    Whoosh's, log(N/(df+1))+1, under-weights rare words against common ones
    (a long request's every common word still counts); this one is BM25's own.
    """
    n = searcher.get_parent().doc_count_all()
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class NewsScorer(WeightLengthScorer):
    def __init__(self, searcher, fieldname, text, b, k1, lead_words, lead_weight, state):
        self.idf = state.idf(searcher, fieldname, text)
        self.avgfl = average_field_length(searcher.get_parent(), fieldname) or 1
        self.B, self.K1 = b, k1
        self.lead_words, self.lead_weight = lead_words, lead_weight
        self.setup(searcher, fieldname, text)
        reader = searcher.reader()
        if reader.is_atomic():
            self.dfl = field_lengths(state, reader, fieldname).__getitem__
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


LEAD_SAMPLE = 500  # articles long enough to measure how much leads restate their article
LEAD_READS = 10  # at most this many times LEAD_SAMPLE articles read to find them
# Leads that share this much more of their words with the rest of the article than
# the words after the lead do (1.2 = 20% more) earn the full lead weight; 1.0, none.
LEAD_FULL_RATIO = 1.2


def lead_share(searcher, lead_words: int) -> float:
    """0-1: how much this index's leads restate their articles, measured once per index.

    Lead credit pays where news is written lead first (a wire story's first
    sentence says what the article is about) and costs where it is not (a blog's
    opening words). So from up to LEAD_SAMPLE long articles drawn from the index:
    the share of the lead's content words that recur after its next `lead_words`
    words, against the same share for those next words; 1.0 when leads recur
    LEAD_FULL_RATIO times as much, 0 when no more than the words after them.
    """
    reader = searcher.get_parent().reader()
    name = ("lead share", lead_words)
    return state_of(searcher).per_index(reader, name, _measure_lead_share, reader, lead_words)


def _measure_lead_share(reader, lead_words: int) -> float:
    from searchsvc.text.analysis import stop_stems, term_spans

    stops = stop_stems()
    total = reader.doc_count_all()
    # Articles from all over the index, the same ones every time.
    order = np.random.default_rng(0).permutation(total)[: LEAD_SAMPLE * LEAD_READS]
    lead_shares, next_shares = [], []
    for docnum in order.tolist():
        if len(lead_shares) >= LEAD_SAMPLE:
            break
        if reader.is_deleted(docnum):
            continue
        record = json.loads(reader.stored_fields(docnum).get("record") or "{}")
        terms = [term for term, _, _ in term_spans("\n\n".join(record.get("paragraphs") or []))]
        if len(terms) < 3 * lead_words:
            continue  # too short to tell a lead from what follows it
        lead = set(terms[:lead_words]) - stops
        after = set(terms[lead_words : 2 * lead_words]) - stops
        rest = set(terms[2 * lead_words :])
        if lead and after:
            lead_shares.append(len(lead & rest) / len(lead))
            next_shares.append(len(after & rest) / len(after))
    if not sum(lead_shares):
        return 0.0
    ratio = sum(lead_shares) / sum(next_shares) if sum(next_shares) else math.inf
    return min(1.0, max(0.0, (ratio - 1) / (LEAD_FULL_RATIO - 1)))


def average_field_length(searcher, fieldname: str) -> float | None:
    """The searcher's average length of `fieldname`, computed once per generation.

    Whoosh sums every segment's total for each scorer it builds, that is for
    every query word in every segment: 5% of query time at 10x Reuters.
    """
    name, average = ("average length", fieldname), searcher.avg_field_length
    return state_of(searcher).per_index(searcher.reader(), name, average, fieldname)


def field_lengths(state: GenerationState, reader, fieldname: str) -> list[int]:
    """Every document's length in `fieldname` in one segment, decoded once per generation.

    Whoosh reads a length from its column file and decodes its byte on every
    score (a tenth of a query's scoring time); a list costs 8 bytes a document.
    """
    return state.per_segment(reader, ("lengths", fieldname), read_field_lengths, reader, fieldname)


def read_field_lengths(reader, fieldname: str) -> list[int]:
    """field_lengths(), read from the segment's files."""
    column = _length_bytes(reader, fieldname)
    if column is not None:
        return _BYTE_LENGTHS[column].tolist()
    length = reader.doc_field_length
    return [length(d, fieldname, 1) or 1 for d in range(reader.doc_count_all())]


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


def field_length_array(state: GenerationState, reader, fieldname: str) -> np.ndarray:
    """field_lengths() as floats, for scoring a whole posting list at once (arrayrank.py)."""
    name = ("length floats", fieldname)
    return state.per_segment(reader, name, _floats, state, reader, fieldname)


def _floats(state: GenerationState, reader, fieldname: str) -> np.ndarray:
    return np.asarray(field_lengths(state, reader, fieldname), dtype=np.float64)


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


class _UnionMatcher(Matcher):
    """Steps its children as a union: the smallest current document, each child moved on
    when it is there. Scores every candidate, so it offers no block quality."""

    _children: list[Matcher]

    def children(self) -> list[Matcher]:
        return list(self._children)

    def is_active(self) -> bool:
        return any(child.is_active() for child in self._children)

    def reset(self) -> None:
        for child in self._children:
            child.reset()

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


class CoordinationMatcher(_UnionMatcher):
    """A union that knows, per document, how many of its clauses matched."""

    def __init__(self, children: list[Matcher], clauses: int, exponent: float, boost=1.0):
        self._children = children
        self._clauses = max(clauses, 1)
        self._exponent = exponent
        self._boost = boost

    def copy(self) -> Matcher:
        return self.__class__(
            [child.copy() for child in self._children], self._clauses, self._exponent, self._boost
        )

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


class Word(Q.CompoundQuery):
    """One query word in the headline and the text, scored as one BM25F term.

    Its children are the word's Term in each field (so leaves(), highlighting and
    snippets see plain terms); `weights` are the fields' weights in the combined
    frequency, in the children's order.
    """

    JOINT = " WORD "

    def __init__(self, subqueries, boost: float = 1.0, weights: tuple[float, ...] = ()):
        super().__init__(subqueries, boost=boost)
        self.weights = tuple(weights) or (1.0,) * len(self.subqueries)

    @property
    def text(self) -> str:
        return self.subqueries[0].text

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.weights == other.weights

    def __hash__(self) -> int:
        return super().__hash__() ^ hash(self.weights)

    def __repr__(self) -> str:
        return f"Word({self.text!r}, {self.weights!r}, boost={self.boost})"

    def normalize(self) -> Q.Query:
        return self  # the children are plain terms already

    def apply(self, fn) -> Q.Query:
        return Word([fn(q) for q in self.subqueries], boost=self.boost, weights=self.weights)

    def matcher(self, searcher, context=None) -> Matcher:
        weighting = context.weighting if context is not None else searcher.weighting
        settings = getattr(weighting, "settings", None) or RankingSettings()
        state = state_of(searcher)
        parent, reader = searcher.get_parent(), searcher.reader()
        fields, children = [], []
        for term, weight in zip(self.subqueries, self.weights, strict=True):
            field = searcher.schema[term.fieldname] if term.fieldname in searcher.schema else None
            if field is None or not field.scorable:
                continue
            try:  # the raw postings (deleted documents filtered): the score is computed here
                matcher = reader.postings(term.fieldname, term.text)
            except TermNotFound:
                continue
            if matcher.is_active():
                b = settings.title_b if term.fieldname == "title" else settings.body_b
                average = average_field_length(parent, term.fieldname) or 1
                fields.append(WordField(term.fieldname, weight, b, average))
                children.append(matcher)
        if not children:
            return matching.NullMatcher()
        # The IDF of the field where the word is commonest (IDF falls as frequency
        # rises): the union's frequency, nearly, without reading both posting lists.
        word_idf = min(state.idf(searcher, term.fieldname, term.text) for term in self.subqueries)
        lead_words, lead_weight = 0, 0.0
        body = [f.name for f in fields]
        if settings.lead_words and settings.lead_weight and "body" in body:
            lead_weight = settings.lead_weight * lead_share(searcher, settings.lead_words)
            lead_words = settings.lead_words if lead_weight else 0
        scoring = WordScoring(word_idf, settings.k1, tuple(fields), lead_words, lead_weight)
        found = WordMatcher(children, scoring, searcher.reader(), state)
        return found if self.boost == 1.0 else matching.WrappingMatcher(found, boost=self.boost)


@dataclass(frozen=True)
class WordField:
    name: str
    weight: float  # the field's weight in the combined frequency
    b: float
    average: float  # average length of the field over the index


@dataclass(frozen=True)
class WordScoring:
    """BM25F for one word: the arithmetic both WordMatcher and arrayrank follow, step for step."""

    idf: float
    k1: float
    fields: tuple[WordField, ...]
    lead_words: int  # 0: no lead credit
    lead_weight: float

    def score(self, frequency: float, in_lead: int) -> float:
        k1 = self.k1
        score = self.idf * ((frequency * (k1 + 1)) / (frequency + k1))
        if in_lead:
            score += self.lead_weight * self.idf * (in_lead * (k1 + 1) / (in_lead + k1))
        return score


class WordMatcher(_UnionMatcher):
    """The union of a word's per-field postings, scored with WordScoring per document."""

    def __init__(self, children: list[Matcher], scoring: WordScoring, reader, state):
        self._children = children
        self.scoring = scoring
        self.reader = reader
        self.state = state
        self._lengths = [field_lengths(state, reader, f.name) for f in scoring.fields]

    def copy(self) -> Matcher:
        return WordMatcher(
            [c.copy() for c in self._children], self.scoring, self.reader, self.state
        )

    def max_quality(self) -> float:
        s = self.scoring
        return s.idf * (s.k1 + 1) * (1 + s.lead_weight)

    def weight(self) -> float:
        current = self.id()
        return sum(c.weight() for c in self._children if c.is_active() and c.id() == current)

    def score(self) -> float:
        current = self.id()
        frequency, in_lead = 0.0, 0
        for child, field, lengths in zip(self._children, self.scoring.fields, self._lengths,
                                         strict=True):  # fmt: skip
            if not child.is_active() or child.id() != current:
                continue
            norm = (1 - field.b) + field.b * lengths[current] / field.average
            frequency += field.weight * child.weight() / norm
            if field.name == "body" and self.scoring.lead_words:
                in_lead = sum(1 for p in child.value_as("positions") if p < self.scoring.lead_words)
        return self.scoring.score(frequency, in_lead)

    def matching_terms(self, id: int | None = None):
        current = self.id() if id is None else id
        for child in self._children:
            if child.is_active() and child.id() == current:
                yield from child.matching_terms(current)
