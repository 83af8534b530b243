"""Snippet, headline and related-article work does not grow with the size of one article.

Articles of up to 10 MB are indexed; the work is counted (characters analysed),
not timed, so the checks hold on a loaded machine.
"""

from __future__ import annotations

import pytest
from conftest import write_corpus
from whoosh.searching import Searcher

from searchsvc import create_app
from searchsvc.discovery import snippets
from searchsvc.engine.embedded.related import TEXT_CHARS
from searchsvc.index.indexer import reindex

WORDS = "oil prices said company market bank rates police officer cocoa the of and to".split()
ARTICLE_CHARS = 20 * snippets.SNIPPET_SCAN_CHARS  # large enough for any missing bound to show


def _text(words: int, offset: int = 0) -> str:
    return " ".join(WORDS[(n * 3 + offset) % len(WORDS)] for n in range(words))


@pytest.fixture(scope="module")
def huge_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("huge")
    words = ARTICLE_CHARS // 5
    notes = [{"id": f"n{n}", "title": f"Oil note {n}", "body": _text(80, n)} for n in range(40)]
    records = [
        {"id": "one-paragraph", "title": "Oil in one paragraph", "body": _text(words)},
        {"id": "many-paragraphs", "title": "Oil in many paragraphs",
         "body": "\n\n".join(_text(40, n) for n in range(words // 40))},
        {"id": "long-title", "title": _text(words // 4), "body": "A short text about oil."},
        *notes,
    ]  # fmt: skip
    corpus = write_corpus(root / "corpus", text_articles={}, jsonl_records=records)
    reindex([corpus], root / "index")
    return create_app({"index": root / "index"}).test_client()


@pytest.fixture
def analysed(monkeypatch):
    """Characters handed to the analyser for snippets and headlines, per call."""
    counted: list[int] = []

    def counting(text: str):
        counted.append(len(text))
        return term_spans(text)

    term_spans = snippets.term_spans
    monkeypatch.setattr(snippets, "term_spans", counting)
    return counted


@pytest.mark.parametrize("size", [1, 10, 100])
@pytest.mark.parametrize("q", ["oil", "oil prices market", '"oil company"'])
def test_snippet_work_is_bounded_per_request(huge_client, analysed, q, size):
    body = huge_client.get("/api/search", query_string={"q": q, "size": size}).get_json()
    hits = len(body["hits"])
    assert hits == min(size, body["total"]) and body["total"] >= 3
    # Scored paragraphs share the request's budget; headlines and leads are cut first.
    per_hit = snippets.MAX_MARKED_CHARS + snippets.LEAD_CHARS
    assert sum(analysed) <= snippets.REQUEST_SCAN_CHARS + hits * per_hit
    assert max(analysed) <= snippets.SNIPPET_SCAN_CHARS


def test_huge_articles_still_get_snippets_and_marked_headlines(huge_client):
    body = huge_client.get("/api/search", query_string={"q": "oil", "size": 50}).get_json()
    hits = {hit["id"]: hit for hit in body["hits"]}
    for name in ("one-paragraph", "many-paragraphs"):
        assert hits[name]["snippets"] and "<mark>oil</mark>" in hits[name]["snippets"][0].lower()
    title = hits["long-title"]["title_html"]
    assert title.count("<mark>") >= 1
    assert len(title) >= len(hits["long-title"]["title"])  # shown whole, marked at its start


@pytest.mark.parametrize("article", ["one-paragraph", "many-paragraphs", "long-title"])
@pytest.mark.parametrize("path", ["/api/articles/{}", "/articles/{}?q=oil"])
def test_related_articles_come_from_the_start_of_the_text(huge_client, monkeypatch, path, article):
    lengths: list[int] = []
    key_terms = Searcher.key_terms_from_text

    def counting(self, fieldname, text, *args, **kwargs):
        lengths.append(len(text))
        return key_terms(self, fieldname, text, *args, **kwargs)

    monkeypatch.setattr(Searcher, "key_terms_from_text", counting)
    response = huge_client.get(path.format(article))
    assert response.status_code == 200
    assert lengths and max(lengths) <= TEXT_CHARS
