"""Atom feed (validated by feedparser), CSV and JSON Lines exports of a search."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import feedparser
import pytest

from searchsvc import create_app
from searchsvc.config import load_config
from searchsvc.web import feeds


def test_atom_feed_is_valid_and_newest_first(discovery_client):
    response = discovery_client.get("/search.atom?q=oil&source=reuters")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "searchsvc: oil"
    assert len(feed.entries) == 8
    updated = [entry.updated for entry in feed.entries]
    assert updated == sorted(updated, reverse=True)
    assert all(entry.link.startswith("/articles/oil-") for entry in feed.entries)
    assert all(entry.id.startswith("urn:searchsvc:article:oil-") for entry in feed.entries)
    # The snippet travels as HTML (feedparser's sanitiser drops the <mark> tags themselves).
    assert feed.entries[0].summary_detail.type == "text/html"
    assert "oil" in feed.entries[0].summary.lower()
    assert b"&lt;mark&gt;oil&lt;/mark&gt;" in response.data


def test_atom_feed_caps_entries_and_handles_undated(discovery_client, monkeypatch):
    monkeypatch.setattr(feeds, "FEED_ENTRIES", 3)
    feed = feedparser.parse(discovery_client.get("/search.atom?q=police").data)
    assert feed.bozo == 0 and 1 <= len(feed.entries) <= 3
    everything = feedparser.parse(discovery_client.get("/search.atom").data)
    assert everything.bozo == 0 and len(everything.entries) == 3


def test_csv_export(discovery_client):
    response = discovery_client.get("/search.csv?q=oil&page=3&size=5")  # page and size are ignored
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 24 == int(response.headers["X-Total-Count"])
    assert list(rows[0]) == list(feeds.EXPORT_FIELDS)
    assert [int(row["rank"]) for row in rows] == list(range(1, 25))
    assert all(row["url"].startswith("/articles/") for row in rows)


def test_jsonl_export_respects_limit_and_sort(discovery_client, monkeypatch):
    monkeypatch.setattr(feeds, "EXPORT_LIMIT", 5)
    response = discovery_client.get("/search.jsonl?q=oil&sort=date")
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(lines) == 5 and response.headers["X-Total-Count"] == "24"
    dates = [line["date"] for line in lines]
    assert dates == sorted(dates, reverse=True)
    assert set(lines[0]) == set(feeds.EXPORT_FIELDS)


def test_csv_cells_cannot_become_formulas(tmp_path):
    from conftest import write_corpus

    from searchsvc.index.indexer import reindex

    record = {"id": "f1", "title": '=HYPERLINK("http://x")', "body": "formula oil text"}
    corpus = write_corpus(tmp_path / "c", text_articles={}, jsonl_records=[record])
    reindex([corpus], tmp_path / "i")
    client = create_app({"index": tmp_path / "i", "corpus": [corpus]}).test_client()
    rows = list(csv.DictReader(io.StringIO(client.get("/search.csv?q=oil").get_data(as_text=True))))
    assert rows[0]["title"] == '\'=HYPERLINK("http://x")'


@pytest.mark.parametrize(
    "url",
    [
        "/search.csv?since=soon",
        "/search.jsonl?sort=best",
        "/search.atom?q=" + "x" * (load_config().max_query_length + 1),
    ],
)
def test_bad_parameters_are_400(discovery_client, url):
    assert discovery_client.get(url).status_code == 400


@pytest.mark.parametrize("path", ["/search.atom?q=oil", "/search.csv?q=oil", "/search.jsonl?q=oil"])
def test_links_never_come_from_the_host_header(discovery_client, path):
    body = discovery_client.get(path, headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "evil.example" not in body
    assert "/articles/oil-" in body


@pytest.mark.parametrize("path", ["/search.atom?q=oil", "/search.csv?q=oil", "/search.jsonl?q=oil"])
def test_links_use_the_configured_public_url(tmp_path, path):
    from discovery_corpus import build_discovery_index

    corpus, index = build_discovery_index(tmp_path)
    app = create_app({"index": index, "corpus": [corpus], "public_url": "https://news.example/"})
    body = app.test_client().get(path, headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "https://news.example/articles/oil-" in body and "evil.example" not in body


def test_feed_is_well_formed_whatever_the_text_holds(tmp_path):
    from conftest import write_corpus

    from searchsvc.index.indexer import reindex

    nasty = "".join(chr(c) for c in range(32)) + "\ufffe\uffff <b>&amp; ]]> \x7f\x85"
    record = {"id": "ctl\x01", "title": "Oil " + nasty, "body": "oil " + nasty, "source": "s\x02"}
    corpus = write_corpus(tmp_path / "c", text_articles={}, jsonl_records=[record])
    reindex([corpus], tmp_path / "i")
    client = create_app({"index": tmp_path / "i", "corpus": [corpus]}).test_client()
    response = client.get("/search.atom", query_string={"q": "oil \x0b\x1f"})
    assert response.status_code == 200
    root = ET.fromstring(response.data)  # raises on a character XML cannot hold
    titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
    assert any(title and title.startswith("Oil") and "<b>&amp;" in title for title in titles)
    assert feedparser.parse(response.data).bozo == 0
