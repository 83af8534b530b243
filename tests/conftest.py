"""Shared fixtures: a tiny corpus on a temporary path, its index, the app and a client;
and `engine`, the one fixture that runs an integration test on both engines."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
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


# The integration tests (API, CLI, pages, browser) run on both engines through `engine`.
# The OpenSearch runs need the cluster (SEARCHSVC_OPENSEARCH_URL); without it they skip.
ENGINE_PARAMS = [
    pytest.param("whoosh", id="whoosh"),
    pytest.param("opensearch", id="opensearch", marks=pytest.mark.opensearch),
]


@dataclass(frozen=True)
class Target:
    """Where one engine keeps one index: an index directory (whoosh) or an alias."""

    engine: str
    where: str
    urls: str = ""

    @property
    def config(self) -> dict:
        """The settings that name it, for create_app and load_config."""
        if self.engine == "whoosh":
            return {"engine": "whoosh", "index": self.where}
        return {"engine": "opensearch", "opensearch_url": self.urls,
                "opensearch_index": self.where}  # fmt: skip

    @property
    def env(self) -> dict[str, str]:
        """The same settings as environment variables, for the CLI and a server process."""
        return {f"SEARCHSVC_{name.upper()}": str(value) for name, value in self.config.items()}


@dataclass(frozen=True)
class Built:
    """A corpus indexed by one engine."""

    target: Target
    corpus: Path

    @property
    def config(self) -> dict:
        return {**self.target.config, "corpus": [self.corpus]}

    def app(self, **overrides):
        app = create_app({**self.config, **overrides})
        app.config["TESTING"] = True
        return app


class EngineUnderTest:
    """One engine for a test session: empty targets, and corpora built once each."""

    def __init__(self, name: str, root: Path, urls: str = ""):
        self.name, self.root, self.urls = name, root, urls
        self.aliases: list[str] = []
        self._built: dict[str, Built] = {}
        self._made = itertools.count()

    def target(self, kind: str = "ix") -> Target:
        """A place with no index yet: a new directory, or a new alias deleted at the end."""
        if self.name == "whoosh":
            return Target("whoosh", str(self.root / f"{kind}-{next(self._made)}"))
        from opensearch_support import unique_alias

        alias = unique_alias(kind)
        self.aliases.append(alias)
        return Target("opensearch", alias, self.urls)

    def built(self, name: str = "small", write: Callable[[Path], Path] = write_corpus) -> Built:
        """The corpus `write(folder)` writes, indexed once a session (tests must not change it)."""
        if name not in self._built:
            from searchsvc.config import load_config
            from searchsvc.engine import open_engine

            corpus = write(self.root / f"corpus-{name}")
            target = self.target(name)
            report = open_engine(load_config(target.config)).reindex([corpus], full=True)
            assert report.generation is not None and not report.skipped, report.summary()
            self._built[name] = Built(target, corpus)
        return self._built[name]

    def drop(self) -> None:
        """Delete every alias this session made on the cluster, with its generations."""
        if not self.aliases:
            return
        from searchsvc.engine.opensearch.client import Cluster, ClusterSettings

        settings = ClusterSettings.from_config({"opensearch_url": self.urls})
        client = Cluster(settings).client
        for alias in self.aliases:  # its generations, its lock, and any made from it (eval)
            client.indices.delete(index=f"{alias}-*", ignore_unavailable=True,
                                  allow_no_indices=True, expand_wildcards="all")  # fmt: skip


@pytest.fixture(scope="session", params=ENGINE_PARAMS)
def engine(request, tmp_path_factory):
    """whoosh, then opensearch: each corpus built once per engine per session."""
    urls = ""
    if request.param == "opensearch":
        from opensearch_support import node_urls

        urls = node_urls()  # skips when no cluster is configured
    under_test = EngineUnderTest(request.param, tmp_path_factory.mktemp(request.param), urls)
    yield under_test
    under_test.drop()


@pytest.fixture
def engine_app(engine):
    """The app over the tiny corpus, on either engine."""
    return engine.built().app()


@pytest.fixture
def engine_client(engine_app):
    return engine_app.test_client()
