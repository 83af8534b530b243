"""A parsed searchsvc query (a whoosh.query tree) -> OpenSearch query DSL that scores it the same.

Each node keeps the embedded engine's arithmetic: a word over headline and
text is one BM25F term (documents.py bakes its frequencies; the IDF is the
clause's weight), a word in one field is BM25 in that field, a phrase scores
as its words and matches where they stand in order (each at most `slop`
positions after the one before), filters score their boost, and compound
nodes add their children's scores as Whoosh's matchers do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from whoosh import query as Q

from searchsvc.engine.embedded.querying import Expansion
from searchsvc.engine.embedded.ranking import Word, idf
from searchsvc.engine.opensearch.documents import epoch_millis, stem
from searchsvc.engine.opensearch.mapping import LEAD_FIELD

NOTHING = {"match_none": {}}
_TEXT_FIELDS = ("title", "body")
_FILTER_FIELDS = {"source", "topic", "id"}
_ONE_MS = timedelta(milliseconds=1)


class Untranslatable(ValueError):
    """A query node the translation does not know (querying.py bounds every parsed query to
    known nodes, so only a programming error gets here)."""


class Translator:
    """Translates queries over one generation, whose statistics `reader` gives."""

    def __init__(self, reader, lead_weight: float, baking: dict):
        self.reader = reader
        # Lead credit: the ranking's weight times how much this collection's leads
        # restate their articles; none when the generation counted no lead.
        self.lead_weight = lead_weight if baking["lead_words"] else 0.0
        self.title_weight = baking["title_weight"]

    def dsl(self, query: Q.Query) -> dict:
        """The query's DSL, its words' statistics fetched first in one round trip."""
        self.reader.stats.prefetch(
            leaf.text for leaf in query.leaves() if isinstance(getattr(leaf, "text", None), str)
        )
        return self._dsl(query)

    def _dsl(self, query: Q.Query) -> dict:
        if query is Q.NullQuery:
            return NOTHING
        method = getattr(self, "_" + type(query).__name__, None)
        if method is None:
            method = self._by_base(query)
        return method(query)

    def _by_base(self, query: Q.Query):
        for kind, method in (
            (Q.DateRange, self._DateRange),
            (Q.Phrase, self._Phrase),
            (Q.Term, self._Term),
        ):
            if isinstance(query, kind):
                return method
        raise Untranslatable(f"no translation for {type(query).__name__}")

    # Scored words.

    def _idf(self, fieldname: str, text: str) -> float:
        return idf(self.reader, self.reader.doc_frequency(fieldname, text))

    def _Word(self, word: Word) -> dict:
        fields = tuple(t.fieldname for t in word.subqueries)
        if fields != _TEXT_FIELDS or word.weights[1] != 1.0:
            raise Untranslatable(f"a word over {fields} weighted {word.weights} was not baked")
        if not any(self.reader.doc_frequency(f, word.text) for f in fields):
            return NOTHING
        # ranking.Word.matcher: the IDF of the field where the word is commonest.
        weight = min(self._idf(f, word.text) for f in fields) * word.boost
        if abs(word.weights[0] - 1.0) < 1e-9:
            baked = "f_1"
        elif abs(word.weights[0] - self.title_weight) < 1e-9:
            baked = "f_w"
        else:
            raise Untranslatable(f"a headline weight of {word.weights[0]:g} was not baked")
        clauses = [_term(baked, word.text, weight)]
        if self.lead_weight and self.reader.doc_frequency("body", word.text):
            clauses.append(_term(LEAD_FIELD, word.text, weight * self.lead_weight))
        return _should(clauses)

    def _field_word(self, fieldname: str, text: str, weight: float, lead_weight: float) -> dict:
        """BM25 of one field (ranking.NewsScorer), with lead credit in the text."""
        clauses = [_term("g_" + fieldname, text, weight)]
        if fieldname == "body" and self.lead_weight:
            clauses.append(_term(LEAD_FIELD, text, lead_weight * self.lead_weight))
        return _should(clauses)

    def _Term(self, term: Q.Term) -> dict:
        if term.fieldname in _TEXT_FIELDS:
            if not self.reader.doc_frequency(term.fieldname, term.text):
                return NOTHING
            weight = self._idf(term.fieldname, term.text) * term.boost
            return self._field_word(term.fieldname, term.text, weight, weight)
        if term.fieldname == "date" and isinstance(term.text, datetime):
            return self._DateRange(Q.DateRange("date", term.text, term.text, boost=term.boost))
        if term.fieldname in _FILTER_FIELDS and isinstance(term.text, str):
            # Not scorable: a match scores its weight (one occurrence), times the boost.
            return _constant({"term": {term.fieldname: stem(term.text)}}, term.boost)
        return NOTHING

    def _Phrase(self, phrase: Q.Phrase) -> dict:
        if phrase.fieldname not in _TEXT_FIELDS or not phrase.words:
            return NOTHING
        words = [stem(w) for w in phrase.words]
        if any(not self.reader.doc_frequency(phrase.fieldname, w) for w in words):
            return NOTHING
        # Scored as the intersection of its words (arrayrank.ArrayPhrase), kept where
        # they line up.
        scored = [self._Term(Q.Term(phrase.fieldname, w)) for w in words]
        where = _in_order(phrase.fieldname, words, phrase.slop)
        return {"bool": {"must": scored, "filter": [where], "boost": phrase.boost}}

    # Matches that score a constant.

    def _Expansion(self, expansion: Expansion) -> dict:
        # Whoosh's MultiTerm asks for constant scores, but arrayrank scores its words as
        # the searcher's weighting does: an any-word query of its words, each boosted.
        words = [w.decode("utf-8") if isinstance(w, bytes) else w for w in expansion.words]
        terms = [Q.Term(expansion.fieldname, w, boost=expansion.boost) for w in words]
        return _should([self._dsl(term) for term in terms])

    def _DateRange(self, query: Q.DateRange) -> dict:
        bounds = {}
        if query.startdate is not None:
            start = query.startdate + (_ONE_MS if query.startexcl else timedelta(0))
            bounds["gte"] = epoch_millis(start)
        if query.enddate is not None:
            end = query.enddate - (_ONE_MS if query.endexcl else timedelta(0))
            bounds["lte"] = epoch_millis(end)
        return _constant({"range": {"date": bounds}}, query.boost)

    def _Every(self, query: Q.Every) -> dict:
        return {"match_all": {"boost": query.boost}}

    # Compound nodes: scores of the children that match, added.

    def _Or(self, query: Q.Or) -> dict:
        return _should([self._dsl(q) for q in query.subqueries], query.boost)

    _Coordinated = _Or  # coordination (off by default) is not translated: scored as any-word

    def _And(self, query: Q.And) -> dict:
        return {"bool": {"must": [self._dsl(q) for q in query.subqueries], "boost": query.boost}}

    def _AndNot(self, query: Q.AndNot) -> dict:
        return {
            "bool": {"must": [self._dsl(query.a)], "must_not": [self._dsl(query.b)],
                     "boost": query.boost}
        }  # fmt: skip

    _ArrayAndNot = _AndNot

    def _AndMaybe(self, query: Q.AndMaybe) -> dict:
        return {"bool": {"must": [self._dsl(query.a)], "should": [self._dsl(query.b)],
                         "boost": query.boost}}  # fmt: skip

    def _Require(self, query: Q.Require) -> dict:
        return {"bool": {"must": [self._dsl(query.a)], "filter": [self._dsl(query.b)],
                         "boost": query.boost}}  # fmt: skip

    def _Not(self, query: Q.Not) -> dict:
        return {"bool": {"must": [{"match_all": {}}], "must_not": [self._dsl(query.query)],
                         "boost": query.boost}}  # fmt: skip


def _term(fieldname: str, text: str, weight: float) -> dict:
    return {"term": {fieldname: {"value": stem(text), "boost": max(weight, 0.0)}}}


def _should(clauses: list[dict], boost: float = 1.0) -> dict:
    clauses = [c for c in clauses if c is not NOTHING]
    if not clauses:
        return NOTHING
    if len(clauses) == 1 and boost == 1.0:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1, "boost": max(boost, 0.0)}}


def _constant(match: dict, boost: float) -> dict:
    return {"constant_score": {"filter": match, "boost": max(boost, 0.0)}}


def _in_order(fieldname: str, words: list[str], slop: int) -> dict:
    """Each word 1 to `slop` positions after the previous one (Whoosh's SpanNear2, ordered)."""
    if slop <= 1 or len(words) == 1:
        return {"match_phrase": {fieldname: {"query": " ".join(words), "slop": 0}}}
    span = {"span_term": {fieldname: words[0]}}
    for word in words[1:]:
        following = {"span_term": {fieldname: word}}
        span = {"span_near": {"clauses": [span, following], "slop": slop - 1, "in_order": True}}
    return span
