"""The article index written by a second process, a segment per chunk, gives the same
answers as one process writing one segment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchsvc.engine.embedded.snapshot import IndexHandle
from searchsvc.index import parallel, segments, store
from searchsvc.index.indexer import load_terms, reindex
from searchsvc.search import SearchRequest, search


def write_wire(path: Path, count: int, word: str = "cocoa") -> None:
    records = [
        {"id": f"w{n}", "title": f"Story {n}", "date": "1987-03-02",
         "body": f"{word} prices rose {n} points.\n\nTraders said demand for {word} grew."}
        for n in range(count)
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", "utf-8")


def answers(index: Path, q: str) -> list[tuple]:
    result = search(IndexHandle(index).snapshot(), SearchRequest(q=q, size=20))
    return [(hit.id, hit.score, tuple(hit.snippets)) for hit in result.hits] + [result.total]


@pytest.fixture
def child_always(monkeypatch):
    monkeypatch.setattr(parallel, "PARALLEL_MIN_OPERATIONS", 1)
    monkeypatch.setattr(parallel, "BATCH_OPERATIONS", 3)
    monkeypatch.setattr(parallel, "OUTBOX_BATCHES", 2)


QUERIES = ("cocoa", "traders demand", '"prices rose"', "story 11", "")


def segment_count(index_dir: Path) -> tuple[int, int]:
    articles, paragraphs = store.current_generation(index_dir).open_indexes()
    return len(articles.reader().leaf_readers()), len(paragraphs.reader().leaf_readers())


def test_child_process_build_matches_one_process(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_wire(corpus / "wire.jsonl", 12)
    reindex([corpus], tmp_path / "one")
    monkeypatch.setattr(parallel, "PARALLEL_MIN_OPERATIONS", 1)
    monkeypatch.setattr(parallel, "BATCH_OPERATIONS", 3)
    monkeypatch.setattr(parallel, "OUTBOX_BATCHES", 2)
    report = reindex([corpus], tmp_path / "two")
    assert (report.articles, report.paragraphs) == (12, 24)
    for q in QUERIES:
        assert answers(tmp_path / "two", q) == answers(tmp_path / "one", q)


def test_a_segment_per_full_pool_matches_one_segment(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_wire(corpus / "wire.jsonl", 12)
    reindex([corpus], tmp_path / "one")
    assert segment_count(tmp_path / "one") == (1, 1)
    monkeypatch.setattr(segments, "FULL", 1e-9)  # a segment every document
    monkeypatch.setattr(segments, "SMALL_SEGMENT_DOCS", 0)  # and none merged at the end
    reindex([corpus], tmp_path / "two")
    assert segment_count(tmp_path / "two") == (12, 24)
    for q in QUERIES:
        # Equal scores tie-break by document number, which differs between the
        # layouts; Whoosh's merge of small segments re-adds field lengths from
        # their one-byte form, which moves the average length, so scores agree
        # to within a percent rather than exactly.
        one, two = by_id(tmp_path / "one", q), by_id(tmp_path / "two", q)
        assert one.keys() == two.keys(), q
        for article_id, (score, snippets) in one.items():
            assert two[article_id][1] == snippets
            assert two[article_id][0] == (score and pytest.approx(score, rel=0.01))


def by_id(index: Path, q: str) -> dict:
    result = search(IndexHandle(index).snapshot(), SearchRequest(q=q, size=100))
    return {hit.id: (hit.score, tuple(hit.snippets)) for hit in result.hits}


def test_child_process_and_deleted_paragraphs(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_wire(corpus / "wire.jsonl", 10)
    reindex([corpus], tmp_path / "ix")  # in this process
    monkeypatch.setattr(parallel, "PARALLEL_MIN_OPERATIONS", 1)
    write_wire(corpus / "wire.jsonl", 4, word="coffee")  # 4 changed, 6 gone
    report = reindex([corpus], tmp_path / "ix")
    assert (report.updated, report.removed, report.paragraphs) == (4, 6, 8)
    assert store.current_generation(tmp_path / "ix").info()["paragraphs"] == 8
    assert answers(tmp_path / "ix", "cocoa") == [0]
    assert len(answers(tmp_path / "ix", "coffee")) == 5


def test_a_failing_child_is_an_error_with_its_reason(tmp_path, child_always):
    writer = parallel.BackgroundWriter(tmp_path / "missing", 32, "article index")
    writer.add_document(id="x")  # starts the child, which cannot open the index
    with pytest.raises(RuntimeError, match="article index writer failed: .*missing"):
        writer.commit()
    assert writer.process is None


def test_a_child_that_dies_mid_run_stops_the_parent(tmp_path, child_always):
    """A killed child never leaves the parent blocked on a full outbox."""
    (tmp_path / "ix").mkdir()
    from whoosh import index as whoosh_index

    from searchsvc.index.schema import article_schema

    whoosh_index.create_in(str(tmp_path / "ix"), article_schema())
    writer = parallel.BackgroundWriter(tmp_path / "ix", 32, "article index")
    writer.add_document(id="first")
    writer.process.kill()
    with pytest.raises(RuntimeError, match="article index writer failed"):
        for number in range(10_000):
            writer.add_document(id=f"a{number}", body="text " * 200)
        writer.commit()
    assert writer.process is None


def test_cached_date_ranges_score_and_filter_like_whoosh(index_dir):
    from whoosh import query as Q

    from searchsvc.engine.embedded.datecolumn import cached_ranges

    snapshot = IndexHandle(index_dir).snapshot()
    searcher, _ = snapshot.searchers()
    for text in ("police date:2017-03", "date:[2017-01 to 2017-12] OR cup", "rovers"):
        query = snapshot.parser.parse(text)
        plain = [(h["id"], h.score) for h in searcher.search(query, limit=None)]
        assert plain, text
        for _ in range(2):  # computed, then from the cache
            cached = searcher.search(cached_ranges(query), limit=None)
            assert [(h["id"], h.score) for h in cached] == plain
    assert "CachedDateRange" in repr(cached_ranges(Q.DateRange("date", None, None)))


def test_a_document_that_cannot_be_sent_is_an_error_not_a_hang(tmp_path, child_always):
    (tmp_path / "ix").mkdir()
    from whoosh import index as whoosh_index

    from searchsvc.index.schema import article_schema

    whoosh_index.create_in(str(tmp_path / "ix"), article_schema())
    writer = parallel.BackgroundWriter(tmp_path / "ix", 32, "article index")
    with pytest.raises(RuntimeError, match="article index writer failed: cannot send"):
        writer.add_document(id="first", body=lambda: "not picklable")
        for number in range(50):
            writer.add_document(id=f"a{number}")
        writer.commit()
    assert writer.process is None


def test_the_last_commit_merges_only_small_segments(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_wire(corpus / "wire.jsonl", 12)
    monkeypatch.setattr(segments, "FULL", 1e-9)
    monkeypatch.setattr(segments, "SMALL_SEGMENT_DOCS", 0)
    reindex([corpus], tmp_path / "ix")
    assert segment_count(tmp_path / "ix") == (12, 24)
    monkeypatch.setattr(segments, "FULL", 0.9)
    more = corpus / "more.jsonl"
    more.write_text(json.dumps({"id": "extra", "body": "coffee prices"}) + "\n", "utf-8")
    reindex([corpus], tmp_path / "ix")  # full segments (here: all of them) are kept
    assert segment_count(tmp_path / "ix") == (13, 25)
    monkeypatch.setattr(segments, "SMALL_SEGMENT_DOCS", 2)
    more.write_text(json.dumps({"id": "extra", "body": "tea prices"}) + "\n", "utf-8")
    reindex([corpus], tmp_path / "ix")
    assert segment_count(tmp_path / "ix") == (1, 1)  # everything here is small
    assert len(by_id(tmp_path / "ix", "cocoa")) == 12 and len(by_id(tmp_path / "ix", "tea")) == 1


@pytest.mark.parametrize("in_child", [False, True])
def test_words_stemmed_in_either_process_are_saved_in_terms_json(tmp_path, monkeypatch, in_child):
    """Headlines are analysed only where the article index is written: in the child, the
    parent never sees their words, and terms.json must still have them."""
    if in_child:
        monkeypatch.setattr(parallel, "PARALLEL_MIN_OPERATIONS", 1)
    # Words this test process has never analysed, whichever test ran before.
    headline, text = f"Zyxquorblat{int(in_child)}", f"Plimvodrak{int(in_child)}"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    record = {"id": "a", "title": f"{headline} report", "body": f"{text} prices."}
    (corpus / "a.jsonl").write_text(json.dumps(record) + "\n", "utf-8")
    reindex([corpus], tmp_path / "index")
    saved = load_terms(store.current_generation(tmp_path / "index").path)
    assert {headline, text} <= saved.keys()
