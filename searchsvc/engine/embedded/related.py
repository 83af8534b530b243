"""More-like-this: articles that share an article's most distinctive words."""

from __future__ import annotations

import json

from whoosh import query as Q

from searchsvc.model.results import article_path

RELATED_COUNT = 5
MIN_RELATIVE_SCORE = 0.25  # of the best related article's score
KEY_TERMS = 12  # distinctive stems searched for; more is slower and not clearly better
TEXT_CHARS = 20_000  # of an article's text its key terms come from: its start (articles of
# up to 10 MB are indexed; Reuters' longest is 10,073 characters)


def related_articles(searcher, article, count: int = RELATED_COUNT) -> list[dict]:
    """Up to `count` other articles most like `article`, best first, as small dicts.

    The body is not stored in the index, so its text is re-analysed from the
    article record (the first TEXT_CHARS characters: a few milliseconds).
    """
    docnum = searcher.document_number(id=article.id)
    if docnum is None:
        return []
    text = _start("\n\n", [article.title, *article.paragraphs], TEXT_CHARS)
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
                "url": article_path(record["id"]),
                "score": round(hit.score or 0.0, 4),
            }
        )
    return related


def _start(separator: str, pieces: list[str], limit: int) -> str:
    """The first `limit` characters of the pieces joined, without joining all of them."""
    taken, length = [], 0
    for piece in pieces:
        if length >= limit:
            break
        taken.append(piece[: limit - length])
        length += len(taken[-1]) + len(separator)
    return separator.join(taken)
