"""Snippets and the articles they come from: each snippet names its paragraph, and the
article opened from it marks the query's words as the snippet does. Without a query the
article's page is as it always was."""

from __future__ import annotations

import html
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchsvc import create_app
from searchsvc.discovery import snippets
from searchsvc.discovery.snippets import ARTICLE_MARK_CHARS, mark_article
from searchsvc.index.indexer import reindex
from searchsvc.text.analysis import term_spans

H1 = re.compile(r"<h1>(.*?)</h1>", re.DOTALL)
PARAGRAPH = re.compile(r'<p id="p-(\d+)">(.*?)</p>', re.DOTALL)
MARK = re.compile(r"<mark>(.*?)</mark>")


def stems(words: str) -> frozenset[str]:
    return frozenset(term for term, _start, _end in term_spans(words))


def unmarked(marked_html: str) -> str:
    return html.unescape(marked_html.replace("<mark>", "").replace("</mark>", ""))


@pytest.mark.parametrize(
    ("title", "paragraphs", "words", "title_html", "paragraphs_html", "matched", "marks"),
    [
        ("Oil prices", ["Crude oil rose.", "Nothing here."], "oil",
         "<mark>Oil</mark> prices", ["Crude <mark>oil</mark> rose.", "Nothing here."], [0], 2),
        ("Bank holds rates", ["Prices priced in.", "A price war."], "price",
         "Bank holds rates", ["<mark>Prices</mark> <mark>priced</mark> in.",
                              "A <mark>price</mark> war."], [0, 1], 3),
        ("<i>Oil</i> & gas", ["<script>alert('oil')</script>", "a < b & c"], "oil",
         "&lt;i&gt;<mark>Oil</mark>&lt;/i&gt; &amp; gas",
         ["&lt;script&gt;alert('<mark>oil</mark>')&lt;/script&gt;", "a &lt; b &amp; c"], [0], 2),
        ("Oil", ["Oil."], "", "Oil", ["Oil."], [], 0),
        ("Rovers win", [], "rovers", "<mark>Rovers</mark> win", [], [], 1),
    ],
)  # fmt: skip
def test_mark_article(title, paragraphs, words, title_html, paragraphs_html, matched, marks):
    marked = mark_article(title, paragraphs, stems(words))
    assert marked.title_html == title_html
    assert marked.paragraphs_html == paragraphs_html
    assert (marked.matched, marked.marks) == (matched, marks)


@settings(max_examples=200, deadline=None)
@given(
    paragraphs=st.lists(st.text(max_size=200), max_size=5),
    words=st.lists(st.sampled_from(["oil", "price", "the", "ölpreis", "a&b", "<mark>"])),
)
def test_marking_keeps_every_character_and_marks_only_the_terms(paragraphs, words):
    terms = stems(" ".join(words))
    marked = mark_article("", paragraphs, terms)
    for text, marked_html in zip(paragraphs, marked.paragraphs_html, strict=True):
        assert unmarked(marked_html) == text
        for word in MARK.findall(marked_html):
            assert stems(html.unescape(word)) <= terms
        assert marked_html.count("<mark>") == sum(t in terms for t, _s, _e in term_spans(text))


def test_marking_a_huge_article_stops_at_its_budget(monkeypatch):
    analysed: list[int] = []

    def counting(text: str):
        analysed.append(len(text))
        return term_spans(text)

    monkeypatch.setattr(snippets, "term_spans", counting)
    paragraph = "oil prices rose " * 1_000  # 16,000 characters
    paragraphs = [paragraph] * (2 * ARTICLE_MARK_CHARS // len(paragraph))
    marked = mark_article("Oil", paragraphs, stems("oil"))
    assert sum(analysed) <= ARTICLE_MARK_CHARS + len("Oil")
    assert [unmarked(p) for p in marked.paragraphs_html] == paragraphs
    assert marked.matched == list(range(ARTICLE_MARK_CHARS // len(paragraph) + 1))


QUERIES = ["oil prices", "petroleum market", "parliment", '"crude oil"', "government -parliament",
           "parliam*", "title:parliament", "Rotterdam OR Lagos", "NOT oil",
           "AND OR NOT"]  # fmt: skip


@pytest.mark.parametrize("q", QUERIES)
def test_each_snippet_names_its_paragraph(discovery_client, q):
    body = discovery_client.get("/api/search", query_string={"q": q, "size": 5}).get_json()
    assert body["hits"], q
    for hit in body["hits"]:
        article = discovery_client.get("/api" + hit["url"]).get_json()
        assert len(hit["snippet_paragraphs"]) == len(hit["snippets"])
        for number, snippet in zip(hit["snippet_paragraphs"], hit["snippets"], strict=True):
            assert unmarked(snippet).strip("…") in article["paragraphs"][number]


@pytest.mark.parametrize("q", QUERIES)
def test_article_marks_what_its_hit_marked(discovery_client, q):
    """The headline as the hit's, each snippet's paragraph as the snippet (shown whole)."""
    body = discovery_client.get("/api/search", query_string={"q": q, "size": 5}).get_json()
    assert body["hits"], q
    for hit in body["hits"]:
        page = discovery_client.get(hit["url"], query_string={"q": body["query"]})
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert H1.search(text).group(1) == hit["title_html"]
        paragraphs = {int(n): inner for n, inner in PARAGRAPH.findall(text)}
        for number, snippet in zip(hit["snippet_paragraphs"], hit["snippets"], strict=True):
            assert paragraphs[number] == snippet


LINK = re.compile(r"(/articles/[^?#]+\?q=petroleum%20market)#p-(\d+)")


def test_each_snippet_links_to_its_paragraph(discovery_client):
    page = discovery_client.get("/search?q=petroleum+market").get_data(as_text=True)
    links = re.findall(r'<p class="snippet"><a href="([^"]+)">', page)
    assert len(links) == 10
    for link in links:
        path, number = LINK.fullmatch(link).groups()
        article = discovery_client.get(path).get_data(as_text=True)
        paragraphs = dict(PARAGRAPH.findall(article))
        assert "<mark>petroleum</mark> <mark>market</mark>" in paragraphs[number]


def test_article_page_says_where_the_matches_are(discovery_client):
    text = discovery_client.get("/articles/oil-01?q=rotterdam").get_data(as_text=True)
    nav = re.search(r'<nav class="matches" aria-label="Matches">(.*?)</nav>', text, re.DOTALL)
    assert " ".join(re.sub(r"<[^>]+>", "", nav.group(1)).split()).startswith(
        "3 matches for rotterdam in the headline and paragraphs 1, 2 Previous match Next match"
    )
    assert '<a href="#p-0">1</a>, <a href="#p-1">2</a>' in nav.group(1)


# The page of wire-3 before articles were marked: without a query it must stay so.
WIRE_3 = "\n".join([
    '<article class="article">',
    '  <p class="back"><a href="/search">← Back to search</a></p>',
    "  <h1>Police officer honoured for bravery</h1>",
    '  <p class="meta">',
    '    <time datetime="2018-05-01">2018-05-01</time>',
    '    <span class="source">Gazette</span>',
    "    ",
    "    ",
    '      <a class="original" href="https://example.org/wire-3" '
    'rel="noopener noreferrer nofollow">Original</a>',
    "    ",
    "  </p>",
    "  <p>A police officer who stopped an attacker was honoured at a ceremony.</p>",
    "  ",
    '  <p class="id">Article id: <code>wire-3</code></p>',
    "</article>",
])  # fmt: skip


@pytest.mark.parametrize("url", ["/articles/wire-3", "/articles/wire-3?q="])
def test_without_a_query_the_page_is_unchanged(client, url):
    text = client.get(url).get_data(as_text=True)
    assert text[text.index("<article") : text.index("</article>") + len("</article>")] == WIRE_3


@pytest.mark.parametrize(
    ("q", "marks"),
    [
        ("police", 2), ("officers honour", 4), ('"police officer"', 4),
        ('"', 0), ("((((", 0), ("-", 0), ("*", 0), ("title:", 0), ("date:[foo to bar]", 0),
        ("source:gazette", 0), ("\x00\x01", 0), ("%", 0), ("-police", 0), ("🙂", 0),
        ("zzzz qqqq", 0), ("x" * 100_000, 0), ("police " * 5_000, 2),
    ],
)  # fmt: skip
def test_any_query_shows_the_article(client, q, marks):
    response = client.get("/articles/wire-3", query_string={"q": q})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.count("<mark>") == marks
    h1 = H1.search(text).group(1)
    assert unmarked(h1) == "Police officer honoured for bravery"
    body = re.search(r'<p id="p-0">(.*?)</p>', text).group(1)
    assert unmarked(body) == "A police officer who stopped an attacker was honoured at a ceremony."
    # Nothing marked, nothing to step through.
    assert ('<nav class="matches"' in text) == bool(marks)


def test_marked_article_text_cannot_inject_markup(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    evil = {
        "id": "evil",
        "title": "<i>Oil</i> & <script>alert(1)</script>",
        "body": "<b>oil</b> <script>alert('oil')</script>\n\n<img src=x onerror=alert(1)> oil",
    }
    (corpus / "evil.jsonl").write_text(json.dumps(evil) + "\n")
    reindex([corpus], tmp_path / "ix")
    client = create_app({"index": tmp_path / "ix"}).test_client()
    text = client.get("/articles/evil?q=oil+%3Cscript%3E").get_data(as_text=True)
    assert H1.search(text).group(1) == (
        "&lt;i&gt;<mark>Oil</mark>&lt;/i&gt; &amp; &lt;<mark>script</mark>&gt;alert(1)"
        "&lt;/<mark>script</mark>&gt;"
    )
    assert dict(PARAGRAPH.findall(text)) == {
        "0": "&lt;b&gt;<mark>oil</mark>&lt;/b&gt; &lt;<mark>script</mark>&gt;"
        "alert('<mark>oil</mark>')&lt;/<mark>script</mark>&gt;",
        "1": "&lt;img src=x onerror=alert(1)&gt; <mark>oil</mark>",
    }
    assert "<script>alert" not in text and "<b>" not in text and "<img" not in text
    assert "<strong>oil &lt;script&gt;</strong>" in text  # the query, shown in the bar


@pytest.mark.parametrize(("q", "marked"), [
    ("parliam*", {"parliament"}),
    ("petro* OR crude", {"petroleum", "crude"}),
    ("rotter* market", {"rotterdam", "market"}),
])  # fmt: skip
def test_a_wildcard_marks_the_words_it_matched(discovery_client, q, marked):
    body = discovery_client.get("/api/search", query_string={"q": q, "size": 5}).get_json()
    assert body["hits"], q
    for hit in body["hits"]:
        shown = [hit["title_html"], *hit["snippets"]]
        words = {stem for html_ in shown for m in MARK.findall(html_) for stem in stems(m)}
        assert words and words <= {stem for word in marked for stem in stems(word)}, shown
