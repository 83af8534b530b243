"""Generations and the atomic swap: readers never see a half-built index."""

from __future__ import annotations

import pytest

from searchsvc.engine.embedded.snapshot import IndexHandle
from searchsvc.index import store
from searchsvc.index.indexer import reindex
from searchsvc.search import SearchRequest, search


def total(snapshot, q: str) -> int:
    return search(snapshot, SearchRequest(q=q)).total


def test_open_snapshot_keeps_answering_from_its_generation(index_dir, corpus_dir):
    handle = IndexHandle(index_dir)
    old = handle.snapshot()
    (corpus_dir / "new.txt").write_text("Volcano erupts\n\nLava reached the sea.\n")
    reindex([corpus_dir], index_dir)
    assert total(old, "lava") == 0  # the old generation, unchanged
    new = handle.snapshot()
    assert new is not old and new.generation != old.generation
    assert total(new, "lava") == 1
    assert handle.snapshot() is new  # no reopening while CURRENT is unchanged


def test_swap_keeps_a_few_previous_generations(index_dir, corpus_dir):
    names = [store.current_generation(index_dir).name]
    for n in range(4):
        (corpus_dir / f"extra{n}.txt").write_text(f"Extra article number {n}.\n")
        names.append(reindex([corpus_dir], index_dir).generation)
    left = sorted(p.name for p in index_dir.glob("gen-*"))
    assert left == sorted(names[-1 - store.KEEP_PREVIOUS :])


def test_orphans_from_a_crashed_run_are_removed(index_dir, corpus_dir):
    orphan = index_dir / "gen-00000000T000000-dead00"
    (orphan / "articles").mkdir(parents=True)
    (index_dir / ".pointer-leftover").write_text("gen-x")
    (corpus_dir / "new.txt").write_text("New.\n")
    reindex([corpus_dir], index_dir)
    assert not orphan.exists()
    assert not list(index_dir.glob(".pointer-*"))


def test_pointer_to_incomplete_generation_is_not_opened(index_dir):
    (index_dir / "gen-99999999T999999-half00").mkdir()
    (index_dir / "CURRENT").write_text("gen-99999999T999999-half00\n")
    with pytest.raises(store.IndexMissing):
        IndexHandle(index_dir).snapshot()


def test_missing_index(tmp_path):
    assert not store.has_index(tmp_path)
    with pytest.raises(store.IndexMissing):
        IndexHandle(tmp_path).snapshot()


def test_second_writer_is_refused_while_the_lock_is_held(index_dir, corpus_dir):
    with store.writer_lock(index_dir, timeout=0):
        with pytest.raises(store.ReindexBusy, match="another reindex is running"):
            reindex([corpus_dir], index_dir, lock_timeout=0.2)
    assert reindex([corpus_dir], index_dir).generation is None  # lock released


def test_index_from_an_incompatible_version_is_a_clear_error(index_dir):
    generation = store.current_generation(index_dir)
    for toc in generation.path.glob("*/_MAIN_*.toc"):
        data = toc.read_bytes()
        toc.write_bytes(data.replace(b"NltkTokenizer", b"GoneTokenizer"))
    with pytest.raises(store.IndexIncompatible, match="reindex --full"):
        IndexHandle(index_dir).snapshot()


def test_incompatible_index_is_a_503_that_says_what_to_do(index_dir):
    from searchsvc import create_app

    generation = store.current_generation(index_dir)
    for toc in generation.path.glob("*/_MAIN_*.toc"):
        toc.write_bytes(toc.read_bytes().replace(b"NltkTokenizer", b"GoneTokenizer"))
    response = create_app({"index": index_dir}).test_client().get("/api/search?q=x")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "index_incompatible" and "reindex --full" in error["message"]


def test_a_run_with_nothing_to_do_still_removes_what_a_failed_run_left(index_dir, corpus_dir):
    served = store.current_generation(index_dir).name
    orphan = index_dir / "gen-99999999T000000-dead00"  # newer than the served one, never served
    (orphan / "articles").mkdir(parents=True)
    (index_dir / ".pointer-leftover").write_text("gen-x")
    assert reindex([corpus_dir], index_dir).generation is None
    assert not orphan.exists()
    assert not list(index_dir.glob(".pointer-*"))
    assert store.current_generation(index_dir).name == served
