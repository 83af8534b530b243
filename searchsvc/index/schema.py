"""The two Whoosh schemas and how an Article becomes index documents.

Articles are ranked in the article index (headline and whole text, one
document per article); the paragraph index (one document per paragraph)
picks and highlights the passages shown as snippets.
"""

from __future__ import annotations

import json

from whoosh.analysis import IDTokenizer, LowercaseFilter
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from searchsvc.text.analysis import news_analyzer
from searchsvc.model.articles import Article
from searchsvc.index.codec import PackedPositions

# Names that match exactly, whatever their case: "source:reuters" finds "Reuters".
_folded_id = IDTokenizer() | LowercaseFilter()


def _phrase_text(analyzer) -> TEXT:
    """A TEXT field with positions, stored packed for array reads (codec.py)."""
    field = TEXT(analyzer=analyzer, phrase=True)
    field.format = PackedPositions(field_boost=field.format.field_boost)
    return field


def article_schema() -> Schema:
    analyzer = news_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=_phrase_text(analyzer),
        body=_phrase_text(analyzer),
        date=DATETIME(sortable=True),
        source=ID(analyzer=_folded_id, sortable=True),
        topic=KEYWORD(lowercase=True, commas=True, scorable=False),
        record=STORED(),
    )


def paragraph_schema() -> Schema:
    """Paragraph statistics for scoring snippets: document frequencies and lengths.

    Snippets are cut from the article's stored text (snippets.py), so this
    index stores nothing and keeps no positions: that halves its build cost.
    """
    return Schema(
        article_id=ID(),  # for deletes
        text=TEXT(analyzer=news_analyzer(), phrase=False),
    )


def article_document(article: Article) -> dict:
    """The article index's document; `record` carries everything a hit shows."""
    record = article.to_dict()
    # Not where it was read: a renamed file or a moved record changes nothing served,
    # so the index made by an incremental run is the one a full build makes.
    del record["origin"]
    document = {
        "id": article.id,
        "title": article.title if not article.title_derived else "",
        "body": "\n\n".join(article.paragraphs),
        "record": json.dumps(record, ensure_ascii=False),
    }
    if article.sort_date is not None:
        document["date"] = article.sort_date
    if article.source:
        document["source"] = article.source
    topics = article.extra.get("topics")
    if isinstance(topics, list) and all(isinstance(t, str) for t in topics) and topics:
        document["topic"] = ",".join(t.replace(",", " ") for t in topics)
    return document


def record_to_article(stored: str) -> Article:
    return Article.from_dict(json.loads(stored))
