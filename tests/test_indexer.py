"""Incremental reindex: new, changed and deleted files and records, found by content hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchsvc import store
from searchsvc.indexer import reindex
from searchsvc.search import SearchRequest, get_article, search
from searchsvc.snapshot import IndexHandle


def ids_for(index: Path, q: str) -> set[str]:
    snapshot = IndexHandle(index).snapshot()
    result = search(snapshot, SearchRequest(q=q, size=100))
    return {hit.id for hit in result.hits}


def all_ids(index: Path) -> set[str]:
    return ids_for(index, "")


def test_first_build_indexes_everything(corpus_dir, tmp_path):
    report = reindex([corpus_dir], tmp_path / "ix")
    assert (report.articles, report.added, report.removed) == (5, 5, 0)
    assert report.paragraphs == 3 + 2 + 2 + 2 + 1
    assert all_ids(tmp_path / "ix") == {"london", "sport/cup-final", "wire-1", "wire-2", "wire-3"}
    info = store.current_generation(tmp_path / "ix").info()
    assert info["articles"] == 5 and info["paragraphs"] == 10


def test_unchanged_corpus_does_no_work(index_dir, corpus_dir):
    before = store.current_generation(index_dir)
    report = reindex([corpus_dir], index_dir)
    assert report.generation is None
    assert (report.files_read, report.files_unchanged) == (0, 3)
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    assert report.articles == 5
    assert store.current_generation(index_dir) == before
    assert "no changes" in report.summary()


def test_added_changed_and_deleted_files(index_dir, corpus_dir):
    (corpus_dir / "new.txt").write_text("Volcano erupts\n\nLava flowed into the sea.\n")
    (corpus_dir / "london.txt").write_text("date 2017-03-23 Police reopened the bridge.\n")
    (corpus_dir / "sport" / "cup-final.txt").unlink()
    report = reindex([corpus_dir], index_dir)
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    assert (report.files_read, report.files_unchanged) == (2, 1)
    assert ids_for(index_dir, "lava") == {"new"}
    assert ids_for(index_dir, "bridge") == {"london"}
    assert ids_for(index_dir, "ambulance") == set()  # the old london text is gone
    assert ids_for(index_dir, "rovers") == set()
    assert report.paragraphs == 10 - 3 + 1 - 2 + 1
    assert store.current_generation(index_dir).info()["paragraphs"] == report.paragraphs


def rewrite_jsonl(corpus_dir: Path, records) -> None:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    (corpus_dir / "wire.jsonl").write_text("\n".join(lines) + "\n")


def test_only_changed_records_are_rewritten(index_dir, corpus_dir):
    from tests.conftest import JSONL_RECORDS

    changed = dict(JSONL_RECORDS[1], body="The central bank slashed interest rates.")
    rewrite_jsonl(corpus_dir, [JSONL_RECORDS[0], changed])
    report = reindex([corpus_dir], index_dir)
    assert (report.added, report.updated, report.removed) == (0, 1, 1)
    assert ids_for(index_dir, "slashed") == {"wire-2"}
    assert ids_for(index_dir, "unchanged") == set()
    assert "wire-3" not in all_ids(index_dir)


def test_a_broken_record_keeps_its_indexed_copy(index_dir, corpus_dir):
    from tests.conftest import JSONL_RECORDS

    broken = '{"id": "wire-2", "body": broken'
    rewrite_jsonl(corpus_dir, [JSONL_RECORDS[0], broken, JSONL_RECORDS[2]])
    report = reindex([corpus_dir], index_dir)
    assert len(report.skipped) == 1 and "not valid JSON" in report.skipped[0].reason
    assert report.removed == 0
    assert {"wire-1", "wire-2", "wire-3"} <= all_ids(index_dir)
    # Once the file reads cleanly without it, the record goes.
    rewrite_jsonl(corpus_dir, [JSONL_RECORDS[0], JSONL_RECORDS[2]])
    assert reindex([corpus_dir], index_dir).removed == 1
    assert "wire-2" not in all_ids(index_dir)


def test_duplicate_ids_keep_the_first(index_dir, corpus_dir):
    dup = {"id": "wire-1", "title": "Impostor", "body": "Impostor text."}
    (corpus_dir / "more.jsonl").write_text(json.dumps(dup) + "\n")
    report = reindex([corpus_dir], index_dir)
    assert [("duplicate id" in p.reason) for p in report.skipped] == [True]
    assert ids_for(index_dir, "impostor") == set()


def test_full_rebuild_replaces_everything(index_dir, corpus_dir):
    (corpus_dir / "wire.jsonl").unlink()
    report = reindex([corpus_dir], index_dir, full=True)
    assert (report.articles, report.added) == (2, 2)
    assert all_ids(index_dir) == {"london", "sport/cup-final"}


def test_missing_corpus_changes_nothing(index_dir, tmp_path):
    before = store.current_generation(index_dir)
    with pytest.raises(FileNotFoundError):
        reindex([tmp_path / "gone"], index_dir)
    assert store.current_generation(index_dir) == before


def test_empty_corpus_gives_an_empty_servable_index(tmp_path):
    (tmp_path / "empty").mkdir()
    report = reindex([tmp_path / "empty"], tmp_path / "ix")
    assert report.articles == 0
    assert all_ids(tmp_path / "ix") == set()


def test_stored_article_round_trips(index_dir):
    article = get_article(IndexHandle(index_dir).snapshot(), "wire-1")
    assert article.title == "Cocoa prices rise on drought fears"
    assert article.extra == {"topics": ["cocoa"]}
    assert article.paragraphs[1].startswith("Traders said")


def test_an_index_from_an_incompatible_version_is_rebuilt_in_full(index_dir, corpus_dir):
    for toc in store.current_generation(index_dir).path.glob("*/_MAIN_*.toc"):
        toc.write_bytes(toc.read_bytes().replace(b"NltkTokenizer", b"GoneTokenizer"))
    (corpus_dir / "new.txt").write_text("Volcano erupts\n\nLava reached the sea.\n")
    report = reindex([corpus_dir], index_dir)
    assert report.added == 6 and not report.skipped
    assert "another version of searchsvc; rebuilt in full" in report.problems[0].reason
    assert ids_for(index_dir, "lava") == {"new"}
