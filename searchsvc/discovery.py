"""Help beyond the ranked list: suggestions, facets, related articles.

search() calls enrich_result() once per search with the query it ran;
the article endpoints call article_extras() for one article.
"""

from __future__ import annotations


def enrich_result(searcher, query, parsed, request, result) -> None:
    """Add `suggestion` and `facets` to a SearchResult in place."""


def article_extras(snapshot, article) -> dict:
    """Extra keys for an article's JSON (and page): related articles."""
    return {}
