"""Plain records of one search: the request, the engine's ranking, and the result served."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from urllib.parse import quote

from searchsvc.model.articles import Article

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
    collapse: bool = True  # near-duplicate versions of one story as one hit, counted once


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
    snippet_paragraphs: list[int]  # each snippet's paragraph: its index in the article's list
    url: str  # the article's page here
    source_url: str | None  # the original's address, when the corpus gave one
    # The story's other versions that match, in the order of their ids: {id, title, date,
    # source, url}; empty when the story has no other version or results are not collapsed.
    versions: list[dict] = field(default_factory=list)


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
    counts: str = "stories"  # what total and facets count: "stories" or "articles"

    def to_dict(self) -> dict:
        return asdict(self)


def article_path(article_id: str) -> str:
    return "/articles/" + quote(article_id, safe="")


@dataclass
class Ranked:
    """An engine's answer to one request, before snippets and spelling: its page of articles,
    best first (score None when sorted by date), with the total and facets of every match."""

    text: str  # the query as the engine understood it
    terms: frozenset[str]  # the analysed words to mark in headlines and snippets
    total: int
    page: list[tuple[Article, float | None]]
    facets: dict
    corrected: bool = False  # no word as typed is in the archive; the page comes from corrections
    match_all: bool = False  # the query asked for everything (only filters, or nothing)
    versions: list[list[Article]] = field(default_factory=list)  # each hit's other versions
    counts: str = "articles"  # what total and facets count: "stories" or "articles"


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
