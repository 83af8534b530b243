"""An index written before the package moved into layers is still served and updated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from searchsvc import create_app

FIXTURE = Path(__file__).parent / "fixtures" / "index-before-layers"


@pytest.fixture
def old_index(tmp_path):
    index = tmp_path / "index"
    shutil.copytree(FIXTURE, index)
    return index


def test_the_fixture_names_the_old_import_paths():
    # The point of the fixture: its pickles name searchsvc.analysis and searchsvc.codec.
    tocs = b"".join(toc.read_bytes() for toc in FIXTURE.glob("*/*/*.toc"))
    assert b"searchsvc.analysis" in tocs and b"searchsvc.codec" in tocs
    assert b"searchsvc.text.analysis" not in tocs


@pytest.mark.parametrize(
    ("query", "expected_title"),
    [
        ("coffee frost", "Coffee prices climb in Brazil"),
        ('"trade surplus"', "Japan trade surplus narrows"),
        ("title:wheat", "Wheat exports fall"),
    ],
)
def test_an_old_index_is_searched(old_index, query, expected_title):
    client = create_app({"index": str(old_index)}).test_client()
    answer = client.get("/api/search", query_string={"q": query})
    assert answer.status_code == 200
    hits = answer.get_json()["hits"]
    assert [hit["title"] for hit in hits][:1] == [expected_title]
    assert "<mark>" in hits[0]["title_html"] or "<mark>" in "".join(hits[0]["snippets"])


def test_an_old_index_serves_its_articles_and_pages(old_index):
    client = create_app({"index": str(old_index)}).test_client()
    hits = client.get("/api/search", query_string={"q": "japan"}).get_json()["hits"]
    article = client.get(f"/api/articles/{hits[0]['id']}")
    assert article.status_code == 200
    assert article.get_json()["title"] == "Japan trade surplus narrows"
    page = client.get("/search", query_string={"q": "coffee"})
    assert page.status_code == 200 and b"prices climb in Brazil" in page.data
