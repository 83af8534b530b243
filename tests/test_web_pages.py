"""The web UI through the Flask test client: search, paging, article, errors, escaping.

Each test runs on both engines (conftest `engine`): the pages must not tell them apart."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from conftest import write_corpus


@pytest.fixture
def client(engine_client):
    """The app over conftest's corpus, on each engine in turn."""
    return engine_client


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.data, "html.parser")


def test_home_page_has_a_labelled_search_box(client):
    page = soup(client.get("/"))
    box = page.find("input", attrs={"name": "q"})
    assert box is not None
    assert page.find("label", attrs={"for": box["id"]}) is not None
    assert page.find("form", attrs={"role": "search"})["action"] == "/search"


def test_results_show_titles_dates_sources_and_marked_snippets(client):
    response = client.get("/search?q=cocoa")
    assert response.status_code == 200
    page = soup(response)
    hits = page.select("li.hit")
    assert len(hits) == 1
    assert hits[0].find("h2").a.get_text() == "Cocoa prices rise on drought fears"
    assert hits[0].find("time")["datetime"].startswith("1987-02-26")
    assert "Reuters" in hits[0].get_text()
    assert [m.get_text() for m in hits[0].select(".snippet mark")] == ["Cocoa"]
    assert page.find("input", attrs={"name": "q"})["value"] == "cocoa"
    assert "cocoa" in page.title.get_text()


def test_pagination_links_keep_the_query_and_filters(client):
    page = soup(client.get("/search?q=police+officer+rates+cocoa+rovers&size=2&sort=date"))
    next_link = page.find("a", attrs={"rel": "next"})["href"]
    assert "page=2" in next_link and "sort=date" in next_link and "size=2" in next_link
    second = soup(client.get(next_link))
    assert second.find("a", attrs={"rel": "prev"}) is not None
    assert len(second.select("li.hit")) == 2


def test_no_results_page(client):
    page = soup(client.get("/search?q=zebra"))
    assert "No articles found" in page.get_text()


def test_article_page(client):
    response = client.get("/articles/wire-3?q=police")
    page = soup(response)
    assert response.status_code == 200
    assert page.find("h1").get_text() == "Police officer honoured for bravery"
    assert page.find("a", string="Original")["href"] == "https://example.org/wire-3"
    back = page.select_one(".back a")["href"]
    assert back.startswith("/search") and "q=police" in back


def test_missing_article_is_an_html_404(client):
    response = client.get("/articles/nope")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "no article" in soup(response).get_text().lower()


def test_bad_parameter_is_an_html_400_not_a_traceback(client):
    response = client.get("/search?q=x&page=zero")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "page must be a whole number" in soup(response).get_text()


def test_security_headers(client):
    headers = client.get("/").headers
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


EVIL = {"id": "x<script>", "title": "<script>alert(1)</script> evil",
        "source": '"><img src=x onerror=alert(1)>', "url": "javascript:alert(1)",
        "body": "<b>bold</b> evil <script>alert(2)</script>"}  # fmt: skip


def test_article_text_cannot_inject_markup(engine):
    built = engine.built("evil", lambda root: write_corpus(root, {}, [EVIL]))
    client = built.app().test_client()
    for path in ("/search?q=evil", "/articles/x%3Cscript%3E"):
        page = soup(client.get(path))
        assert page.find("script", string=lambda s: s and "alert" in s) is None
        assert page.find("img") is None and page.find("b") is None
        assert not page.find("a", href=lambda h: h and h.startswith("javascript:"))
    body = client.get("/api/search?q=evil").get_json()
    assert "&lt;script&gt;" in body["hits"][0]["title_html"]
    assert "<b>" not in "".join(body["hits"][0]["snippets"])
