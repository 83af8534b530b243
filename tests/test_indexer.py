"""Incremental reindex: new, changed and deleted files and records, found by content hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchsvc.engine.embedded.snapshot import IndexHandle
from searchsvc.index import store
from searchsvc.index.indexer import reindex
from searchsvc.search import SearchRequest, get_article, search

EVERY_ID = {"london", "sport/cup-final", "wire-1", "wire-2", "wire-3"}


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


@pytest.mark.parametrize(
    "broken",
    [
        '{"id": "wire-2", "body": broken',  # an edit gone wrong: its id is still legible
        '{"id": "wire-2", "body": ""}',  # no text any more
        '{"id": "wire-2", "body": null}',
        json.dumps({"id": "wire-2", "body": "x" * 11 * 2**20}),  # over 10 MB
    ],
)
def test_a_broken_record_keeps_its_indexed_copy(index_dir, corpus_dir, broken):
    from tests.conftest import JSONL_RECORDS

    rewrite_jsonl(corpus_dir, [JSONL_RECORDS[0], broken, JSONL_RECORDS[2]])
    report = reindex([corpus_dir], index_dir)
    assert len(report.skipped) == 1 and report.skipped[0].article_id == "wire-2"
    assert (report.removed, report.kept) == (0, ["wire-2"])
    assert ids_for(index_dir, "economists") == {"wire-2"}  # the old text, still served
    # Once the file reads cleanly without it, the record goes.
    rewrite_jsonl(corpus_dir, [JSONL_RECORDS[0], JSONL_RECORDS[2]])
    assert reindex([corpus_dir], index_dir).removed == 1
    assert "wire-2" not in all_ids(index_dir)


@pytest.mark.parametrize(
    ("name", "impostor_wins"),
    [("more.jsonl", True), ("zz.jsonl", False), ("wire.jsonl.d/x.jsonl", False)],
)
def test_the_path_that_sorts_first_owns_a_duplicate_id(index_dir, corpus_dir, name, impostor_wins):
    """Whatever was indexed first: incremental and full builds pick the same copy."""
    dup = {"id": "wire-1", "title": "Impostor", "body": "Impostor text."}
    (corpus_dir / name).parent.mkdir(exist_ok=True)
    (corpus_dir / name).write_text(json.dumps(dup) + "\n")
    report = reindex([corpus_dir], index_dir)
    (problem,) = report.skipped
    assert "duplicate id 'wire-1'" in problem.reason
    loser = "wire.jsonl:1" if impostor_wins else f"{name}:1"
    assert problem.origin == str(corpus_dir / loser)
    expected = {"wire-1"} if impostor_wins else set()
    assert ids_for(index_dir, "impostor") == expected
    assert ids_for(reindex_full_copy(corpus_dir, index_dir), "impostor") == expected


def reindex_full_copy(corpus_dir: Path, index_dir: Path) -> Path:
    full = index_dir.parent / "full"
    reindex([corpus_dir], full, full=True)
    return full


def test_renaming_a_file_keeps_its_articles(index_dir, corpus_dir):
    (corpus_dir / "wire.jsonl").rename(corpus_dir / "wire-1987.jsonl")
    report = reindex([corpus_dir], index_dir)
    assert (report.added, report.updated, report.removed, report.problems) == (0, 0, 0, [])
    assert all_ids(index_dir) == EVERY_ID
    again = reindex([corpus_dir], index_dir)
    assert again.generation is None and all_ids(index_dir) == EVERY_ID


def test_moving_the_corpus_folder_reads_nothing_again(index_dir, corpus_dir, tmp_path):
    moved = tmp_path / "elsewhere" / "corpus"
    moved.parent.mkdir()
    corpus_dir.rename(moved)
    report = reindex([moved], index_dir)
    assert (report.files_read, report.files_unchanged) == (0, 3)
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    assert all_ids(index_dir) == EVERY_ID
    assert reindex([moved], index_dir).generation is None  # the new paths were recorded


def test_renaming_a_text_file_changes_its_id(index_dir, corpus_dir):
    (corpus_dir / "sport" / "cup-final.txt").rename(corpus_dir / "sport" / "final.txt")
    report = reindex([corpus_dir], index_dir)
    assert (report.added, report.removed) == (1, 1)
    assert ids_for(index_dir, "rovers") == {"sport/final"}


def test_a_record_moved_into_a_file_that_sorts_earlier_stays(index_dir, corpus_dir):
    from tests.conftest import JSONL_RECORDS

    rewrite_jsonl(corpus_dir, JSONL_RECORDS[:2])
    (corpus_dir / "a.jsonl").write_text(json.dumps(JSONL_RECORDS[2]) + "\n")
    report = reindex([corpus_dir], index_dir)
    assert (report.added, report.updated, report.removed, report.problems) == (0, 0, 0, [])
    assert all_ids(index_dir) == EVERY_ID


def test_deleting_the_owner_of_a_duplicate_id_indexes_the_other_copy(index_dir, corpus_dir):
    dup = {"id": "wire-1", "title": "Impostor", "body": "Impostor text."}
    (corpus_dir / "zz.jsonl").write_text(json.dumps(dup) + "\n")
    assert len(reindex([corpus_dir], index_dir).skipped) == 1
    (corpus_dir / "wire.jsonl").unlink()
    report = reindex([corpus_dir], index_dir)
    assert (report.added, report.updated, report.removed, report.problems) == (0, 1, 2, [])
    assert ids_for(index_dir, "impostor") == {"wire-1"}


@pytest.mark.parametrize(
    "bad_line",
    ['{"id": "empty", "body": ""}', '{"id": "wire-9", "body": broken', "%%% not json", "[1, 2]"],
)
def test_a_bad_record_does_not_block_removals(index_dir, corpus_dir, bad_line):
    from tests.conftest import JSONL_RECORDS

    rewrite_jsonl(corpus_dir, [JSONL_RECORDS[0], bad_line, JSONL_RECORDS[1]])
    report = reindex([corpus_dir], index_dir)
    assert len(report.skipped) == 1 and report.removed == 1
    assert "wire-3" not in all_ids(index_dir)


def test_problems_are_reported_again_while_they_last(index_dir, corpus_dir):
    (corpus_dir / "bad.jsonl").write_text('{"id": "x", "body": ""}\n')
    first = reindex([corpus_dir], index_dir)
    again = reindex([corpus_dir], index_dir)
    assert again.generation is None and again.files_read == 0
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems]
    assert [p.origin for p in again.skipped] == [str(corpus_dir / "bad.jsonl:1")]


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


def test_cli_finds_a_renamed_files_articles(tmp_path):
    """Through the command line: rename a file, reindex, search, every step exit 0."""
    from click.testing import CliRunner

    from searchsvc.cli import main
    from tests.conftest import write_corpus

    corpus, index = write_corpus(tmp_path / "corpus"), tmp_path / "index"
    runner = CliRunner()
    args = ["reindex", "--corpus", str(corpus), "--index", str(index)]
    assert runner.invoke(main, args).exit_code == 0
    (corpus / "wire.jsonl").rename(corpus / "wire-1987.jsonl")
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "0 added, 0 updated, 0 removed" in result.output
    found = runner.invoke(main, ["search", "cocoa drought", "--index", str(index)])
    assert found.exit_code == 0, found.output
    assert "[wire-1]" in found.output
