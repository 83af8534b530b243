"""One request against the Whoosh engine: parse, widen, filter, rank, feed back, count.

Everything here runs on one generation's searchers; search.py turns the Ranked
it returns into the result served (snippets, spelling, links). A short query
counts the articles with every word (docs/query-language.md, "Which articles
count"); its ranking by relevance is that of any of the words, as for any query.
Unless the request says collapse=false, a story's near-duplicate versions are one
hit (the first in the order asked for) and are counted once (stories.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from datetime import time as day_time

import numpy as np
from whoosh import query as Q

from searchsvc.engine.embedded import feedback, stories, typos
from searchsvc.engine.embedded.arrayrank import Ranking, rank
from searchsvc.engine.embedded.datecolumn import cached_ranges, index_dates
from searchsvc.engine.embedded.facets import facet_counts
from searchsvc.engine.embedded.querying import ParsedQuery, parse, text_terms
from searchsvc.engine.embedded.shaping import every_word, shape
from searchsvc.engine.embedded.state import state_of
from searchsvc.index.schema import record_to_article
from searchsvc.model.results import Ranked, SearchRequest


def rank_request(snapshot, request: SearchRequest) -> Ranked:
    """The page of articles `request` asks for, with the total and facets of those it counts."""
    article_searcher, _ = snapshot.searchers()
    parsed = typed = parse(request.q, snapshot.parser, article_searcher.reader())
    if snapshot.ranking.typo_tolerance:
        parsed = _tolerate_typos(typed, article_searcher, snapshot.vocabulary())
    # None of the words as typed is in the archive: whatever is found, corrections found.
    corrected = parsed is not typed and not typed.terms
    settings = snapshot.ranking
    shaped = shape(parsed.article_query, parsed.text, article_searcher, settings.key_words)
    # Date ranges come from a per-reader cache of their documents (same scores).
    query = cached_ranges(_with_filters(shaped, request))

    by_date = request.sort == "date" or parsed.match_all
    # Every match is scored, so totals and facets come from the same pass as the page.
    window = request.page * request.size
    columns = snapshot.story_columns() if request.collapse else None
    folding = columns is not None and stories.has_stories(columns)
    # Folding, versions take places: rank deeper at once rather than twice.
    depth = stories.first_depth(window) if folding else window
    asked = max(depth, settings.feedback_docs)
    ranking = rank(article_searcher, query, asked, by_date)
    # A short query counts the articles with every word; sorted by date, they come first.
    every = every_word(query, parsed.text, article_searcher)
    counted = None if every is None else _with_every_word(article_searcher, ranking, every)
    if by_date and counted is not None:
        matched, asked = ranking.matched, depth
        ranking = _counted_first(article_searcher, matched, counted, asked)

        def rerank(depth):
            return _counted_first(article_searcher, matched, counted, depth)
    else:
        if not by_date:
            widened = feedback.expand(query, ranking.top, article_searcher, settings)
            if widened is not None:
                query, asked = widened, depth
                ranking = rank(article_searcher, query, asked)

        def rerank(depth):
            return rank(article_searcher, query, depth, by_date)

    if folding:
        entries, ranking = stories.collapse_page(
            ranking, rerank, request.page, request.size, columns, asked
        )
        entries = stories.with_every_version(entries, ranking.matched, columns)
    else:
        entries = [
            (docnum, score, []) for docnum, score in ranking.top[window - request.size : window]
        ]
    counts = "articles" if columns is None else "stories"
    docs = ranking.matched if counted is None else counted
    if folding:
        docs = stories.one_per_story(docs, columns)
    return Ranked(
        text=parsed.text,
        terms=parsed.terms,
        total=len(docs),
        page=[(_article(article_searcher, docnum), score) for docnum, score, _ in entries],
        facets=_facets(
            article_searcher, query, docs, every if counted is not None else None, counts
        ),
        corrected=corrected,
        match_all=parsed.match_all,
        versions=[
            [_article(article_searcher, other) for other in others] for *_, others in entries
        ],
        counts=counts,
    )


def _article(searcher, docnum: int):
    return record_to_article(searcher.stored_fields(docnum)["record"])


def _with_every_word(searcher, ranking: Ranking, every: Q.And) -> np.ndarray | None:
    """The ranked matches that also match each clause of `every`; None when none does.

    Clause by clause, intersected with arrays: an And of them would make Whoosh step
    to the clauses' first common document one at a time when its matcher is built.
    """
    counted = ranking.matched
    for clause in every.subqueries:
        found = rank(searcher, clause, 0, by_date=True).matched  # unscored: matches only
        counted = np.intersect1d(counted, found, assume_unique=True)
        if not len(counted):
            return None
    return counted


def _counted_first(searcher, matched: np.ndarray, counted: np.ndarray, window: int) -> Ranking:
    """Newest first, the counted articles, then the rest of `matched`: by date, undated
    last, ties to the later indexed (as arrayrank.rank orders by date)."""
    dates = index_dates(state_of(searcher), searcher.reader())
    top: list[tuple[int, float | None]] = []
    for docs in (counted, np.setdiff1d(matched, counted, assume_unique=True)):
        wanted = window - len(top)
        if wanted > 0 and len(docs):
            top += [(int(docs[i]), None) for i in np.lexsort((-docs, -dates[docs]))[:wanted]]
    return Ranking(matched, top)


def _facets(searcher, query: Q.Query, docs, every: Q.And | None, counts: str) -> dict:
    """Counts of the articles (or stories) counted, cached by the query that finds them."""
    if every is not None:
        query = Q.Require(query, every)
    return facet_counts(searcher, query, docs, counts)


def _tolerate_typos(parsed: ParsedQuery, searcher, vocabulary) -> ParsedQuery:
    """Also match misspelled words' corrections and the last word as a prefix, ranked lower."""
    if parsed.match_all:
        return parsed
    clauses = typos.tolerant_clauses(parsed.text, searcher, vocabulary)
    if not clauses:
        return parsed
    query = typos.widen(parsed.article_query, clauses)
    terms = parsed.terms.union(*(text_terms(clause, searcher.reader()) for clause in clauses))
    return replace(parsed, article_query=query, terms=terms)


def _with_filters(query: Q.Query, request: SearchRequest) -> Q.Query:
    filters = []
    if request.since or request.until:
        until = datetime.combine(request.until.date(), day_time.max) if request.until else None
        filters.append(Q.DateRange("date", request.since, until))
    if request.source:
        filters.append(Q.Term("source", request.source.lower()))
    if not filters:
        return query
    if isinstance(query, Q.Every):
        # Whoosh normalises And([Every(), f]) to Every(), dropping the filter.
        return filters[0] if len(filters) == 1 else Q.And(filters)
    return Q.And([query, *filters]).normalize()
