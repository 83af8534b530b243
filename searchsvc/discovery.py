"""Help beyond the ranked list: suggestions, facets, related articles.

search() calls enrich_result() once per search with the query it ran;
the article endpoints call article_extras() for one article.
"""

from __future__ import annotations

from searchsvc.facets import facet_counts
from searchsvc.related import related_articles
from searchsvc.suggest import suggest_query, vocabulary_for


def enrich_result(searcher, query, matched, parsed, result) -> None:
    """Add `suggestion` and `facets` (of `matched`, the documents `query` matches) in place."""
    result.facets = facet_counts(searcher, query, matched)
    if parsed.text and not parsed.match_all:
        vocabulary = vocabulary_for(searcher)
        if vocabulary is not None:
            result.suggestion = suggest_query(parsed.text, vocabulary)


def article_extras(snapshot, article) -> dict:
    """Extra keys for an article's JSON (and page): related articles."""
    article_searcher, _ = snapshot.searchers()
    return {"related": related_articles(article_searcher, article)}
