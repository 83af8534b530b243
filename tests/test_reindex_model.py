"""Model-based: after any file operations, an incremental reindex equals a full rebuild.

A Hypothesis state machine edits a small corpus (JSON Lines and text files,
nested folders) the way operators and tools do: create, append, rewrite in
place, truncate, rename, move a folder or the whole corpus, move records
between files, duplicate ids, break records, delete. After each reindex it
builds the same files from scratch and compares every article, every indexed
term, the paragraph index and the counts. The only allowed difference is the
documented one: an article whose record now cannot be read keeps its
previously indexed copy. Runs that are interrupted, or that meet a file
changing while it is read, must leave the served index as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from reindex_support import assert_consistent, generation_dirs, index_contents

from searchsvc.index import indexer, store
from searchsvc.index.indexer import reindex
from searchsvc.ingest.corpus import _DATE_LINE

IDS = tuple(f"n{n}" for n in range(7))
WORDS = "cocoa bank rates police storm harvest export union vote yen oil port".split()
FOLDERS = ("", "aa/", "desk/", "desk/late/", "zz/")
TOP_FOLDERS = ("aa", "desk", "zz")
STEMS = ("a", "m", "z")
POINTS = ("locked", "read", "generation", "json", "pointer", "swapped")

words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
paragraphs = st.lists(words.map(lambda w: w.capitalize() + "."), min_size=1, max_size=3)


@st.composite
def records(draw, ids=None):
    """A valid JSON Lines record: id, optional headline, date, source and extra fields."""
    record = {"id": draw(st.sampled_from(IDS) if ids is None else ids)}
    if draw(st.booleans()):
        record["title"] = draw(words)
    record["body"] = "\n\n".join(draw(paragraphs))
    date = draw(st.sampled_from([None, "1987", "1987-03", "1987-03-02", "2017-03-22T10:00:00"]))
    if date:
        record["date"] = date
    source = draw(st.sampled_from([None, "Reuters", "AP"]))
    if source:
        record["source"] = source
    if draw(st.booleans()):
        record["topics"] = draw(st.lists(st.sampled_from(WORDS[:4]), max_size=2))
    return record


@st.composite
def lines(draw):
    """One JSON Lines line: mostly valid records, sometimes broken ones or blank lines."""
    kind = draw(st.sampled_from(["record"] * 6 + ["no text", "broken", "garbage", "blank"]))
    if kind == "record":
        return json.dumps(draw(records()))
    if kind == "no text":
        return json.dumps({"id": draw(st.sampled_from(IDS)), "body": ""})
    if kind == "broken":  # cut after its id: readable enough to know whose record it was
        text = json.dumps(draw(records()))
        return text[: draw(st.integers(text.index(",") + 1, len(text) - 1))]
    return "%%% not json" if kind == "garbage" else ""


def text_article(draw) -> str:
    kind = draw(st.sampled_from(["headline", "plain", "dated", "empty"]))
    body = "\n\n".join(draw(paragraphs)) + "\n"
    if kind == "headline":
        return draw(words).capitalize() + "\n\n" + body
    if kind == "dated":
        return "date 1987-03-02 " + body
    return body if kind == "plain" else ""


@st.composite
def file_content(draw, suffix: str) -> str:
    if suffix == ".txt":
        return text_article(draw)
    return "".join(line + "\n" for line in draw(st.lists(lines(), min_size=1, max_size=4)))


def suffix_of(relative: str) -> str:
    return ".txt" if relative.endswith(".txt") else ".jsonl"


def valid_record(line: str) -> dict | None:
    """The model's own reading of a line: a record the index must hold, or None."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not record.get("body") and not record.get("title"):
        return None
    return record


class Interrupted(Exception):
    """Stands for a kill, a full disk or Ctrl-C at one point of a reindex."""


class ReindexModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="reindex-model-"))
        self.corpus = self.root / "corpus"
        self.corpus.mkdir()
        self.index = self.root / "index"
        self.served: dict | None = None  # what index A served after the last reindex
        self.rev = 0
        self.builds = 0

    def teardown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    # The corpus, as it is on disk.

    def paths(self, suffixes=(".jsonl", ".txt")) -> list[str]:
        """Corpus files by their path inside the corpus, in the order that decides ownership."""
        found = (p.relative_to(self.corpus).as_posix() for p in self.corpus.rglob("*"))
        return sorted(p for p in found if p.endswith(suffixes))

    def jsonl_paths(self) -> list[str]:
        return self.paths((".jsonl",))

    def write(self, relative: str, text: str) -> None:
        path = self.corpus / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():  # in place, as cp, > and rsync --inplace do: same inode
            with path.open("r+b") as f:
                f.write(text.encode("utf-8"))
                f.truncate()
        else:
            path.write_text(text, "utf-8")

    def read(self, relative: str) -> str:
        return (self.corpus / relative).read_text("utf-8")

    def stamped(self, text: str) -> str:
        """Each record made unique with a revision number, so a stale copy is told apart."""
        stamped = []
        for line in text.splitlines():
            if valid_record(line):
                self.rev += 1
                line = json.dumps({**json.loads(line), "rev": self.rev})
            stamped.append(line + "\n")
        return "".join(stamped)

    def free_paths(self, suffixes) -> list[str]:
        taken = set(self.paths())
        every = (f + s + x for x in suffixes for f in FOLDERS for s in STEMS)
        return [p for p in every if p not in taken]

    def new_path(self, data, suffixes=(".jsonl", ".jsonl", ".txt")) -> str | None:
        """A path no file has, in any of the folders; None when all 15 per suffix are taken."""
        free = self.free_paths(suffixes)
        return data.draw(st.sampled_from(free)) if free else None

    # File operations.

    @initialize(data=st.data())
    def a_first_corpus(self, data):
        for _ in range(data.draw(st.integers(1, 3))):
            self.create_file(data)
        self.reindex_and_compare()

    @rule(data=st.data())
    def create_file(self, data):
        relative = self.new_path(data)
        if relative is None:
            return
        self.write(relative, self.stamped(data.draw(file_content(suffix_of(relative)))))

    @precondition(lambda self: self.jsonl_paths())
    @rule(data=st.data())
    def append_records(self, data):
        relative = data.draw(st.sampled_from(self.jsonl_paths()))
        added = data.draw(st.lists(lines(), min_size=1, max_size=3))
        text = self.read(relative)
        if text and not text.endswith("\n"):
            text += "\n"
        self.write(relative, text + self.stamped("\n".join(added)))

    @precondition(lambda self: self.paths())
    @rule(data=st.data())
    def rewrite_in_place(self, data):
        relative = data.draw(st.sampled_from(self.paths()))
        self.write(relative, self.stamped(data.draw(file_content(suffix_of(relative)))))

    @precondition(lambda self: self.paths())
    @rule(data=st.data())
    def truncate(self, data):
        relative = data.draw(st.sampled_from(self.paths()))
        raw = (self.corpus / relative).read_bytes()
        with (self.corpus / relative).open("r+b") as f:
            f.truncate(data.draw(st.integers(0, len(raw))))

    @precondition(lambda self: self.paths())
    @rule(data=st.data())
    def rename_file(self, data):
        relative = data.draw(st.sampled_from(self.paths()))
        target = self.new_path(data, suffixes=(suffix_of(relative),))
        if target is None:
            return
        (self.corpus / target).parent.mkdir(parents=True, exist_ok=True)
        (self.corpus / relative).rename(self.corpus / target)

    @precondition(lambda self: any((self.corpus / f).is_dir() for f in TOP_FOLDERS))
    @rule(data=st.data())
    def move_folder(self, data):
        present = [f for f in TOP_FOLDERS if (self.corpus / f).is_dir()]
        source = data.draw(st.sampled_from(present))
        absent = [f for f in TOP_FOLDERS if f not in present]
        if absent:  # "aa" sorts before the files at the top, "zz" after them
            (self.corpus / source).rename(self.corpus / data.draw(st.sampled_from(absent)))

    @rule()
    def move_the_corpus(self):
        moved = self.root / ("corpus-b" if self.corpus.name == "corpus" else "corpus")
        self.corpus.rename(moved)
        self.corpus = moved

    @precondition(lambda self: len(self.jsonl_paths()) >= 2)
    @rule(data=st.data())
    def move_records(self, data):
        source, target = data.draw(
            st.lists(st.sampled_from(self.jsonl_paths()), min_size=2, max_size=2, unique=True)
        )
        source_lines = self.read(source).splitlines()
        picked = data.draw(st.sets(st.integers(0, len(source_lines) - 1))) if source_lines else ()
        moved = [source_lines[n] for n in sorted(picked)]
        kept = [line for n, line in enumerate(source_lines) if n not in picked]
        target_lines = self.read(target).splitlines()
        at = data.draw(st.integers(0, len(target_lines)))
        self.write(source, "".join(line + "\n" for line in kept))
        self.write(target, "".join(x + "\n" for x in target_lines[:at] + moved + target_lines[at:]))

    @precondition(lambda self: self.jsonl_paths())
    @rule(data=st.data())
    def add_a_duplicate_id(self, data):
        ids = sorted(self.winners())
        if not ids:
            return
        duplicate = data.draw(records(ids=st.sampled_from(ids)))
        target = data.draw(st.sampled_from(self.jsonl_paths() + self.free_paths((".jsonl",))))
        text = self.read(target) if (self.corpus / target).exists() else ""
        self.write(target, text + self.stamped(json.dumps(duplicate)))

    @precondition(lambda self: self.jsonl_paths())
    @rule(data=st.data(), kind=st.sampled_from(["break one", "no text", "garbage"]))
    def write_a_bad_record(self, data, kind):
        relative = data.draw(st.sampled_from(self.jsonl_paths()))
        file_lines = self.read(relative).splitlines()
        valid = [n for n, line in enumerate(file_lines) if valid_record(line)]
        if kind == "break one" and valid:  # an edit gone wrong: the record is cut short
            n = data.draw(st.sampled_from(valid))
            file_lines[n] = file_lines[n][: file_lines[n].index(",") + 3]
        elif kind == "no text" or kind == "break one":
            file_lines.append(json.dumps({"id": data.draw(st.sampled_from(IDS)), "body": ""}))
        else:
            file_lines.insert(data.draw(st.integers(0, len(file_lines))), "%%% not json")
        self.write(relative, "".join(line + "\n" for line in file_lines))

    @precondition(lambda self: len(self.jsonl_paths()) >= 2)
    @rule(data=st.data(), delete=st.booleans())
    def demote_an_owner(self, data, delete):
        """The file that owns a duplicated id goes, or moves behind another copy's file:
        the next run must write the other copy from a file it has not seen change."""
        self.reindex_and_compare()
        holders: dict[str, list[str]] = {}
        for relative in self.jsonl_paths():
            for record in filter(None, map(valid_record, self.read(relative).splitlines())):
                if relative not in holders.setdefault(record["id"], []):
                    holders[record["id"]].append(relative)
        shared = sorted(i for i, files in holders.items() if len(files) >= 2)
        if not shared:
            return
        owner = holders[data.draw(st.sampled_from(shared))][0]
        later = [p for p in self.free_paths((".jsonl",)) if p > max(self.jsonl_paths())]
        if delete or not later:
            (self.corpus / owner).unlink()
        else:
            target = self.corpus / data.draw(st.sampled_from(later))
            target.parent.mkdir(parents=True, exist_ok=True)
            (self.corpus / owner).rename(target)
        self.reindex_and_compare()

    @precondition(lambda self: self.paths())
    @rule(data=st.data())
    def delete_file(self, data):
        (self.corpus / data.draw(st.sampled_from(self.paths()))).unlink()

    # Reindex runs.

    def full_build(self):
        """A fresh index of the same files: what the incremental one must equal."""
        self.builds += 1
        directory = self.root / f"full-{self.builds}"
        report = reindex([self.corpus], directory, full=True)
        contents = index_contents(directory)
        shutil.rmtree(directory)
        return report, contents

    @rule()
    def reindex_and_compare(self):
        previous = self.served
        report = reindex([self.corpus], self.index)
        full_report, full = self.full_build()
        incremental = index_contents(self.index)
        assert_consistent(incremental)
        assert_consistent(full)

        # Kept copies: ids whose record cannot be read now, served as before.
        unreadable = {p.article_id for p in full_report.skipped if p.article_id}
        before = previous["articles"] if previous else {}
        kept = (unreadable & before.keys()) - full["articles"].keys()
        assert incremental["articles"].keys() == full["articles"].keys() | kept
        if not kept:  # near-duplicate groups are a function of the articles alone
            assert incremental["stories"] == full["stories"]
        for article_id, entry in incremental["articles"].items():
            expected = before[article_id] if article_id in kept else full["articles"][article_id]
            assert entry == expected, article_id
        assert sorted(report.kept) == sorted(kept)
        if not kept:
            assert incremental == full

        # The same problems, whatever the history; non-empty exactly when something is skipped.
        assert sorted(map(str, report.problems)) == sorted(map(str, full_report.problems))
        assert bool(report.skipped) == self.something_skipped()
        self.check_ownership(full)
        complete, incomplete = generation_dirs(self.index)
        assert not incomplete and store.current_generation(self.index).name in complete
        assert len(complete) <= 1 + store.KEEP_PREVIOUS
        assert not list(self.index.glob(".pointer-*"))
        self.served = incremental

    def winners(self) -> dict[str, dict]:
        """The ownership rule: the first readable copy, in path order, then line order."""
        found: dict[str, dict] = {}
        for relative in self.jsonl_paths():
            for line in self.read(relative).splitlines():
                record = valid_record(line)
                if record and record["id"] not in found:
                    found[record["id"]] = record
        return found

    def something_skipped(self) -> bool:
        """A record or file the index cannot hold: broken, without text, or a duplicate id."""
        seen, skipped = set(), False
        for relative in self.paths():
            text = self.read(relative)
            if relative.endswith(".txt"):
                skipped |= not _DATE_LINE.sub("", text, count=1).strip()
                continue
            for line in filter(str.strip, text.splitlines()):
                record = valid_record(line)
                skipped |= record is None or record["id"] in seen
                if record:
                    seen.add(record["id"])
        return skipped

    def check_ownership(self, full: dict) -> None:
        for article_id, record in self.winners().items():
            assert full["articles"][article_id]["record"]["extra"]["rev"] == record["rev"]

    @rule(point=st.sampled_from(POINTS), after=st.integers(0, 2))
    def reindex_interrupted(self, point, after):
        before = store.current_generation(self.index).name if store.has_index(self.index) else None
        try:
            with interrupt_at(point, after):
                reindex([self.corpus], self.index)
        except Interrupted:
            if point != "swapped":  # not yet served: the old generation serves, as it was
                now = store.current_generation(self.index).name if before else None
                assert now == before
                if self.served is not None:
                    assert index_contents(self.index) == self.served
            assert not generation_dirs(self.index)[1], "the run left a partial generation"
        if store.has_index(self.index):
            self.served = index_contents(self.index)

    @precondition(lambda self: self.served is not None and self.paths())
    @rule(data=st.data())
    def reindex_while_a_file_changes(self, data):
        self.reindex_and_compare()  # settled: only the one file differs in the next run
        relative = data.draw(st.sampled_from(self.paths()))
        final = self.stamped(data.draw(file_content(suffix_of(relative))))
        # Unlike any file so far (a copy of one is known by its hash, and not read): a
        # line of spaces, which neither reader sees.
        self.rev += 1
        final += " " * self.rev + "\n"
        self.write(relative, final)
        middle = final[: data.draw(st.integers(0, len(final) - 1))]
        with changing_while_read(self.corpus / relative, middle, final):
            report = reindex([self.corpus], self.index)
        changed = [p for p in report.skipped if "changed while" in p.reason]
        assert [p.origin for p in changed] == [str(self.corpus / relative)]
        assert index_contents(self.index) == self.served  # its indexed copies are kept


@contextmanager
def interrupt_at(point: str, after: int):
    """Raise Interrupted at a store checkpoint, or when the `after`-th file is read."""
    real_checkpoint, real_iter = store.checkpoint, indexer.iter_file
    opened = []

    def checkpoint(name):
        if name == point:
            raise Interrupted(name)
        real_checkpoint(name)

    def iter_file(corpus_file, digest=None):
        opened.append(corpus_file)
        if point == "read" and len(opened) > after:
            raise Interrupted(f"reading {corpus_file.key}")
        return real_iter(corpus_file, digest)

    with mock.patch.object(store, "checkpoint", checkpoint):
        with mock.patch.object(indexer, "iter_file", iter_file):
            yield


@contextmanager
def changing_while_read(path: Path, middle: str, final: str):
    """The reader of `path` sees `middle`; before and after, the file holds `final`."""
    real_iter = indexer.iter_file

    def iter_file(corpus_file, digest=None):
        if corpus_file.path != path:
            yield from real_iter(corpus_file, digest)
            return
        path.write_text(middle, "utf-8")
        yield from real_iter(corpus_file, digest)
        path.write_text(final, "utf-8")

    with mock.patch.object(indexer, "iter_file", iter_file):
        yield


# 750-1,100 steps a run, a quarter of them reindex runs, each checked against a
# full build: 13 s to 47 s on the 2-core test machine, load average 2.5 to 5.
ReindexModel.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_incremental_reindex_equals_a_full_rebuild = pytest.mark.slow(ReindexModel.TestCase)
