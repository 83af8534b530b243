"""One GenerationState per open generation: shared by its searchers, dropped with it."""

from __future__ import annotations

import gc
import threading
import weakref
from collections import OrderedDict

import pytest
from conftest import write_corpus
from discovery_corpus import build_discovery_index, discovery_records
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import RamStorage

from searchsvc.engine.embedded import datecolumn, ranking, typos
from searchsvc.engine.embedded.arrayrank import rank
from searchsvc.engine.embedded.querying import parse
from searchsvc.engine.embedded.ranking import NewsWeighting
from searchsvc.engine.embedded.snapshot import IndexHandle
from searchsvc.engine.embedded.state import BoundedCache, GenerationState, state_of
from searchsvc.index import store, words
from searchsvc.index.indexer import reindex
from searchsvc.index.schema import article_schema
from searchsvc.search import SearchRequest, search

# Every cache a query fills: postings, lengths, date ranges and columns, facets, idfs.
QUERIES = ["oil prices", '"crude oil" date:1987', "parliment", "government -oil"]


def _search_all(snapshot) -> None:
    for text in QUERIES:
        search(snapshot, SearchRequest(q=text))
    search(snapshot, SearchRequest(q="oil", sort="date"))
    snapshot.headlines("oil", "pri", 5)
    snapshot.related(snapshot.article("oil-01"))
    snapshot.release()


def test_a_new_generation_swapped_in_drops_the_old_state(tmp_path):
    corpus, index = build_discovery_index(tmp_path)
    handle = IndexHandle(index)
    old = handle.snapshot()
    _search_all(old)
    state = old.state
    assert state.postings.used and state.date_ranges.used and state.facet_answers.used
    assert state.vocabulary is not None and state.idfs
    gone = weakref.ref(state)
    write_corpus(corpus, jsonl_records=discovery_records()[1:])
    reindex([corpus], index)
    new = handle.snapshot()
    assert new is not old and new.state is not state and not new.state.postings.used
    del old, state
    gc.collect()
    assert gone() is None
    assert search(new, SearchRequest(q="oil")).total == 23


def test_searchers_opened_later_share_what_the_first_read(tmp_path, monkeypatch):
    """Segments never change within a generation, so a new searcher pair reads nothing again."""
    reads = []
    for module, name in ((ranking, "read_field_lengths"), (datecolumn, "_read")):
        read = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, read=read: reads.append(a[1:]) or read(*a))
    _, index = build_discovery_index(tmp_path)
    snapshot = IndexHandle(index).snapshot()
    first, second = snapshot.searchers(), snapshot._take()  # the first is not given back
    assert first[0].reader() is not second[0].reader()
    rankings = []
    for searcher, _ in (first, second):
        for text in ["oil prices date:1987", "government"]:
            query = datecolumn.cached_ranges(
                parse(text, snapshot.parser, searcher.reader()).article_query
            )
            rankings.append(rank(searcher, query, 10).top)
        rankings.append(rank(searcher, query, 10, by_date=True).top)
        assert state_of(searcher) is snapshot.state
    assert rankings[:3] == rankings[3:]
    # Each segment's headline and text lengths and its date column, read once.
    segments = len(first[0].reader().leaf_readers())
    assert sorted(reads) == sorted([("title",), ("body",), ("date",)] * segments)


def test_every_idf_is_kept_in_the_state_none_in_whooshs_searchers(tmp_path):
    _, index = build_discovery_index(tmp_path)
    snapshot = IndexHandle(index).snapshot()
    pair = snapshot.searchers()
    _search_all(snapshot)
    assert snapshot.state.idfs
    # Whoosh's own table lives as long as a searcher and is never trimmed.
    assert [len(searcher._idf_cache) for searcher in pair] == [0, 0]


def test_a_searcher_opened_outside_a_snapshot_gets_a_state_of_its_own():
    ix = RamStorage().create_index(article_schema())
    with ix.writer() as writer:
        writer.add_document(id="a", title="Oil", body="oil prices", record="{}")
    with ix.searcher() as plain:
        assert state_of(plain) is not state_of(plain)
    weighting = NewsWeighting()
    with ix.searcher(weighting=weighting) as weighed:
        assert state_of(weighed) is weighting.state


def test_a_vocabulary_counted_in_the_background_does_not_keep_its_state(tmp_path, monkeypatch):
    _, index = build_discovery_index(tmp_path)
    (store.current_generation(index).path / words.WORDS_FILE).unlink()  # an older index
    monkeypatch.setattr(typos, "SYNC_BUILD_ARTICLES", 0)
    counting, release = threading.Event(), threading.Event()
    build = typos._build

    def slow_build(reader):
        counting.set()
        release.wait(10)
        return build(reader)

    monkeypatch.setattr(typos, "_build", slow_build)
    snapshot = IndexHandle(index).snapshot()
    assert snapshot.vocabulary() is None and counting.wait(10)
    assert snapshot.vocabulary() is None  # still counting: asked again, not counted twice
    gone = weakref.ref(snapshot.state)
    del snapshot
    gc.collect()
    assert gone() is None
    release.set()
    for thread in threading.enumerate():
        if thread.name == "searchsvc-vocabulary":
            thread.join(10)


def test_a_vocabulary_counted_in_the_background_is_kept(tmp_path, monkeypatch):
    _, index = build_discovery_index(tmp_path)
    (store.current_generation(index).path / words.WORDS_FILE).unlink()
    monkeypatch.setattr(typos, "SYNC_BUILD_ARTICLES", 0)
    snapshot = IndexHandle(index).snapshot()
    first = snapshot.vocabulary()
    for thread in threading.enumerate():
        if thread.name == "searchsvc-vocabulary":
            thread.join(10)
    vocabulary = snapshot.vocabulary()
    assert first is None and vocabulary is snapshot.state.vocabulary
    assert vocabulary.correct("parliment") == "parliament"


@pytest.mark.parametrize(
    ("budget", "sizes", "kept"),
    [
        (100, [40, 40, 40], [1, 2]),  # the least recently used goes first
        (100, [40, 200, 40], [0, 2]),  # one over the whole budget is never kept
        (100, [100], [0]),
        (0, [0, 1], [0]),
    ],
)
def test_bounded_cache_keeps_the_latest_within_its_budget(budget, sizes, kept):
    cache = BoundedCache(budget)
    for key, size in enumerate(sizes):
        cache.put(key, f"value {key}", size)
    assert [key for key in range(len(sizes)) if cache.get(key) is not None] == kept
    assert cache.used == sum(sizes[key] for key in kept) <= budget


@given(
    operations=st.lists(
        st.tuples(st.sampled_from(["get", "put"]), st.integers(0, 6), st.integers(0, 50)),
        max_size=60,
    )
)
@settings(max_examples=200, deadline=None, database=None)
def test_bounded_cache_is_a_least_recently_used_cache(operations):
    cache, model, budget = BoundedCache(100), OrderedDict(), 100
    for action, key, size in operations:
        if action == "get":
            expected = model.get(key)
            if expected is not None:
                model.move_to_end(key)
                expected = expected[0]
            assert cache.get(key) == expected
        elif size <= budget and key not in model:
            model[key] = (f"value {key}", size)
            while sum(size for _, size in model.values()) > budget:
                model.popitem(last=False)
            cache.put(key, f"value {key}", size)
        else:
            cache.put(key, f"value {key}", size)
        assert cache.used == sum(size for _, size in model.values()) <= budget
        assert len(cache) == len(model)


def test_values_are_computed_once_per_segment_and_index():
    ix = RamStorage().create_index(article_schema())
    for batch in range(2):  # two segments
        with ix.writer() as writer:
            writer.add_document(id=str(batch), title="Oil", body="oil prices", record="{}")
    state, computed = GenerationState(), []
    with ix.reader() as reader:
        for _ in range(2):
            for leaf, _offset in reader.leaf_readers():
                state.per_segment(leaf, "x", lambda: computed.append("segment"))
            state.per_index(reader, "x", lambda: computed.append("index"))
    assert computed == ["segment", "segment", "index"]
