"""The whole path once: corpus -> index -> API, UI and article page."""


def test_search_finds_and_highlights(client):
    body = client.get("/api/search?q=police+officer").get_json()
    assert body["total"] == 2
    assert {hit["id"] for hit in body["hits"]} == {"london", "wire-3"}
    assert any("<mark>" in snippet for hit in body["hits"] for snippet in hit["snippets"])


def test_article_page_and_ui(client):
    page = client.get("/search?q=cocoa")
    assert page.status_code == 200
    assert b"<mark>Cocoa</mark> prices rise on drought fears" in page.data
    article = client.get("/api/articles/wire-1").get_json()
    assert article["paragraphs"][0].startswith("Cocoa prices rose")
