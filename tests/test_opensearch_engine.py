"""The OpenSearch engine on the local cluster: the embedded engine's answers, generations, lock,
errors, and a node lost mid-query.

Runs when SEARCHSVC_OPENSEARCH_URL names the cluster of `make opensearch` (skipped
otherwise). Every engine here is real; each test's indexes carry a unique alias and
are deleted afterwards.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from datetime import datetime

import pytest
from opensearchpy import helpers

from searchsvc.engine import open_engine
from searchsvc.engine.opensearch import generations, requests
from searchsvc.engine.opensearch.client import Cluster, ClusterSettings
from searchsvc.engine.opensearch.lock import ClusterLock
from searchsvc.engine.opensearch.mapping import article_index, terms_index
from searchsvc.index.store import ReindexBusy, ReindexFailed
from searchsvc.model.errors import EngineUnavailable, IndexIncompatible, IndexMissing
from searchsvc.model.results import SearchRequest
from tests.conftest import SHARED, write_corpus
from tests.opensearch_support import (
    control,
    dropped_afterwards,
    node_urls,
    opensearch_config,
    reuters_sample,
    unique_alias,
    whoosh_config,
)

pytestmark = pytest.mark.opensearch

ARTICLES = 300  # Reuters articles both engines index
SCORE_TOLERANCE = 1e-4  # relative: the cluster's scores are float32, baked to 1/65536


@pytest.fixture(scope="module")
def urls() -> str:
    return node_urls()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return reuters_sample(tmp_path_factory.mktemp("corpus") / "reuters.jsonl", SHARED, ARTICLES)


@pytest.fixture(scope="module")
def engines(urls, corpus, tmp_path_factory):
    """(embedded view, OpenSearch engine) over the same articles."""
    embedded = open_engine(whoosh_config(tmp_path_factory.mktemp("index")))
    embedded.reindex([corpus], full=True)
    with dropped_afterwards(open_engine(opensearch_config(urls, unique_alias("same")))) as engine:
        report = engine.reindex([corpus], full=True)
        assert report.generation is not None, report.summary()
        yield embedded.view(), engine


REQUESTS = [
    SearchRequest(q="cocoa prices"),
    SearchRequest(q='"bank of england"'),
    SearchRequest(q='"the bank"'),
    SearchRequest(q="oil -opec"),
    SearchRequest(q="strike OR walkout"),
    SearchRequest(q="(oil AND opec) NOT iran"),
    SearchRequest(q="oil prices NOT opec NOT iran"),
    SearchRequest(q="NOT oil NOT opec", size=5),
    SearchRequest(q="OIL PRICES AND OPEC NOT TO CUT OUTPUT"),
    SearchRequest(q="Saudi oil minister says prices will firm -Reuters"),
    SearchRequest(q="title:strike"),
    SearchRequest(q="source:reuters oil"),
    SearchRequest(q="topic:cocoa"),
    SearchRequest(q="date:1987-03"),
    SearchRequest(q="date:[1987-02-01 to 1987-02-28] wheat"),
    SearchRequest(q="parliam*"),
    SearchRequest(q="com* OR ban*"),
    SearchRequest(q='"rate cut"~5'),
    SearchRequest(q='"interest rates rose"~3 dollar'),
    SearchRequest(q="interest ra"),
    SearchRequest(q="coffe exports"),
    SearchRequest(q="what did the central bank say about interest rates and the dollar"),
    SearchRequest(q="+oil prices"),
    SearchRequest(q="oil^2 gas"),
    SearchRequest(q="zzzqqq"),
    SearchRequest(q="the of and"),
    SearchRequest(q=""),
    SearchRequest(q="", sort="date", page=3, size=7),
    SearchRequest(q="oil", sort="date", page=2, size=5),
    SearchRequest(q="oil prices", sort="date", page=3, size=5),
    SearchRequest(q="coffee brazil exports", sort="date"),
    SearchRequest(q="oil", source="REUTERS", page=2),
    SearchRequest(q="oil", since=datetime(1987, 3, 1), until=datetime(1987, 3, 2)),
    SearchRequest(q="trade deficit", since=datetime(1987, 3, 1)),
    SearchRequest(q="U.S. O'Neill 3.5 pct e-mail (((", size=3),
    SearchRequest(q=" ".join(["grain wheat corn shipments tonnes export"] * 30)),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.q[:30]}|{r.sort}|{r.page}")
def test_the_same_answer_as_the_embedded_engine(engines, request_):
    embedded, engine = engines
    expected, got = embedded.rank(request_), engine.view().rank(request_)
    assert [a.id for a, _ in got.page] == [a.id for a, _ in expected.page]
    for (_, mine), (_, theirs) in zip(got.page, expected.page, strict=True):
        assert (mine is None) == (theirs is None)
        if theirs is not None:
            assert mine == pytest.approx(theirs, rel=SCORE_TOLERANCE)
    assert got.page == [] or got.page[0][0] == expected.page[0][0]  # whole records
    assert (got.total, got.facets) == (expected.total, expected.facets)
    assert (got.text, got.terms, got.corrected, got.match_all) == (
        expected.text, expected.terms, expected.corrected, expected.match_all,
    )  # fmt: skip


def test_articles_related_and_headlines_as_embedded(engines):
    embedded, engine = engines
    view = engine.view()
    article = embedded.article("reuters-10")
    assert view.article("reuters-10") == article
    assert view.article("no-such-article") is None
    related, expected = view.related(article), embedded.related(article)
    assert [r["id"] for r in related] == [r["id"] for r in expected]
    assert [r["score"] for r in related] == pytest.approx([r["score"] for r in expected], rel=1e-4)
    for head, prefix in [("oil", "pri"), ("", "coc"), ("central bank", "ra")]:
        assert view.headlines(head, prefix, 5) == embedded.headlines(head, prefix, 5)
    assert view.vocabulary().counts == embedded.vocabulary().counts
    stats, theirs = view.paragraph_stats(), embedded.paragraph_stats()
    counts = {"cocoa": 2, "price": 1}
    view.stats.prefetch(counts)
    assert stats.score(counts, 40) == pytest.approx(theirs.score(counts, 40), rel=1e-12)
    assert view.health()["articles"] == embedded.health()["articles"]


def test_baked_settings_apply_from_the_next_reindex(engines, urls):
    """A generation keeps the headline weight it was baked with; a changed setting waits."""
    _, engine = engines
    other = open_engine(opensearch_config(urls, engine.layout.alias, title_boost=2.0))
    request = SearchRequest(q="cocoa prices")
    mine, baked = other.view().rank(request), engine.view().rank(request)
    assert [(a.id, s) for a, s in mine.page] == [(a.id, s) for a, s in baked.page]


def test_a_query_past_the_clause_limit_is_searched_as_plain_words(engines, monkeypatch):
    """A query translated to more leaf clauses than Lucene takes is searched as its words.

    querying.py's bounds keep real queries near half of Lucene's 1,024; the limit is
    lowered here to just above what the plain words need.
    """
    _, engine = engines
    view = engine.view()
    text, words = 'com* AND "bank of england"', "com and bank of england"

    def clauses(q: str) -> int:
        return requests._clauses(requests._Plan(view, SearchRequest(q=q), q).counted_dsl())

    assert clauses(text) > clauses(words)  # com* is its 64 commonest words, in both fields
    plain = view.rank(SearchRequest(q=words))
    monkeypatch.setattr(requests, "MAX_CLAUSES", clauses(words))
    found = view.rank(SearchRequest(q=text))
    assert [(a.id, s) for a, s in found.page] == [(a.id, s) for a, s in plain.page]
    assert found.total == plain.total > 0


def _statistics(engine) -> tuple[dict, dict]:
    """A generation's info (but names and times) and its term rows."""
    view = engine.view()
    info = {k: v for k, v in view.info.items() if k not in ("generation", "built_at", "timings")}
    rows = helpers.scan(engine.cluster.client, index=engine.layout.terms(view.name),
                        query={"query": {"term": {"kind": "term"}}})  # fmt: skip
    return info, {row["_id"]: row["_source"] for row in rows}


def test_an_incremental_run_equals_a_full_build(urls, corpus, tmp_path):
    lines = corpus.read_text(encoding="utf-8").splitlines()
    changed = json.loads(lines[10])
    changed["body"] += "\n\nA closing paragraph about Zanzibar cloves."
    added = {"id": "new-1", "title": "Zanzibar clove harvest", "date": "1987-05-01",
             "source": "WIRE", "body": "Clove exports rose.\n\nPrices held."}  # fmt: skip
    edited = tmp_path / "reuters.jsonl"
    edited.write_text(
        "\n".join(
            lines[:5] + lines[6:10] + [json.dumps(changed)] + lines[11:] + [json.dumps(added)]
        )
        + "\n",
        encoding="utf-8",
    )
    first = tmp_path / "first"
    first.mkdir()
    (first / "reuters.jsonl").write_text("\n".join(lines[:60]) + "\n", encoding="utf-8")
    with (
        dropped_afterwards(open_engine(opensearch_config(urls, unique_alias("inc")))) as growing,
        dropped_afterwards(open_engine(opensearch_config(urls, unique_alias("full")))) as full,
    ):
        growing.reindex([first / "reuters.jsonl"])
        report = growing.reindex([edited])
        assert (report.updated, report.removed) == (1, 1), report.summary()
        assert growing.reindex([edited]).generation is None  # nothing changed: nothing written
        full.reindex([edited], full=True)
        assert _statistics(growing) == _statistics(full)
        request = SearchRequest(q="zanzibar cloves prices", size=20)
        mine, theirs = growing.view().rank(request), full.view().rank(request)
        assert [(a.id, s) for a, s in mine.page] == [(a.id, s) for a, s in theirs.page]
        # The live generation and the one before it, nothing older.
        kept = generations.existing(growing.cluster, growing.layout)
        assert len(kept) == 2 and kept[-1] == growing.view().name


def test_a_generation_has_the_configured_shards_and_replicas(urls, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    config = opensearch_config(urls, unique_alias("shards"), opensearch_shards=2,
                               opensearch_replicas=0)  # fmt: skip
    with dropped_afterwards(open_engine(config)) as engine:
        engine.reindex([corpus], full=True)
        name = engine.view().name
        settings = engine.cluster.call("indices.get_settings", index=name)[name]["settings"]
        assert (settings["index"]["number_of_shards"], settings["index"]["number_of_replicas"]) == (
            "2", "0",
        )  # fmt: skip
        assert engine.view().rank(SearchRequest(q="cocoa")).total == 1


@pytest.fixture
def cluster(urls):
    return Cluster(
        ClusterSettings.from_config(
            {"opensearch_url": urls, "opensearch_index": unique_alias("lock")}
        )
    )


@pytest.fixture
def layout(cluster):
    layout = generations.Layout(cluster.settings.index)
    yield layout
    cluster.client.indices.delete(index=f"{layout.alias}-*", ignore_unavailable=True,
                                  expand_wildcards="all")  # fmt: skip


def test_one_reindex_at_a_time_and_a_stale_lock_is_broken(cluster, layout):
    first = ClusterLock(cluster, layout, ttl=1.5, heartbeat=60)  # never renewed in time
    first.acquire(0)
    second = ClusterLock(cluster, layout, ttl=30, heartbeat=60)
    with pytest.raises(ReindexBusy, match=r"another reindex is running on '.*' \(.*\)"):
        second.acquire(0)
    started = time.monotonic()
    second.acquire(10)  # waits until the first one's lock has expired, then breaks it
    assert 0.5 < time.monotonic() - started < 10
    second.check()
    with pytest.raises(ReindexFailed, match="taken by another run"):
        first.check()  # fenced: it must not swap
    first.release()  # releases nothing of the second's
    with pytest.raises(ReindexBusy):
        ClusterLock(cluster, layout).acquire(0)
    second.release()
    third = ClusterLock(cluster, layout)
    third.acquire(0)
    third.release()


class _Answering(http.server.BaseHTTPRequestHandler):
    """A server that is not OpenSearch: status and body set per test."""

    status, body = 404, b"<html>not here</html>"

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(self.status)
        kind = "application/json" if self.body.startswith(b"{") else "text/html"
        self.send_header("Content-Type", kind)
        self.end_headers()
        self.wfile.write(self.body)

    do_POST = do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def impostor():
    """An HTTP server on 127.0.0.1 that answers like something else; its URL."""

    def serve(status: int, body: bytes) -> str:
        handler = type("Handler", (_Answering,), {"status": status, "body": body})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    servers: list = []
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("closed", "cannot reach the OpenSearch cluster"),
        ("html", "does not answer as an OpenSearch node does|is not an OpenSearch cluster"),
        ("json", "is not an OpenSearch cluster"),
        ("unauthorised", "refused the credentials"),
    ],
)
def test_a_cluster_that_cannot_answer_is_a_clear_error(impostor, where, message):
    url = {
        "closed": _closed_port,
        "html": lambda: impostor(200, b"<html>a web page</html>"),
        "json": lambda: impostor(200, b'{"name": "not opensearch", "version": {"number": "1"}}'),
        "unauthorised": lambda: impostor(401, b'{"error": "unauthorised", "status": 401}'),
    }[where]()
    engine = open_engine(opensearch_config(url, unique_alias("err"), opensearch_timeout=3))
    started = time.monotonic()
    with pytest.raises(EngineUnavailable, match=message):
        engine.cluster.check()
    with pytest.raises((EngineUnavailable, IndexMissing)):
        engine.view().rank(SearchRequest(q="oil"))
    assert time.monotonic() - started < 20


def test_no_index_and_an_index_of_another_version(urls):
    engine = open_engine(opensearch_config(urls, unique_alias("ver")))
    with pytest.raises(IndexMissing, match="run `searchsvc reindex` first"):
        engine.view()
    assert not engine.has_index()
    with dropped_afterwards(engine):
        name = engine.layout.generation(1)
        old = {"searchsvc_format": 0, "generation": name}
        engine.cluster.call("indices.create", index=name, body=article_index(1, 0, 1.2, old))
        engine.cluster.call("indices.create", index=engine.layout.terms(name),
                            body=terms_index(1, 0, old))  # fmt: skip
        generations.swap(engine.cluster, engine.layout, name, None)
        with pytest.raises(IndexIncompatible, match="another version of searchsvc"):
            engine.view()


def test_a_red_generation_is_engine_unavailable(engines, urls):
    """A search whose shards have no copy anywhere answers EngineUnavailable, not partly."""
    _, engine = engines
    view = engine.view()
    body = article_index(1, 0, 1.2, {"searchsvc_format": 0})
    body["settings"]["index.routing.allocation.require._name"] = "no-such-node"
    red = unique_alias("red")
    engine.cluster.call(
        "indices.create", index=red, body=body, params={"wait_for_active_shards": 0}
    )
    try:
        stranded = type(view).__new__(type(view))
        stranded.__dict__.update(view.__dict__, name=red)
        with pytest.raises(EngineUnavailable, match="cannot answer now"):
            requests.search(stranded, {"query": {"match_all": {}}})
    finally:
        engine.cluster.client.indices.delete(index=red)


def test_searches_stay_complete_while_a_node_is_down(engines):
    """Three nodes, a replica of every shard: stop one while a client searches, start it again."""
    _, engine = engines
    view = engine.view()
    request = SearchRequest(q="oil prices", size=20)
    expected = view.rank(request)
    want = (expected.total, [a.id for a, _ in expected.page])
    answers: list = []
    stop = threading.Event()

    def loop():
        deadline = time.monotonic() + 120
        while not stop.is_set() and len(answers) < 3000 and time.monotonic() < deadline:
            try:
                found = view.rank(request)
                answers.append((found.total, [a.id for a, _ in found.page]))
            except Exception as error:  # counted as a wrong answer below
                answers.append(repr(error))

    searching = threading.Thread(target=loop)
    searching.start()
    try:
        time.sleep(0.5)
        assert control("stop-node 2")["running"] is False
        before = len(answers)
        time.sleep(2)  # searches against a cluster one node short
        assert len(answers) > before
        assert control("start-node 2")["running"] is True
        health = engine.cluster.call("cluster.health", wait_for_status="green",
                                     wait_for_nodes="3", params={"timeout": "60s"},
                                     request_timeout=70)  # fmt: skip
        assert health["status"] == "green", health
        time.sleep(0.5)
    finally:
        stop.set()
        searching.join(timeout=60)
        if not control("status")["nodes"][1]["running"]:
            control("start-node 2")
    wrong = [answer for answer in answers if answer != want]
    assert answers and not wrong, (len(answers), wrong[:3])
    assert engine.cluster.call("count", index=view.name)["count"] == view.info["articles"]
