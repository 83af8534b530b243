"""Faults met during a reindex: a file that changes while it is read, a full disk.

Either way the index served before keeps serving, the run says what went
wrong (a skipped problem, exit 3; or store.ReindexFailed, one line, exit 1),
nothing half-built is left behind, and the next run ends equal to a full build.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reindex_support import generation_dirs, index_contents
from reliability_support import write_filler

from searchsvc.index import indexer, store
from searchsvc.index.indexer import reindex

RECORDS = 300  # about 60 KB: more than one read buffer, so a reader can be cut mid-file


def wire_lines(word: str, count: int = RECORDS) -> str:
    return "".join(
        json.dumps({"id": f"w{n}", "title": f"{word} story {n}", "body": f"The {word} rose {n}."})
        + "\n"
        for n in range(count)
    )


def cut_while_read(monkeypatch, path: Path, final: str) -> None:
    """`cp final path` racing the reader: truncated after its first record, then rewritten."""
    real = indexer.iter_file

    def iter_file(corpus_file, digest=None):
        items = real(corpus_file, digest)
        if corpus_file.path != path:
            yield from items
            return
        yield next(items)
        os.truncate(path, 0)  # the reader's next read of the disk finds the end of the file
        yield from items
        path.write_text(final, "utf-8")

    monkeypatch.setattr(indexer, "iter_file", iter_file)


@pytest.fixture
def wire(tmp_path) -> tuple[Path, Path, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "wire.jsonl").write_text(wire_lines("cocoa"), "utf-8")
    (corpus / "other.txt").write_text("Other\n\nAn unrelated article.\n", "utf-8")
    reindex([corpus], index)
    return corpus, index, corpus / "wire.jsonl"


@pytest.mark.parametrize("final", ["coffee", "cocoa"])  # new text, or the same bytes again
def test_a_file_rewritten_while_read_keeps_its_indexed_copy(wire, monkeypatch, final):
    corpus, index, path = wire
    before = index_contents(index)
    path.write_text(wire_lines("coffee"), "utf-8")  # changed, so the run reads it
    cut_while_read(monkeypatch, path, wire_lines(final))
    report = reindex([corpus], index)
    (problem,) = [p for p in report.skipped if "changed while it was read" in p.reason]
    assert problem.origin == str(path)
    assert index_contents(index) == before
    assert len(report.kept) == RECORDS

    monkeypatch.undo()
    settled = reindex([corpus], index)
    assert not settled.problems
    assert index_contents(index)["articles"] == full_build(corpus, index)["articles"]
    assert (final == "cocoa") == (settled.generation is None)


@pytest.mark.parametrize("served_before", [False, True])
def test_a_full_build_that_meets_a_changing_file(tmp_path, monkeypatch, served_before):
    """The issue's case: `cp` over the file during `reindex --full`; it ends byte-identical."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    path = corpus / "wire.jsonl"
    path.write_text(wire_lines("cocoa"), "utf-8")
    if served_before:
        reindex([corpus], index)
        before = index_contents(index)
    cut_while_read(monkeypatch, path, wire_lines("cocoa"))
    report = reindex([corpus], index, full=True)
    assert [p.origin for p in report.skipped] == [str(path)]
    if served_before:  # what was served stays served: copied into the new generation
        assert index_contents(index) == before
        assert len(report.kept) == RECORDS
    else:  # nothing half-read is indexed
        assert report.articles == 0
    monkeypatch.undo()
    again = reindex([corpus], index)
    assert (again.articles, again.problems) == (RECORDS, [])
    assert index_contents(index) == full_build(corpus, index)


def test_the_command_exits_3_and_names_the_file(wire, monkeypatch):
    from click.testing import CliRunner

    from searchsvc.cli import main

    corpus, index, path = wire
    path.write_text(wire_lines("coffee"), "utf-8")
    cut_while_read(monkeypatch, path, wire_lines("tea"))
    args = ["reindex", "--corpus", str(corpus), "--index", str(index)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    assert f"skipped: {path}: changed while it was read" in result.output
    monkeypatch.undo()
    assert CliRunner().invoke(main, args).exit_code == 0


def full_build(corpus: Path, index: Path) -> dict:
    full = index.parent / "full"
    reindex([corpus], full, full=True)
    return index_contents(full)


# A full disk.


class DiskFull:
    """Whoosh's files fail with ENOSPC once `budget` bytes were written into them."""

    def __init__(self, budget: int):
        self.left = budget

    def wrap(self, real_create):
        def create_file(storage, name, *args, **kwargs):
            structfile = real_create(storage, name, *args, **kwargs)
            structfile.file = _FailingFile(structfile.file, self)
            return structfile

        return create_file


class _FailingFile:
    def __init__(self, real, disk: DiskFull):
        self.real, self.disk = real, disk

    def write(self, data):
        self.disk.left -= len(data)
        if self.disk.left < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)


def assert_unharmed(index: Path, served: str, before: dict) -> None:
    assert store.current_generation(index).name == served
    assert generation_dirs(index) == ([served], []), "the partial generation is still there"
    assert index_contents(index) == before


@pytest.mark.parametrize("budget", [0, 4_000, 40_000])
def test_disk_full_in_the_index_writers(wire, monkeypatch, budget):
    from whoosh.filedb.filestore import FileStorage

    corpus, index, path = wire
    served, before = store.current_generation(index).name, index_contents(index)
    path.write_text(wire_lines("coffee"), "utf-8")
    monkeypatch.setattr(FileStorage, "create_file", DiskFull(budget).wrap(FileStorage.create_file))
    with pytest.raises(store.ReindexFailed) as failure:
        reindex([corpus], index)
    message = str(failure.value)
    assert "No space left on device" in message and "\n" not in message
    assert "still serves" in message
    assert_unharmed(index, served, before)
    monkeypatch.undo()
    assert reindex([corpus], index).updated == RECORDS


def test_disk_full_when_syncing(wire, monkeypatch):
    corpus, index, path = wire
    served, before = store.current_generation(index).name, index_contents(index)
    path.write_text(wire_lines("coffee"), "utf-8")

    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store.os, "fsync", fsync)
    with pytest.raises(store.ReindexFailed, match="No space left on device"):
        reindex([corpus], index)
    monkeypatch.undo()
    assert_unharmed(index, served, before)


RUN_LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from searchsvc.index import store
    from searchsvc.index.indexer import reindex
    corpus, index, limit = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        reindex([corpus], index)
    except store.ReindexFailed as error:
        print(error)
        sys.exit(1)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("articles", [200, 1_500])  # the article index written here, or by a child
def test_a_real_write_failure_leaves_the_old_index_serving(tmp_path, articles):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_filler(corpus, files=1, per_file=10)
    reindex([corpus], index)
    served, before = store.current_generation(index).name, index_contents(index)
    write_filler(corpus, files=1, per_file=articles, seed=8)
    limited = subprocess.run(
        [sys.executable, "-c", RUN_LIMITED, str(corpus), str(index), str(64 * 1024)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert limited.returncode == 1, limited.stderr
    assert "Traceback" not in limited.stderr
    (line,) = limited.stdout.splitlines()
    assert line.startswith("reindex failed: ") and "File too large" in line
    assert_unharmed(index, served, before)
    report = reindex([corpus], index)
    assert report.articles == articles
    assert index_contents(index)["articles"] == full_build(corpus, index)["articles"]
