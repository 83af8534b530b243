"""Near-duplicate stories on the OpenSearch engine: the same groups, hits, versions, totals and
facets as the embedded engine, paging included, on the local cluster (skipped without it)."""

from __future__ import annotations

from datetime import datetime

import pytest

from searchsvc.engine import open_engine
from searchsvc.index import store
from searchsvc.index.indexer import STORIES_FILE
from searchsvc.model.results import SearchRequest
from tests.conftest import SHARED
from tests.opensearch_support import (
    dropped_afterwards,
    node_urls,
    opensearch_config,
    reuters_sample,
    unique_alias,
    whoosh_config,
)

pytestmark = pytest.mark.opensearch

ARTICLES = 2_500  # enough Reuters for a few dozen stories with more than one version


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    urls = node_urls()
    corpus = reuters_sample(tmp_path_factory.mktemp("corpus") / "r.jsonl", SHARED, ARTICLES)
    index = tmp_path_factory.mktemp("index")
    embedded = open_engine(whoosh_config(index))
    embedded.reindex([corpus], full=True)
    with dropped_afterwards(open_engine(opensearch_config(urls, unique_alias("stories")))) as os:
        assert os.reindex([corpus], full=True).generation is not None
        yield index, embedded.view(), os


def test_the_same_stories(engines):
    index, _, engine = engines
    groups = store.read_json(store.current_generation(index).path / STORIES_FILE)
    assert len(groups) >= 10  # the sample holds re-sent stories
    view = engine.view()
    body = {"query": {"exists": {"field": "story"}}, "size": 10_000,
            "_source": ["id", "story", "story_place"]}  # fmt: skip
    hits = engine.cluster.call("search", index=view.name, body=body)["hits"]["hits"]
    found: dict[int, list[tuple[int, str]]] = {}
    for hit in hits:
        source = hit["_source"]
        found.setdefault(source["story"], []).append((source["story_place"], source["id"]))
    assert sorted([i for _, i in sorted(members)] for members in found.values()) == sorted(
        sorted(ids) for ids in groups.values()
    )


REQUESTS = [
    SearchRequest(q="trade surplus"),
    SearchRequest(q="japan trade surplus yen"),
    SearchRequest(q="bank"),
    SearchRequest(q="oil prices", page=2, size=7),
    SearchRequest(q="oil prices", sort="date", page=3, size=5),
    SearchRequest(q="dividend", size=3, page=4),
    SearchRequest(q="qtr net shr", size=20),
    SearchRequest(q="", sort="date", size=10, page=2),
    SearchRequest(q="brazil debt", since=datetime(1987, 2, 20)),
    SearchRequest(q="what did the central bank say about interest rates and the dollar"),
    SearchRequest(q="february car sales", size=5),
    SearchRequest(q="eurobond", sort="date"),
    SearchRequest(q="brazil debt banks concern"),
    SearchRequest(q='"manila" debt bonds'),
]


@pytest.mark.parametrize("collapse", [True, False])
@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.q[:20]}|{r.sort}|{r.page}")
def test_the_same_hits_versions_and_counts(engines, request_, collapse):
    _, embedded, engine = engines
    request_ = SearchRequest(**{**request_.__dict__, "collapse": collapse})
    expected, got = embedded.rank(request_), engine.view().rank(request_)
    assert [a.id for a, _ in got.page] == [a.id for a, _ in expected.page]
    assert [[v.id for v in vs] for vs in got.versions] == [
        [v.id for v in vs] for vs in expected.versions
    ]
    assert (got.total, got.counts, got.facets) == (expected.total, expected.counts, expected.facets)


def test_some_hits_have_versions(engines):
    """The comparison above is not vacuous: the sample folds stories on its first pages."""
    _, embedded, _ = engines
    folded = sum(
        len(vs) for r in REQUESTS for vs in embedded.rank(r).versions
    )  # fmt: skip
    assert folded >= 8
