"""Shared fixtures: a tiny corpus on a temporary path, its index, the app and a client."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from searchsvc import create_app
from searchsvc.index.indexer import reindex

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SEARCHSVC_SHARED", REPO.parent / "shared"))

TEXT_ARTICLES = {
    "london.txt": (
        " date 2017-03-22 London (CNN) A police officer was stabbed and the assailant shot "
        "by police near the British Houses of Parliament.\n\n"
        "Members of Parliament were locked in and told to stay away from windows.\n\n"
        "An air ambulance arrived at the scene to remove casualties.\n"
    ),
    "sport/cup-final.txt": (
        "Rovers win the cup final\n\n"
        "Rovers beat United two goals to one in a dramatic cup final on Saturday.\n\n"
        "The winning goal came in the last minute of extra time.\n"
    ),
}

JSONL_RECORDS = [
    {
        "id": "wire-1",
        "title": "Cocoa prices rise on drought fears",
        "date": "1987-02-26T15:01:01",
        "source": "Reuters",
        "topics": ["cocoa"],
        "body": "Cocoa prices rose sharply as drought hit the Bahia zone.\n\n"
        "Traders said the dry weather would cut the coming harvest.",
    },
    {
        "id": "wire-2",
        "title": "Central bank holds interest rates",
        "date": "1987-03-10",
        "source": "Reuters",
        "topics": ["interest"],
        "body": "The central bank left interest rates unchanged on Tuesday.\n\n"
        "Economists had expected the bank to hold rates steady.",
    },
    {
        "id": "wire-3",
        "title": "Police officer honoured for bravery",
        "date": "2018-05-01",
        "source": "Gazette",
        "url": "https://example.org/wire-3",
        "body": "A police officer who stopped an attacker was honoured at a ceremony.",
    },
]


def write_corpus(root: Path, text_articles=None, jsonl_records=None) -> Path:
    """A corpus directory with plain-text articles and one JSON Lines file."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (TEXT_ARTICLES if text_articles is None else text_articles).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    records = JSONL_RECORDS if jsonl_records is None else jsonl_records
    if records:
        lines = "\n".join(json.dumps(record) for record in records) + "\n"
        (root / "wire.jsonl").write_text(lines, encoding="utf-8")
    return root


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def index_dir(tmp_path: Path, corpus_dir: Path) -> Path:
    index = tmp_path / "index"
    report = reindex([corpus_dir], index)
    assert not report.skipped, report.problems
    return index


@pytest.fixture
def app(index_dir: Path, corpus_dir: Path):
    app = create_app({"index": index_dir, "corpus": [corpus_dir]})
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def discovery_client(tmp_path: Path):
    """A client over the discovery corpus: dated, several sources and topics, some typos."""
    from discovery_corpus import build_discovery_index

    corpus, index = build_discovery_index(tmp_path)
    app = create_app({"index": index, "corpus": [corpus]})
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the repository; tests that need it skip cleanly without it."""
    if not (SHARED / "corpora").is_dir():
        pytest.skip(f"{SHARED} is not here; this test needs the shared corpora")
    return SHARED
