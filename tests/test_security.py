"""Markup injection, security headers, the sandbox, debug mode, no state-changing endpoints.

A corpus full of payloads is indexed; every page and API answer that shows
it is parsed with BeautifulSoup to check that nothing executable came through.
"""

from __future__ import annotations

import http.client
import json

import pytest
from bs4 import BeautifulSoup
from reliability_support import Server

from searchsvc import create_app
from searchsvc.config import load_config
from searchsvc.index.indexer import reindex

PAYLOADS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(2)>",
    "javascript:alert(3)",
    "</title><script>alert(4)</script>",
    '<a href="javascript:alert(5)">click</a>',
    "{{7*7}} ${7*7} <!-- -->",
    "<iframe src=//evil.example></iframe>",
]
EVIL = " ".join(PAYLOADS)
HEADERS = {
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
}


def _records() -> list[dict]:
    records = []
    for number, payload in enumerate(PAYLOADS):
        records.append(
            {
                "id": f"evil{number}{payload}",
                "title": f"Volcano {payload} report",
                "body": f"The volcano {payload} erupted.\n\nLava {EVIL} reached the sea.",
                "source": f"Wire {payload}",
                "author": payload,
                "url": "javascript:alert(9)" if number % 2 else f"https://example.org/{payload}",
                "date": "2001-02-03",
                "notes": payload,
                "tags": [payload, "volcano"],
                payload: "field name too",
            }
        )
    return records


@pytest.fixture(scope="module")
def evil_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("evil")
    corpus = root / "corpus"
    (corpus / "txt").mkdir(parents=True)
    lines = "\n".join(json.dumps(record) for record in _records()) + "\n"
    (corpus / "evil.jsonl").write_text(lines, "utf-8")
    name = "volcano <b onmouseover=alert(1)>bold & 'quote\" .txt"
    (corpus / "txt" / name).write_text(f"Volcano {PAYLOADS[0]} headline\n\n{EVIL}\n", "utf-8")
    report = reindex([corpus], root / "index")
    assert report.articles == len(PAYLOADS) + 1, report.problems
    app = create_app({"index": root / "index"})
    return app.test_client()


def _assert_inert(html: str) -> BeautifulSoup:
    """No script but our own file, no event handlers, no javascript: URLs, no injected tags."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(True):
        assert tag.name not in ("iframe", "img", "object", "embed", "base", "meta")[:5], tag
        if tag.name == "svg":  # the UI's own timeline chart, nothing else
            assert "timeline" in tag.get("class", []), tag
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), tag
            text = " ".join(value) if isinstance(value, list) else value
            if name in ("href", "src", "action", "formaction"):
                assert not text.strip().lower().startswith("javascript:"), tag
    for script in soup.find_all("script"):
        assert script.get("src", "").startswith("/static/") and not script.string, script
    return soup


def _assert_marks_only(fragment: str) -> None:
    soup = BeautifulSoup(fragment, "html.parser")
    assert {tag.name for tag in soup.find_all(True)} <= {"mark"}, fragment


def test_api_snippets_and_titles_are_escaped(evil_client):
    body = evil_client.get("/api/search?q=volcano+lava&size=50&collapse=false").get_json()
    # Every article is a hit; the total counts those with both words (the .txt one has no lava).
    assert len(body["hits"]) == len(PAYLOADS) + 1 and body["total"] == len(PAYLOADS)
    for hit in body["hits"]:
        _assert_marks_only(hit["title_html"])
        assert "<mark>" in hit["title_html"]
        for snippet in hit["snippets"]:
            _assert_marks_only(snippet)
        # Plain-text fields stay plain text: the payload is there, as data.
        assert hit["title"].startswith("Volcano ") and "&lt;" not in hit["title"]
        assert hit["url"].startswith("/articles/") and "<" not in hit["url"]


def test_versions_of_a_story_are_plain_data(evil_client):
    """The payload articles are versions of one story: folded, they are listed as data."""
    body = evil_client.get("/api/search?q=volcano+lava&size=50").get_json()
    versions = [version for hit in body["hits"] for version in hit["versions"]]
    assert len(body["hits"]) + len(versions) == len(PAYLOADS) + 1 and versions
    for version in versions:
        assert version["title"].startswith("Volcano ") and "&lt;" not in version["title"]
        assert version["url"].startswith("/articles/") and "<" not in version["url"]


@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_result_page_is_inert(evil_client, sort):
    response = evil_client.get("/search", query_string={"q": "volcano", "sort": sort})
    assert response.status_code == 200
    soup = _assert_inert(response.get_data(as_text=True))
    assert PAYLOADS[0] in soup.get_text()  # shown, as text
    # Each article is a hit or listed as another version of one (the payloads are one story).
    listed = soup.select("li.hit") + soup.select("li.hit details.versions li")
    assert len(listed) == len(PAYLOADS) + 1


@pytest.mark.parametrize("q", PAYLOADS)
def test_query_reflected_in_page_and_title_is_inert(evil_client, q):
    response = evil_client.get("/search", query_string={"q": q, "source": q, "since": "x"})
    _assert_inert(response.get_data(as_text=True))
    response = evil_client.get("/search", query_string={"q": q})
    soup = _assert_inert(response.get_data(as_text=True))
    assert soup.title is not None and "<" not in str(soup.title)[7:-8]


@pytest.mark.parametrize("number", range(len(PAYLOADS)))
def test_article_pages_are_inert(evil_client, number):
    article_id = f"evil{number}{PAYLOADS[number]}"
    api = evil_client.get("/api/articles/" + article_id)
    assert api.status_code == 200 and api.get_json()["id"] == article_id
    found = {"q": "volcano", "size": 50, "collapse": "false"}
    hit = evil_client.get("/api/search", query_string=found).get_json()
    url = next(h["url"] for h in hit["hits"] if h["id"] == article_id)
    response = evil_client.get(url, query_string={"q": PAYLOADS[number]})
    assert response.status_code == 200
    soup = _assert_inert(response.get_data(as_text=True))
    assert soup.title.get_text().startswith("Volcano " + PAYLOADS[number])
    assert PAYLOADS[number] in soup.h1.get_text()


def test_not_found_page_reflecting_the_id_is_inert(evil_client):
    for payload in PAYLOADS:
        response = evil_client.get("/articles/nothing" + payload)
        assert response.status_code == 404
        _assert_inert(response.get_data(as_text=True))
        api = evil_client.get("/api/articles/nothing" + payload)
        assert api.status_code == 404 and api.mimetype == "application/json"


@pytest.mark.parametrize(
    "path",
    ["/", "/search?q=volcano", "/articles/nothing", "/api/search?q=volcano",
     "/api/articles/nothing", "/healthz", "/static/style.css", "/api/openapi.json",
     "/search?page=0", "/api/search?size=9999"],
)  # fmt: skip
def test_security_headers_everywhere(evil_client, path):
    response = evil_client.get(path)
    assert HEADERS <= set(response.headers.keys()), (path, response.headers)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


SANDBOX_PATHS = [
    "/api/articles/../../etc/passwd", "/api/articles/%2e%2e/%2e%2e/etc/passwd",
    "/api/articles/..%2f..%2f..%2fetc%2fpasswd", "/api/articles//etc/passwd",
    "/articles/../../etc/passwd", "/articles/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f__init__.py", "/static/../config.py", "/static/%2e%2e%2fapi.py",
    "/static//etc/passwd", "/api/articles/%00", "/api/articles/CURRENT",
    "/api/articles/..%5c..%5cwindows%5cwin.ini", "/api/search?q=../../etc/passwd",
]  # fmt: skip


@pytest.mark.parametrize("path", SANDBOX_PATHS)
def test_no_path_reaches_files(evil_client, path):
    response = evil_client.get(path)
    body = response.get_data(as_text=True)
    assert response.status_code in (200, 308, 404), (path, response.status_code)
    assert "root:" not in body and "import " not in body and "gen-" not in body


def test_no_state_changing_endpoint_and_no_debug(evil_client):
    app = evil_client.application
    assert not app.debug
    for rule in app.url_map.iter_rules():
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    for method in ("post", "put", "delete", "patch"):
        response = getattr(evil_client, method)("/api/search?q=x")
        assert response.status_code == 405
        assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_debug_mode_stays_off_even_with_flask_debug_set(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app({"index": tmp_path / "index"})
    assert not app.debug


@pytest.mark.slow
def test_live_server_paths_and_long_queries(tmp_path):
    """Over real HTTP: raw ../ paths never reach files; full-length queries in any script pass."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps(_records()[0]) + "\n", "utf-8")
    server = Server(tmp_path / "index", corpus, tmp_path / "server.log", workers=1)
    try:
        for path in SANDBOX_PATHS + ["/../../../../etc/passwd", "/static/../../../../etc/passwd"]:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", path)  # sent as is, no client-side normalising
            response = connection.getresponse()
            body = response.read().decode("utf-8", "replace")
            connection.close()
            assert response.status in (200, 308, 400, 404), (path, response.status)
            assert "root:" not in body and "import " not in body
        for debug_path in ("/console", "/__debugger__", "/?__debugger__=yes&cmd=resource&f=x"):
            response = server.get(debug_path)
            assert response.status_code in (200, 404)
            assert "debugger" not in response.text.lower()
        # The published limit goes through; one character more is refused.
        limit = load_config().max_query_length
        assert server.get("/api/search", q="x" * limit).status_code == 200
        too_long = server.get("/api/search", q="x" * (limit + 1))
        assert too_long.json()["error"]["code"] == "query_too_long"
        # In any script: "é" is 6 bytes once %-escaped, so the line is far past gunicorn's
        # default limit of 8,190 bytes.
        wide = server.get("/api/search", q="é" * limit)
        assert wide.status_code == 200, wide.text[:200]
    finally:
        server.stop()
