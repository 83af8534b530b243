"""Real-world input from ../shared: BBC plain text and Reuters JSON Lines (skipped without it)."""

from __future__ import annotations

import itertools

import pytest

from searchsvc import create_app
from searchsvc.index.indexer import reindex

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def bbc_sport_client(tmp_path_factory):
    from tests.conftest import SHARED

    sport = SHARED / "corpora" / "bbc" / "sport"
    if not sport.is_dir():
        pytest.skip("../shared/corpora is not here")
    index = tmp_path_factory.mktemp("bbc") / "ix"
    report = reindex([sport], index)
    return report, create_app({"index": index}).test_client()


def test_bbc_plain_text_with_headlines_and_one_non_utf8_file(bbc_sport_client):
    report, client = bbc_sport_client
    assert report.articles == 511 and not report.skipped
    (warning,) = report.problems
    assert warning.origin.endswith("sport/199.txt") and "cp1252" in warning.reason
    article = client.get("/api/articles/199").get_json()
    assert "£15.8m" in " ".join(article["paragraphs"])
    assert article["title_derived"] is False and article["title"]


def test_bbc_known_headline_is_found_first(bbc_sport_client):
    _, client = bbc_sport_client
    title = client.get("/api/articles/001").get_json()["title"]
    body = client.get("/api/search", query_string={"q": title}).get_json()
    assert body["hits"][0]["id"] == "001"


def test_reuters_sample_dates_sources_and_text_less_records(shared_dir, tmp_path):
    sample = tmp_path / "reuters-sample.jsonl"
    with (shared_dir / "corpora" / "reuters21578.jsonl").open("rb") as source:
        sample.write_bytes(b"".join(itertools.islice(source, 3000)))
    report = reindex([sample], tmp_path / "ix")
    # Records with neither body nor title are skipped, by name; title-only ones are kept.
    assert report.skipped and all("no text" in p.reason for p in report.skipped)
    assert report.articles + len(report.skipped) == 3000
    client = create_app({"index": tmp_path / "ix"}).test_client()
    body = client.get("/api/search?q=cocoa&since=1987-02-26&until=1987-02-26").get_json()
    assert body["total"] > 0
    assert all(hit["date"].startswith("1987-02-26") for hit in body["hits"])
    assert all(hit["source"] == "Reuters" for hit in body["hits"])
    title_only = client.get("/api/articles/reuters-30").get_json()
    assert title_only["paragraphs"] == [] and "MONEY MARKET" in title_only["title"]
