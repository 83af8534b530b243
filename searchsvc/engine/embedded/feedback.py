"""Pseudo-relevance feedback for long requests: words of the best first answers, added.

A request of many words (a question of several sentences, a pasted
paragraph) names its subject in words that the relevant articles often do
not use. RM3-style: the first search's top articles, weighted by their
scores, vote for their own frequent and rare words; the best few are added to
the query with, together, `feedback_weight` of the query's own weight.
Short queries (a headline, a few words) are left alone.
"""

from __future__ import annotations

import json
import math
from collections import Counter

from whoosh import query as Q

from searchsvc.engine.embedded import typos
from searchsvc.engine.embedded.ranking import RankingSettings, Word, idf
from searchsvc.text.analysis import stop_stems, term_spans

CANDIDATES = 100  # words looked up in the index per feedback, the most frequent first


def words_of(query: Q.Query) -> list[Word]:
    """The ranking.Word clauses of a query, in order."""
    if isinstance(query, Word):
        return [query]
    if query.is_leaf():
        return []
    return [word for child in query.children() for word in words_of(child)]


def expand(query: Q.Query, top: list[tuple[int, float]], searcher,
           settings: RankingSettings) -> Q.Query | None:  # fmt: skip
    """`query` widened with feedback words from its `top` hits, or None when it does not apply."""
    words = [word for word in words_of(query) if word.boost >= 1]
    if not settings.feedback_words or len({w.text for w in words}) < settings.feedback_words:
        return None
    top = [(docnum, score) for docnum, score in top[: settings.feedback_docs] if score]
    if not top:
        return None
    best = max(score for _, score in top)
    shares = [math.exp(score - best) for _, score in top]
    votes: Counter = Counter()
    stops = stop_stems()
    for (docnum, _), share in zip(top, shares, strict=True):
        record = json.loads(searcher.stored_fields(docnum).get("record") or "{}")
        terms = [term for term, _, _ in term_spans("\n\n".join(record.get("paragraphs") or []))]
        for term, count in Counter(terms).items():
            if term not in stops:
                votes[term] += share / sum(shares) * count / len(terms)
    scored = {}
    for term, vote in votes.most_common(CANDIDATES):
        df = max(searcher.doc_frequency(field, term) for field in ("title", "body"))
        if df >= 2:  # a word of one article says nothing about the others
            scored[term] = vote * idf(searcher, df)
    chosen = sorted(scored.items(), key=lambda item: (-item[1], item[0]))[: settings.feedback_terms]
    if not chosen:
        return None
    mass = settings.feedback_weight * sum(word.boost for word in words)
    total = sum(value for _, value in chosen)
    title_weight = words[0].weights[0]
    added = [
        Word([Q.Term("title", term), Q.Term("body", term)], boost=mass * value / total,
             weights=(title_weight, 1.0))
        for term, value in chosen
    ]  # fmt: skip
    widened = typos.widen(query, added)
    return None if widened is query else widened
