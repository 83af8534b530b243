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
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reindex_support import full_build_beside, generation_dirs, index_contents

from searchsvc.index import indexer, store
from searchsvc.index.indexer import reindex
from searchsvc.ingest.corpus import CorpusFile, Unreachable, discover, read_file
from searchsvc.model.articles import Article


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


# Links: one file, one name; every other way to it is reported.


def _file_link(corpus: Path) -> None:
    write(corpus / "2017/a.txt", "Cocoa\n\nCocoa rose.\n")
    os.symlink("2017/a.txt", corpus / "01-latest.txt")  # sorts first: it named the article


def _folder_link(corpus: Path) -> None:
    write(corpus / "2017/a.txt", "Cocoa\n\nCocoa rose.\n")
    write(corpus / "2017/b.jsonl", jsonl({"id": "j1", "body": "Oil fell."}))
    os.symlink("2017", corpus / "01-latest")


def _text_name_for_json(corpus: Path) -> None:
    write(corpus / "y.jsonl", jsonl({"id": "j1", "body": "Oil."}, {"id": "j2", "body": "Yen."}))
    os.symlink("y.jsonl", corpus / "x.txt")  # was read as one text article "x"


def _hidden_target(corpus: Path) -> None:
    write(corpus / ".store/a.txt", "Cocoa\n\nCocoa rose.\n")
    os.symlink(".store", corpus / "current")  # the only way to it: followed


def _two_links_to_hidden(corpus: Path) -> None:
    _hidden_target(corpus)
    os.symlink(".store/a.txt", corpus / "b.txt")


def _symlink_loop(corpus: Path) -> None:
    write(corpus / "a.jsonl", jsonl({"id": "j1", "body": "Oil."}))
    os.symlink("loop2.jsonl", corpus / "loop1.jsonl")  # crashed every run, --full too
    os.symlink("loop1.jsonl", corpus / "loop2.jsonl")


def _link_fan(corpus: Path) -> None:
    """Two links per level to the next level: 2^12 ways to one file, walked in turn."""
    write(corpus / ".l12/a.txt", "Cocoa\n\nCocoa rose.\n")
    for level in range(12):
        for name in ("p", "q"):
            os.symlink(f"../.l{level + 1}", write(corpus / f".l{level}/x", "").parent / name)
    os.symlink(".l0", corpus / "fan")


LINK = "01-latest.txt: a link to 2017/a.txt, read there"


@pytest.mark.parametrize(
    ("make", "roots", "ids", "reported"),
    [
        (_file_link, [""], {"2017/a"}, [LINK]),
        (_folder_link, [""], {"2017/a", "j1"}, ["01-latest: a link to the folder 2017"]),
        (_text_name_for_json, [""], {"j1", "j2"}, ["x.txt: a link to y.jsonl"]),
        (_hidden_target, [""], {"current/a"}, []),
        (_two_links_to_hidden, [""], {"b"}, ["current/a.txt: same file as"]),
        (_symlink_loop, [""], {"j1"}, ["loop1.jsonl: cannot be read", "loop2.jsonl: cannot"]),
        (_file_link, ["", "2017"], {"2017/a"}, [LINK, "2017/a.txt: reached again through another"]),
        (_file_link, ["2017", ""], {"a"}, [LINK, "2017/a.txt: reached again through another"]),
        (_file_link, ["", ""], {"2017/a"}, [LINK, LINK, "2017/a.txt: reached again through"]),
        (_folder_link, ["2017/.."], {"2017/a", "j1"}, ["01-latest: a link to the folder 2017"]),
    ],
)
def test_a_file_reached_several_ways_is_read_once_and_the_others_reported(
    corpus, index, make, roots, ids, reported
):
    make(corpus)
    paths = [corpus / root for root in roots]
    for _run in range(2):  # a first build, then an incremental run over it
        report = reindex(paths, index)
        assert set(texts(index)) == ids
        for expected in reported:
            assert any(expected in reason for reason in reasons(report)), reasons(report)
        assert len(report.skipped) == len(reported), reasons(report)
    assert_agrees_with_full(paths, index)


def test_links_that_fan_out_are_walked_once(corpus, index):
    """2^12 ways to one folder: each real folder is walked once, the others reported."""
    _link_fan(corpus)
    report = reindex([corpus], index)
    assert set(texts(index)) == {"fan/" + "p/" * 12 + "a"}
    assert len(report.skipped) == 12 and all("a link to the folder" in r for r in reasons(report))


def test_a_removed_link_gives_the_article_back_its_own_name(corpus, index):
    _file_link(corpus)
    reindex([corpus], index)
    (corpus / "01-latest.txt").unlink()
    report = reindex([corpus], index)
    assert (set(texts(index)), report.skipped) == ({"2017/a"}, [])


# Folders and files that cannot be looked at: the index keeps what it had.


def test_an_unlisted_folder_yields_the_files_remembered_in_it(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    write(corpus / "a.jsonl", "{}\n")
    kept = write(corpus / "desk/b.jsonl", "{}\n")
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == corpus / "desk":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    remembered = {corpus.resolve() / "desk": [kept.resolve(), corpus.resolve() / "desk/gone.jsonl"]}
    items = list(discover([corpus], lambda folder: remembered.get(folder, [])))
    assert [(type(i).__name__, getattr(i, "key", None)) for i in items] == [
        ("Problem", None),
        ("CorpusFile", "a.jsonl"),
        ("CorpusFile", "desk/b.jsonl"),
    ]
    assert "folder cannot be listed: Permission denied" in items[0].reason


def test_a_file_that_cannot_be_looked_at_comes_in_its_place(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        write(corpus / name, "{}\n")
    real_stat = Path.stat

    def stat(self, *args, **kwargs):
        if self.name == "b.jsonl":
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    items = list(discover([corpus]))
    assert [type(i).__name__ for i in items] == ["CorpusFile", "Unreachable", "CorpusFile"]
    assert isinstance(items[1], Unreachable) and items[1].file.key == "b.jsonl"


RESTRICTED = (
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
)


def _restricted() -> list[str] | None:
    """A command prefix under which file permissions apply, as for any service user."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv and subprocess.run([setpriv, *RESTRICTED, "true"]).returncode == 0:
        return [setpriv, *RESTRICTED]
    return None


RUN = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from searchsvc.index.indexer import reindex
    report = reindex([Path(sys.argv[1])], Path(sys.argv[2]), full=sys.argv[3] == "full")
    print(json.dumps([str(p) for p in report.skipped]))
    """
)


def restricted_reindex(corpus: Path, index: Path, full: bool = False) -> list[str]:
    prefix = _restricted()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions cannot be taken away")
    command = [*prefix, sys.executable, "-c", RUN, str(corpus), str(index), "full" * full]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "mode", "reported"),
    [
        ("desk", 0o111, "desk: folder cannot be listed: Permission denied"),  # listing only
        ("desk", 0o000, "desk: folder cannot be listed: Permission denied"),
        ("desk", 0o444, "desk/d.jsonl: cannot be read: Permission denied"),  # no stat
        ("desk/d.jsonl", 0o000, "desk/d.jsonl: cannot be read: Permission denied"),
        (".", 0o000, "corpus: folder cannot be listed: Permission denied"),  # the whole corpus
    ],
)
def test_what_cannot_be_looked_at_keeps_its_articles(
    tmp_path, corpus, index, target, mode, reported
):
    write(corpus / "top.jsonl", jsonl({"id": "a", "body": "Cocoa rose."}))
    write(corpus / "desk/d.jsonl", jsonl({"id": "b", "body": "Oil fell."}))
    write(corpus / "desk/late/e.txt", "Yen\n\nYen rose.\n")
    (tmp_path / "index").mkdir(mode=0o777)
    restricted_reindex(corpus, index)
    before = texts(index)
    os.chmod(corpus / target, mode)
    try:
        skipped = restricted_reindex(corpus, index)
        assert texts(index) == before, skipped  # none of it was lost
        assert any(reported in reason for reason in skipped), skipped
        beside = tmp_path / "full"
        shutil.copytree(index, beside)
        os.chmod(beside, 0o777)
        restricted_reindex(corpus, beside, full=True)
        assert index_contents(beside) == index_contents(index)
    finally:
        os.chmod(corpus / target, 0o755 if target != "desk/d.jsonl" else 0o644)
    assert reindex([corpus], index).skipped == []
    assert_agrees_with_full([corpus], index)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["corpus", "corpus/a.jsonl"])
def test_a_corpus_path_in_a_folder_it_may_not_search_is_one_line_exit_1(tmp_path, target):
    prefix = _restricted()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions cannot be taken away")
    write(tmp_path / "locked/corpus/a.jsonl", jsonl({"id": "x", "body": "Cocoa rose."}))
    (tmp_path / "index").mkdir(mode=0o777)
    os.chmod(tmp_path / "locked", 0)
    try:
        command = [*prefix, sys.executable, "-m", "searchsvc", "reindex", "--index"]
        command += [str(tmp_path / "index"), "--corpus", str(tmp_path / "locked" / target)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(tmp_path / "locked", 0o755)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("Error: reindex failed: Permission denied: ")
    assert len(done.stderr.splitlines()) == 1


def test_an_unreadable_file_keeps_its_unreadable_records_copies_in_a_full_build_too(
    corpus, index, monkeypatch
):
    """A file that cannot be read keeps all it gave the index, kept copies included."""
    write(corpus / "a.txt", "Cocoa\n\nCocoa rose.\n")
    write(corpus / "b.jsonl", jsonl({"id": "x", "body": "Oil fell."}, {"id": "y", "body": "Y."}))
    reindex([corpus], index)
    write(corpus / "b.jsonl", jsonl({"id": "x", "body": ""}, {"id": "y", "body": "Y."}))
    assert reindex([corpus], index).kept == ["x"]  # no text now: the indexed copy stays
    real_open = Path.open

    def open_(self, *args, **kwargs):
        if self.name == "b.jsonl":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    report = reindex([corpus], index)
    assert sorted(report.kept) == ["x", "y"] and set(texts(index)) == {"a", "x", "y"}
    _full_report, full = full_build_beside([corpus], index)
    assert index_contents(index) == full
