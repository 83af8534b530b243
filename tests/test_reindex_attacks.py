"""File operations an operator or an adversary performs on a corpus, then a reindex.

Each case once lost or hid articles silently, crashed the run, or made an
incremental reindex and a full one disagree. After each, the run reports what
it could not do (exit 3), a full build of the same files on a copy of the
served index holds the same articles, and nothing is left behind.
"""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path

import pytest
from reindex_support import full_build_beside, generation_dirs, index_contents

from searchsvc import indexer, store
from searchsvc.articles import Article
from searchsvc.corpus import CorpusFile, read_file
from searchsvc.indexer import reindex


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def texts(index: Path) -> dict[str, list[str]]:
    """Every served article's paragraphs, by id."""
    return {i: e["record"]["paragraphs"] for i, e in index_contents(index)["articles"].items()}


def reasons(report) -> list[str]:
    return [str(problem) for problem in report.skipped]


def assert_agrees_with_full(roots: list[Path], index: Path) -> None:
    _report, full = full_build_beside(roots, index)
    assert index_contents(index) == full
    assert not generation_dirs(index)[1]


@pytest.fixture
def corpus(tmp_path) -> Path:
    return tmp_path / "corpus"


@pytest.fixture
def index(tmp_path) -> Path:
    return tmp_path / "index"


# Readers.


@pytest.mark.parametrize(
    ("line", "article_id"),
    [
        ('{"meta": {"id": "y"}, "id": "x", "body": "cut sh', "x"),  # not the nested one
        ('{"x": "id", "id": "q", "body": ', "q"),  # "id" as a value is not the key
        ('{"a": "}", "id": "z", "body": ', "z"),
        ('{"a": "\\"{", "id": "z2", "body": ', "z2"),
        ('{"id": "a", "id": "b", "body": ', "b"),  # json.loads keeps the last
        ('[{"id": "n"}, ', None),
        ('{"meta": {"id": "y"}, "body": "x', None),
    ],
)
def test_a_broken_record_is_known_by_its_own_id(tmp_path, line, article_id):
    path = write(tmp_path / "w.jsonl", line + "\n")
    (problem,) = [p for p in read_file(CorpusFile(path, "w.jsonl")) if p.skipped]
    assert problem.article_id == article_id


def test_a_broken_record_keeps_its_own_article_not_a_nested_id(corpus, index):
    write(corpus / "a.jsonl", jsonl({"id": "x", "body": "Cocoa rose."}))
    write(corpus / "b.jsonl", jsonl({"id": "y", "body": "Oil fell."}))
    reindex([corpus], index)
    (corpus / "b.jsonl").unlink()
    write(corpus / "a.jsonl", '{"meta": {"id": "y"}, "id": "x", "body": "Cocoa ro\n')
    report = reindex([corpus], index)
    assert (set(texts(index)), report.kept) == ({"x"}, ["x"])


@pytest.mark.parametrize(
    ("encoding", "mark"),
    [
        ("utf-16", b""),  # Python's utf-16 and utf-32 begin with a byte order mark
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32", b""),
        ("utf-32-be", codecs.BOM_UTF32_BE),
    ],
)
def test_unicode_text_with_a_byte_order_mark_is_read_as_such(tmp_path, encoding, mark):
    """Windows editors save "Unicode" text so; it was indexed as cp1252 with NUL bytes."""
    text = "Cocoa prices\n\nCocoa rose in Bahia, São Paulo said.\n"
    path = tmp_path / "a.txt"
    path.write_bytes(mark + text.encode(encoding))
    items = list(read_file(CorpusFile(path, "a.txt")))
    (article,) = [item for item in items if isinstance(item, Article)]
    assert (article.title, article.paragraphs) == ("Cocoa prices", [text.split("\n")[2]])


def test_both_body_and_paragraphs_is_a_warning(tmp_path):
    record = {"id": "x", "body": "Cocoa rose.", "paragraphs": ["Lost text."]}
    path = write(tmp_path / "w.jsonl", jsonl(record))
    (problem,) = [p for p in read_file(CorpusFile(path, "w.jsonl")) if hasattr(p, "reason")]
    assert not problem.skipped and '"paragraphs" ignored' in problem.reason


# A corpus path that is not UTF-8.


def test_a_corpus_folder_whose_name_is_not_utf8(tmp_path, index):
    corpus = tmp_path / os.fsdecode(b"caf\xe9")
    write(corpus / "a.jsonl", jsonl({"id": "x", "body": "Cocoa rose."}))
    assert reindex([corpus], index).added == 1  # the manifest could not be written
    assert reindex([corpus], index).generation is None  # and is read back
    moved = tmp_path / os.fsdecode(b"caf\xe9-2")
    corpus.rename(moved)
    write(moved / "b.jsonl", jsonl({"id": "y", "body": "Oil fell."}))
    assert reindex([moved], index).added == 1
    assert set(texts(index)) == {"x", "y"}
    assert_agrees_with_full([moved], index)


# A damaged manifest: valid JSON, wrong shape.


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: [],
        lambda m: {k: v for k, v in m.items() if k != "files"},
        lambda m: {**m, "files": None},
        lambda m: {**m, "articles": ["x"]},
        lambda m: {**m, "paragraphs": "many"},
        lambda m: {**m, "files": {k: {**e, "records": [["x"]]} for k, e in m["files"].items()}},
        lambda m: {**m, "files": {k: {"hash": e["hash"]} for k, e in m["files"].items()}},
    ],
)
@pytest.mark.parametrize("full", [False, True])
def test_a_damaged_manifest_means_a_full_rebuild_not_a_crash(corpus, index, damage, full):
    write(corpus / "a.jsonl", jsonl({"id": "x", "body": "Cocoa rose."}))
    reindex([corpus], index)
    path = store.current_generation(index).path / "manifest.json"
    path.write_text(json.dumps(damage(json.loads(path.read_text("utf-8")))), "utf-8")
    write(corpus / "b.jsonl", jsonl({"id": "y", "body": "Oil fell."}))
    report = reindex([corpus], index, full=full)
    assert set(texts(index)) == {"x", "y"} and report.skipped == []
    assert full or any("manifest cannot be read" in p.reason for p in report.problems)
    assert reindex([corpus], index).generation is None


# A failed swap leaves nothing behind.


def test_a_failure_writing_the_pointer_leaves_no_pointer_file(corpus, index, monkeypatch):
    import errno

    write(corpus / "a.jsonl", jsonl({"id": "x", "body": "Cocoa rose."}))
    reindex([corpus], index)
    served = store.current_generation(index).name
    write(corpus / "b.jsonl", jsonl({"id": "y", "body": "Oil fell."}))

    def checkpoint(point):
        if point == "pointer":  # the pointer's temporary file is written, not yet renamed
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store, "checkpoint", checkpoint)
    with pytest.raises(store.ReindexFailed, match="still serves"):
        reindex([corpus], index)
    assert list(index.glob(".pointer-*")) == []
    assert generation_dirs(index) == ([served], [])


# A file that changes while it is read, after it was renamed or its folder moved.


def changing_while_read(monkeypatch, path: Path) -> None:
    """The reader of `path` sees its first bytes only; before and after, it is whole."""
    real = indexer.iter_file
    final = path.read_text("utf-8")

    def iter_file(corpus_file, digest=None):
        if corpus_file.path != path:
            yield from real(corpus_file, digest)
            return
        path.write_text(final[:12], "utf-8")
        yield from real(corpus_file, digest)
        path.write_text(final, "utf-8")

    monkeypatch.setattr(indexer, "iter_file", iter_file)


WIRE = jsonl({"id": "x", "body": "Cocoa rose."}, {"id": "y", "body": "Oil fell."})


def _moved_corpus(tmp_path: Path, corpus: Path) -> tuple[Path, Path]:
    moved = tmp_path / "corpus-1987"
    corpus.rename(moved)
    return moved, write(moved / "wire.jsonl", WIRE + "\n")  # appended to: read again


def _renamed_file(tmp_path: Path, corpus: Path) -> tuple[Path, Path]:
    (corpus / "wire.jsonl").rename(corpus / "wire-1987.jsonl")
    return corpus, write(corpus / "wire-1987.jsonl", WIRE + "\n")


def _renamed_unchanged(tmp_path: Path, corpus: Path) -> tuple[Path, Path]:
    """Known by its content, and read only to write the owner's copy of "x"."""
    (corpus / "a.jsonl").unlink()
    (corpus / "wire.jsonl").rename(corpus / "wire-1987.jsonl")
    return corpus, corpus / "wire-1987.jsonl"


@pytest.mark.parametrize("move", [_moved_corpus, _renamed_file, _renamed_unchanged])
def test_a_moved_file_that_changes_while_read_keeps_its_articles(
    tmp_path, corpus, index, monkeypatch, move
):
    write(corpus / "a.jsonl", jsonl({"id": "x", "body": "Cocoa fell."}))  # owns "x"
    write(corpus / "wire.jsonl", WIRE)
    write(corpus / "other.jsonl", jsonl({"id": "z", "body": "Yen rose."}))
    reindex([corpus], index)
    before = texts(index)
    root, path = move(tmp_path, corpus)
    changing_while_read(monkeypatch, path)
    report = reindex([root], index)
    assert [p.origin for p in report.skipped] == [str(path)]
    assert texts(index) == before  # "what was indexed from it is kept"
    _full_report, full = full_build_beside([root], index)
    assert index_contents(index) == full  # a full build meeting the same file agrees

    monkeypatch.undo()
    settled = reindex([root], index)
    assert all("duplicate id" in reason for reason in reasons(settled))
    assert_agrees_with_full([root], index)


def test_records_removed_from_a_file_still_there_go_despite_a_changing_file(
    tmp_path, corpus, index, monkeypatch
):
    """Only articles whose files are gone may be in the changing file: others are not kept."""
    write(corpus / "a.jsonl", jsonl({"id": "x", "body": "Cocoa fell."}, {"id": "v", "body": "V."}))
    write(corpus / "wire.jsonl", WIRE.replace('"x"', '"w"'))
    reindex([corpus], index)
    write(corpus / "a.jsonl", jsonl({"id": "x", "body": "Cocoa fell."}))
    root, path = _renamed_file(tmp_path, corpus)
    changing_while_read(monkeypatch, path)
    reindex([root], index)
    assert set(texts(index)) == {"x", "w", "y"}
