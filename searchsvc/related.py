"""More-like-this: articles that share an article's most distinctive words."""

from __future__ import annotations

import json

from whoosh import query as Q

RELATED_COUNT = 5
MIN_RELATIVE_SCORE = 0.25  # of the best related article's score
KEY_TERMS = 12  # distinctive stems searched for; more is slower and not clearly better


def related_articles(searcher, article, count: int = RELATED_COUNT) -> list[dict]:
    """Up to `count` other articles most like `article`, best first, as small dicts.

    The body is not stored in the index, so its text is re-analysed from the
    article record (one article: a few milliseconds).
    """
    docnum = searcher.document_number(id=article.id)
    if docnum is None:
        return []
    text = "\n\n".join([article.title, *article.paragraphs])
    key_terms = searcher.key_terms_from_text("body", text, numterms=KEY_TERMS, normalize=False)
    if not key_terms:
        return []
    query = Q.Or([Q.Term("body", word, boost=weight) for word, weight in key_terms])
    results = searcher.search(query, limit=count, mask={docnum})
    related = []
    best = None
    for hit in results:
        best = hit.score if best is None else best
        if hit.score < best * MIN_RELATIVE_SCORE:
            break  # what is left shares only a word or two in passing
        record = json.loads(hit["record"])
        related.append(
            {
                "id": record["id"],
                "title": record.get("title") or record["id"],
                "date": record.get("date"),
                "source": record.get("source"),
                "url": _article_path(record["id"]),
                "score": round(hit.score or 0.0, 4),
            }
        )
    return related


def _article_path(article_id: str) -> str:
    from searchsvc.search import article_path  # search imports discovery: import late

    return article_path(article_id)
