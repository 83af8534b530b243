"""A search request -> ranked articles with snippets, as plain data.

The API, the web UI, the CLI and the evaluation all call `search()`; they only
render what it returns.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from datetime import time as day_time
from urllib.parse import quote

from whoosh import query as Q

from searchsvc.discovery import spelling as suggest
from searchsvc.discovery.snippets import LEAD_CHARS, ParagraphStats, mark_terms, paragraph_snippets
from searchsvc.engine.embedded import feedback
from searchsvc.engine.embedded.arrayrank import rank
from searchsvc.engine.embedded.datecolumn import cached_ranges
from searchsvc.engine.embedded.facets import facet_counts
from searchsvc.engine.embedded.querying import ParsedQuery, parse, text_terms
from searchsvc.engine.embedded.related import related_articles
from searchsvc.engine.embedded.shaping import shape
from searchsvc.engine.embedded.snapshot import IndexSnapshot
from searchsvc.index.schema import record_to_article

SORTS = ("relevance", "date")


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    page: int = 1
    size: int = 10
    since: datetime | None = None  # first instant included
    until: datetime | None = None  # last day included (whole day)
    source: str | None = None
    sort: str = "relevance"
    snippets: int = 3  # most highlighted paragraphs per hit; 0 for none


@dataclass
class Hit:
    id: str
    title: str
    title_html: str
    title_derived: bool
    date: str | None
    source: str | None
    score: float | None  # None when sorted by date: then there is no relevance score
    snippets: list[str]
    url: str  # the article's page here
    source_url: str | None  # the original's address, when the corpus gave one


@dataclass
class SearchResult:
    query: str
    total: int
    total_exact: bool
    page: int
    size: int
    took_ms: float
    hits: list[Hit] = field(default_factory=list)
    suggestion: str | None = None  # a corrected query, when the words look misspelled
    corrected: bool = False  # no word as typed is in the archive; hits come from corrections
    facets: dict = field(default_factory=dict)  # counts by source, topic and date

    def to_dict(self) -> dict:
        return asdict(self)


def article_path(article_id: str) -> str:
    return "/articles/" + quote(article_id, safe="")


def search(snapshot: IndexSnapshot, request: SearchRequest) -> SearchResult:
    """Run `request`; raises querying.QueryError for a query that means nothing."""
    started = time.perf_counter()
    article_searcher, paragraph_searcher = snapshot.searchers()
    parsed = typed = parse(request.q, snapshot.parser, article_searcher.reader())
    if snapshot.ranking.typo_tolerance:
        parsed = _tolerate_typos(typed, article_searcher)
    # None of the words as typed is in the archive: whatever is found, corrections found.
    corrected = parsed is not typed and not typed.terms
    settings = snapshot.ranking
    shaped = shape(parsed.article_query, parsed.text, article_searcher, settings.key_words)
    # Date ranges come from a per-reader cache of their documents (same scores).
    query = cached_ranges(_with_filters(shaped, request))

    by_date = request.sort == "date" or parsed.match_all
    # Every match is scored, so totals and facets come from the same pass as the page.
    window = request.page * request.size
    ranking = rank(article_searcher, query, max(window, settings.feedback_docs), by_date)
    if not by_date:
        widened = feedback.expand(query, ranking.top, article_searcher, settings)
        if widened is not None:
            query = widened
            ranking = rank(article_searcher, query, window)
    ranking = replace(ranking, top=ranking.top[:window])
    page_hits = ranking.top[(request.page - 1) * request.size :]
    stats = ParagraphStats(paragraph_searcher) if parsed.terms and request.snippets > 0 else None

    hits = []
    for docnum, score in page_hits:
        article = record_to_article(article_searcher.stored_fields(docnum)["record"])
        snippets = []
        if stats is not None:
            snippets = paragraph_snippets(article.paragraphs, parsed.terms, stats, request.snippets)
        if not snippets and request.snippets and article.paragraphs:
            snippets = [mark_terms(article.paragraphs[0], parsed.terms, LEAD_CHARS)]
        hits.append(
            Hit(
                id=article.id,
                title=article.title,
                title_html=mark_terms(article.title, parsed.terms),
                title_derived=article.title_derived,
                date=article.date,
                source=article.source,
                score=None if score is None else round(score, 4),
                snippets=snippets,
                url=article_path(article.id),
                source_url=article.url,
            )
        )
    total = len(ranking.matched)
    result = SearchResult(
        parsed.text, total, True, request.page, request.size, 0.0, hits, corrected=corrected
    )
    result.facets = facet_counts(article_searcher, query, ranking.matched)
    if parsed.text and not parsed.match_all:
        vocabulary = suggest.vocabulary_for(article_searcher)
        if vocabulary is not None:
            result.suggestion = suggest.suggest_query(parsed.text, vocabulary)
    result.took_ms = round((time.perf_counter() - started) * 1000, 2)
    return result


def _tolerate_typos(parsed: ParsedQuery, searcher) -> ParsedQuery:
    """Also match misspelled words' corrections and the last word as a prefix, ranked lower."""
    if parsed.match_all:
        return parsed
    clauses = suggest.tolerant_clauses(parsed.text, searcher, suggest.vocabulary_for(searcher))
    if not clauses:
        return parsed
    query = suggest.widen(parsed.article_query, clauses)
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


def get_article(snapshot: IndexSnapshot, article_id: str):
    """The stored Article with this id, or None."""
    article_searcher, _ = snapshot.searchers()
    stored = article_searcher.document(id=article_id)
    return record_to_article(stored["record"]) if stored else None


def article_extras(snapshot: IndexSnapshot, article) -> dict:
    """Extra keys for an article's JSON (and page): related articles."""
    article_searcher, _ = snapshot.searchers()
    return {"related": related_articles(article_searcher, article)}


def article_dict(article) -> dict:
    """An article as the API returns it."""
    return {
        "id": article.id,
        "title": article.title,
        "title_derived": article.title_derived,
        "date": article.date,
        "source": article.source,
        "author": article.author,
        "url": article_path(article.id),
        "source_url": article.url,
        "paragraphs": article.paragraphs,
        "extra": article.extra,
    }
