"""Model-based, wider: links, overlapping --corpus paths, unreadable files and folders too.

The state machine of test_reindex_model.py, with the operations an operator or
an adversary adds: file and folder links (to visible or hidden targets,
dangling, looping), hard links and copies, a file replaced by a folder of the
same name and back, text in UTF-16, Windows-1252 or with a byte order mark,
CRLF lines, ids that differ by case, Unicode normalisation or a trailing
space, ids that are also a text file's, a changing set of --corpus paths
(nested, given twice, a file), and files or folders that cannot be read or
listed. After each reindex it must equal a full build of the same files made
on a copy of the index served before it (which is what `reindex --full` would
have kept from it), but for the documented kept copies of unreadable records;
whatever was skipped must be reported.
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule
from reindex_support import assert_consistent, generation_dirs, index_contents
from test_reindex_model import (
    FOLDERS,
    STEMS,
    TOP_FOLDERS,
    Interrupted,
    ReindexModel,
    changing_while_read,
    interrupt_at,
    paragraphs,
    records,
    words,
)

from searchsvc.index import store
from searchsvc.index.indexer import reindex
from searchsvc.ingest.corpus import _DATE_LINE

NFC, NFD = unicodedata.normalize("NFC", "\u00e91"), unicodedata.normalize("NFD", "\u00e91")
# Ids that are one id to a careless reader: case, normalisation, a trailing space (which
# the reader strips), a text file's id ("a", "desk/m"), a NUL.
WIDE_IDS = ("n0", "n1", "N1", "n1 ", NFC, NFD, "a", "desk/m", "x/../y", "n\x002")
HIDDEN = ".store"
ROOTS = ("one", "desk first", "desk last", "twice", "and a file")
TEXT_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")


@st.composite
def wide_lines(draw) -> str:
    kind = draw(st.sampled_from(["record"] * 5 + ["broken", "blank"]))
    if kind == "blank":
        return ""
    text = json.dumps(draw(records(ids=st.sampled_from(WIDE_IDS))))
    return (
        text if kind == "record" else text[: draw(st.integers(text.index(",") + 1, len(text) - 1))]
    )


@st.composite
def text_body(draw) -> str:
    body = "\n\n".join(draw(paragraphs)) + "\n"
    kind = draw(st.sampled_from(["headline", "plain", "accents", "empty"]))
    if kind == "headline":
        return draw(words).capitalize() + "\n\n" + body
    if kind == "accents":
        return "São Paulo café\n\n" + body
    return body if kind == "plain" else ""


def decoded(data: bytes) -> str:
    """The model's own reading of a file's bytes (UTF-8, else UTF-16 by its mark, else 1252)."""
    for encoding in ("utf-8-sig", "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ""):
        try:
            return data.decode(encoding) if encoding else ""
        except UnicodeDecodeError:
            continue
    return data.decode("cp1252", errors="replace")


class WideReindexModel(ReindexModel):
    def __init__(self):
        super().__init__()
        self.roots_mode = "one"
        self.sealed: dict[str, str] = {}  # relative path -> "unreadable" | "unlisted" | "sealed"
        (self.root / "extra.jsonl").write_text(
            json.dumps({"id": "n0", "body": "Extra copy.", "rev": 0}) + "\n", "utf-8"
        )

    # The corpus as the model knows it.

    def paths(self, suffixes=(".jsonl", ".txt")) -> list[str]:
        """Regular files (not links) the walk lists by their own names, in key order."""
        found = []
        for directory, subdirs, files in os.walk(self.corpus):
            subdirs[:] = [d for d in subdirs if not d.startswith(".")]
            for name in files:
                path = Path(directory, name)
                if name.startswith(".") or path.is_symlink() or not path.is_file():
                    continue
                if name.endswith(suffixes):
                    found.append(path.relative_to(self.corpus).as_posix())
        return sorted(found)

    def links(self) -> list[str]:
        """Every link in the corpus (they move with their folders), by relative path."""
        found = []
        for directory, subdirs, files in os.walk(self.corpus):
            for name in subdirs + files:
                if os.path.islink(os.path.join(directory, name)):
                    found.append(Path(directory, name).relative_to(self.corpus).as_posix())
        return sorted(found)

    def free_paths(self, suffixes) -> list[str]:
        """Names nothing has, not even a link."""
        every = (f + s + x for x in suffixes for f in FOLDERS for s in STEMS)
        return [p for p in every if not os.path.lexists(self.corpus / p)]

    def hidden_paths(self) -> list[str]:
        hidden = self.corpus / HIDDEN
        return sorted(f"{HIDDEN}/{p.name}" for p in hidden.glob("*") if p.is_file())

    def read(self, relative: str) -> str:
        return decoded((self.corpus / relative).read_bytes())

    def roots(self) -> list[Path]:
        desk = self.corpus / "desk"
        if self.roots_mode in ("desk first", "desk last") and not desk.is_dir():
            desk.mkdir()  # a --corpus path must exist
        return {
            "one": [self.corpus],
            "desk first": [desk, self.corpus],
            "desk last": [self.corpus, desk],
            "twice": [self.corpus, self.corpus],
            "and a file": [self.corpus, self.root / "extra.jsonl"],
        }[self.roots_mode]

    def free_name(self, data, suffixes=(".jsonl", ".txt")) -> str | None:
        """A name for a link: "la.jsonl", "desk/lm.txt"..."""
        every = [f + "l" + s + x for x in suffixes for f in FOLDERS for s in STEMS]
        free = [p for p in every if not os.path.lexists(self.corpus / p)]
        return data.draw(st.sampled_from(free)) if free else None

    # More file operations.

    @rule(data=st.data(), hidden=st.booleans(), encoding=st.sampled_from(TEXT_ENCODINGS))
    def create_wide_file(self, data, hidden, encoding):
        """JSON Lines with the confusable ids, CRLF or a BOM; or text in another encoding."""
        relative = f"{HIDDEN}/h{len(self.hidden_paths())}.jsonl" if hidden else self.new_path(data)
        if relative is None:
            return
        path = self.corpus / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative.endswith(".txt"):
            path.write_bytes(data.draw(text_body()).encode(encoding, errors="replace"))
            return
        lines = data.draw(st.lists(wide_lines(), min_size=1, max_size=4))
        newline = data.draw(st.sampled_from(["\n", "\r\n"]))
        text = self.stamped("\n".join(lines)).replace("\n", newline)
        path.write_bytes(("\ufeff" if encoding == "utf-8-sig" else "").encode() + text.encode())

    @precondition(lambda self: self.paths() or self.hidden_paths())
    @rule(data=st.data(), kind=st.sampled_from([".jsonl", ".txt", "folder"]))
    def make_a_link(self, data, kind):
        """A link in the corpus: to a file or a folder, visible or hidden, by any name."""
        if kind == "folder":
            folders = [
                f for f in ("aa", "desk", "desk/late", "zz", HIDDEN) if (self.corpus / f).is_dir()
            ]
            if not folders:
                return
            target, name = (
                data.draw(st.sampled_from(folders)),
                "l-" + data.draw(st.sampled_from("ab")),
            )
        else:
            target, name = data.draw(st.sampled_from(self.paths() + self.hidden_paths())), None
            name = self.free_name(data, (kind,))
        if name is None or os.path.lexists(self.corpus / name):
            return
        link = self.corpus / name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(self.corpus / target, link.parent), link)

    @rule(data=st.data(), loop=st.booleans())
    def make_a_broken_link(self, data, loop):
        name = self.free_name(data)
        if name is None:
            return
        link = self.corpus / name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link.name if loop else "nowhere.jsonl", link)

    @precondition(lambda self: self.links())
    @rule(data=st.data())
    def remove_a_link(self, data):
        (self.corpus / data.draw(st.sampled_from(self.links()))).unlink()

    @precondition(lambda self: self.paths())
    @rule(data=st.data(), hard=st.booleans())
    def copy_a_file(self, data, hard):
        """`cp` or `ln`: the same content under a second name."""
        source = data.draw(st.sampled_from(self.paths()))
        target = self.new_path(data, suffixes=(source[source.rindex(".") :],))
        if target is None or os.path.lexists(self.corpus / target):
            return
        (self.corpus / target).parent.mkdir(parents=True, exist_ok=True)
        (os.link if hard else shutil.copyfile)(self.corpus / source, self.corpus / target)

    @precondition(lambda self: self.jsonl_paths())
    @rule(data=st.data())
    def replace_a_file_by_a_folder(self, data):
        relative = data.draw(st.sampled_from(self.jsonl_paths()))
        path = self.corpus / relative
        content = path.read_bytes()
        path.unlink()
        (path / "inside.jsonl").parent.mkdir()
        (path / "inside.jsonl").write_bytes(content)

    @rule(data=st.data())
    def replace_a_folder_by_a_file(self, data):
        folders = sorted(
            p for p in self.corpus.rglob("*.jsonl") if p.is_dir() and not p.is_symlink()
        )
        if not folders:
            return
        path = data.draw(st.sampled_from(folders))
        content = b"".join(p.read_bytes() for p in sorted(path.rglob("*.jsonl")) if p.is_file())
        shutil.rmtree(path)
        path.write_bytes(content)

    @rule(mode=st.sampled_from(ROOTS))
    def change_the_corpus_paths(self, mode):
        self.roots_mode = mode

    @rule(data=st.data(), how=st.sampled_from(["unreadable", "unlisted", "sealed"]))
    def take_away_a_permission(self, data, how):
        if how == "unreadable":
            choices = self.paths()
        else:
            choices = [f for f in (*TOP_FOLDERS, "desk/late") if (self.corpus / f).is_dir()]
        if choices:
            self.sealed[data.draw(st.sampled_from(choices))] = how

    @precondition(lambda self: self.sealed)
    @rule(data=st.data())
    def give_back_a_permission(self, data):
        del self.sealed[data.draw(st.sampled_from(sorted(self.sealed)))]

    # Reindex runs, with the permissions taken away.

    @contextmanager
    def permissions(self):
        """os.scandir, Path.stat and Path.open fail as they would for a service user."""
        denied = {}
        for relative, how in self.sealed.items():
            if os.path.lexists(self.corpus / relative):
                denied[os.path.realpath(self.corpus / relative)] = how
        real_scandir, real_stat, real_open = os.scandir, Path.stat, Path.open

        def check(path, action: str) -> None:
            if isinstance(path, int):  # a directory's descriptor (shutil.rmtree)
                return
            real = os.path.realpath(path)
            for where, how in denied.items():
                inside = real.startswith(where + os.sep)
                listing = real == where and action == "list" and how != "unreadable"
                if listing or (inside and how == "sealed") or (real == where and action == "open"):
                    raise PermissionError(13, "Permission denied", str(path))

        def scandir(path="."):
            check(path, "list")
            return real_scandir(path)

        def stat(self, *args, **kwargs):
            check(self, "stat")
            return real_stat(self, *args, **kwargs)

        def open_(self, *args, **kwargs):
            check(self, "open" if os.path.realpath(self) in denied else "stat")
            return real_open(self, *args, **kwargs)

        os.scandir, Path.stat, Path.open = scandir, stat, open_
        try:
            yield
        finally:
            os.scandir, Path.stat, Path.open = real_scandir, real_stat, real_open

    def plain(self) -> bool:
        """Nothing but regular files, read once each: the model knows exactly what is skipped."""
        return self.roots_mode == "one" and not self.links() and not self.sealed

    def full_build_on_copy(self, before: Path | None):
        """`reindex --full` of the same files, on the index served before the incremental run."""
        self.builds += 1
        directory = self.root / f"full-{self.builds}"
        if before is not None:
            before.rename(directory)
        with self.permissions():
            report = reindex(self.roots(), directory, full=True)
        contents = index_contents(directory)
        shutil.rmtree(directory)
        return report, contents

    @rule()
    def reindex_and_compare(self):
        previous = self.served
        before = None
        if store.has_index(self.index):
            before = self.root / "before"
            shutil.copytree(self.index, before)
        with self.permissions():
            report = reindex(self.roots(), self.index)
        full_report, full = self.full_build_on_copy(before)
        incremental = index_contents(self.index)
        assert_consistent(incremental)
        assert_consistent(full)

        unreadable = {p.article_id for p in full_report.skipped if p.article_id}
        served_before = previous["articles"] if previous else {}
        kept = (unreadable & served_before.keys()) - full["articles"].keys()
        assert incremental["articles"].keys() == full["articles"].keys() | kept
        if not kept:  # near-duplicate groups are a function of the articles alone
            assert incremental["stories"] == full["stories"]
        for article_id, entry in incremental["articles"].items():
            expected = (
                served_before[article_id] if article_id in kept else full["articles"][article_id]
            )
            assert entry == expected, article_id
        assert sorted(map(str, report.problems)) == sorted(map(str, full_report.problems))

        if self.plain():
            assert bool(report.skipped) == self.something_skipped()
            self.check_ownership(full)
        elif self.must_report():
            assert report.skipped, "something was skipped, and the run did not say so"
        complete, incomplete = generation_dirs(self.index)
        assert not incomplete and store.current_generation(self.index).name in complete
        assert not list(self.index.glob(".pointer-*"))
        self.served = incremental

    def something_skipped(self) -> bool:
        """Plain corpus: a record or file that cannot be read, or an id held twice."""
        seen, skipped = set(), False
        for relative in self.paths():
            text = self.read(relative)
            if relative.endswith(".txt"):
                if _DATE_LINE.sub("", text, count=1).strip():
                    skipped |= relative[:-4] in seen
                    seen.add(relative[:-4])
                else:
                    skipped = True
                continue
            for line in filter(str.strip, text.splitlines()):
                record = self.valid(line)
                skipped |= record is None or record["id"] in seen
                if record:
                    seen.add(record["id"])
        return skipped

    @staticmethod
    def valid(line: str) -> dict | None:
        try:
            record = json.loads(line.lstrip("\ufeff"))
        except ValueError:
            return None
        if not isinstance(record, dict) or not record.get("body") and not record.get("title"):
            return None
        return {**record, "id": record["id"].strip()}

    def winners(self) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for relative in self.paths():
            if relative.endswith(".txt"):
                if _DATE_LINE.sub("", self.read(relative), count=1).strip():
                    found.setdefault(relative[:-4], {"text file": relative})
                continue
            for line in self.read(relative).splitlines():
                if (record := self.valid(line)) is not None:
                    found.setdefault(record["id"], record)
        return found

    def check_ownership(self, full: dict) -> None:
        for article_id, record in self.winners().items():
            extra = full["articles"][article_id]["record"]["extra"]
            assert extra.get("rev") == record.get("rev"), article_id

    def must_report(self) -> bool:
        """Something the run must name: a link to what is read anyway, a file reached
        twice, a dangling or looping link, what cannot be read or listed."""
        for relative, how in self.sealed.items():
            path = self.corpus / relative
            # An unreadable folder can still be listed, and nothing opens it.
            if os.path.lexists(path) and not (how == "unreadable" and path.is_dir()):
                return True
        real_corpus = self.corpus.resolve()
        for name in self.links():
            target = Path(os.path.realpath(self.corpus / name))
            if not target.exists():  # dangling, or a loop
                if name.endswith((".jsonl", ".txt")):
                    return True
                continue
            inside = target.relative_to(real_corpus).as_posix()
            if not inside.startswith(".") and (
                target.is_dir() or inside.endswith((".jsonl", ".txt"))
            ):
                return True  # read under its own name as well
        if self.roots_mode in ("desk first", "desk last"):
            return any(p.startswith("desk/") for p in self.paths())
        return self.roots_mode == "twice" and bool(self.paths())

    @rule(
        point=st.sampled_from(("locked", "read", "generation", "json", "pointer")),
        after=st.integers(0, 2),
    )
    def reindex_interrupted(self, point, after):
        before = store.current_generation(self.index).name if store.has_index(self.index) else None
        try:
            with self.permissions(), interrupt_at(point, after):
                reindex(self.roots(), self.index)
        except Interrupted:  # not yet served: the old generation serves, as it was
            now = store.current_generation(self.index).name if before else None
            assert now == before
            if self.served is not None:
                assert index_contents(self.index) == self.served
            assert not generation_dirs(self.index)[1], "the run left a partial generation"
            assert not list(self.index.glob(".pointer-*"))
        if store.has_index(self.index):
            self.served = index_contents(self.index)

    @precondition(lambda self: self.served is not None and self.paths())
    @rule(data=st.data())
    def reindex_while_a_file_changes(self, data):
        self.reindex_and_compare()
        relative = data.draw(st.sampled_from(self.paths()))
        if any(relative == s or relative.startswith(s + "/") for s in self.sealed):
            return  # it cannot be read at all
        text = self.read(relative)
        self.rev += 1
        final = text + " " * self.rev + "\n"  # unlike any file so far: read, not known
        self.write(relative, final)
        middle = final[: data.draw(st.integers(0, len(final) - 1))]
        with self.permissions(), changing_while_read(self.corpus / relative, middle, final):
            report = reindex(self.roots(), self.index)
        assert any("changed while" in p.reason for p in report.skipped)
        assert index_contents(self.index) == self.served  # its indexed copies are kept


# 60 examples: about 2,300 steps, 250 of them reindex runs each checked against a
# full build, in 21 s on the 2-core test machine (with the narrow model, 30 s).
# SEARCHSVC_MODEL_EXAMPLES=1000 for a longer hunt.
WideReindexModel.TestCase.settings = settings(
    max_examples=int(os.environ.get("SEARCHSVC_MODEL_EXAMPLES", 60)),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_wide_operations_keep_incremental_equal_to_full = pytest.mark.slow(WideReindexModel.TestCase)
