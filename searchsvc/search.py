"""A search request -> ranked articles with snippets, as plain data.

The API, the web UI, the CLI and the evaluation all call `search()` with the
engine view of the generation they read; they only render what it returns.
The engine ranks and counts; snippets, highlighting and spelling are made here,
the same way whichever engine answered.
"""

from __future__ import annotations

import time

from searchsvc.discovery.snippets import LEAD_CHARS, ScanBudget, mark_terms, paragraph_snippets
from searchsvc.discovery.spelling import suggest_query
from searchsvc.engine.base import EngineView
from searchsvc.model.articles import Article
from searchsvc.model.results import (  # noqa: F401 (the records callers take from here)
    SORTS,
    Hit,
    SearchRequest,
    SearchResult,
    article_dict,
    article_path,
)


def search(view: EngineView, request: SearchRequest) -> SearchResult:
    """Run `request` on one open generation of an engine."""
    started = time.perf_counter()
    ranked = view.rank(request)
    stats = view.paragraph_stats() if ranked.terms and request.snippets > 0 else None
    budget = ScanBudget()
    hits = []
    for number, (article, score) in enumerate(ranked.page):
        versions = ranked.versions[number] if number < len(ranked.versions) else []
        snippets = []
        if stats is not None:
            snippets = paragraph_snippets(
                article.paragraphs, ranked.terms, stats, request.snippets, budget
            )
        if not snippets and request.snippets and article.paragraphs:
            snippets = [(0, mark_terms(article.paragraphs[0], ranked.terms, LEAD_CHARS))]
        hits.append(
            Hit(
                id=article.id,
                title=article.title,
                title_html=mark_terms(article.title, ranked.terms),
                title_derived=article.title_derived,
                date=article.date,
                source=article.source,
                score=None if score is None else round(score, 4),
                snippets=[html for _number, html in snippets],
                snippet_paragraphs=[number for number, _html in snippets],
                url=article_path(article.id),
                source_url=article.url,
                versions=[_version(other) for other in versions],
            )
        )
    result = SearchResult(
        ranked.text,
        ranked.total,
        True,
        request.page,
        request.size,
        0.0,
        hits,
        corrected=ranked.corrected,
        facets=ranked.facets,
        counts=ranked.counts,
    )
    if ranked.text and not ranked.match_all:
        vocabulary = view.vocabulary()
        if vocabulary is not None:
            result.suggestion = suggest_query(ranked.text, vocabulary)
    result.took_ms = round((time.perf_counter() - started) * 1000, 2)
    return result


def _version(article: Article) -> dict:
    """Another version of a hit's story, as the hit lists it."""
    return {
        "id": article.id,
        "title": article.title,
        "date": article.date,
        "source": article.source,
        "url": article_path(article.id),
    }


def get_article(view: EngineView, article_id: str) -> Article | None:
    """The stored Article with this id, or None."""
    return view.article(article_id)


def article_extras(view: EngineView, article: Article) -> dict:
    """Extra keys for an article's JSON (and page): related articles."""
    return {"related": view.related(article)}
